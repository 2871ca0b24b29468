"""Normalisation, dates, authors and the form engine."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forms.authors import parse_authors
from forms.dates import parse_date
from forms.engine import PREVIEW, Form
from forms.errors import FormError
from forms.render import preview_chunks, prompt_text
from forms.template import build_fields
from forms.text import clean_answer, fold, has_words, normalize

TODAY = date(2026, 11, 22)
FORM = Form(build_fields())


def identity(text: str) -> str:
    return text


def test_normalize_composes_trims_and_collapses() -> None:
    assert normalize(unicodedata.normalize("NFD", "  Tiết   kiệm\tđiện \n nước ")) == "Tiết kiệm điện nước"
    assert normalize("dòng 1  \n\n\n\n  dòng 2\u200b", multiline=True) == "dòng 1\n\ndòng 2"


@given(st.text())
def test_normalize_is_idempotent_and_nfc(text: str) -> None:
    once = normalize(text, multiline=True)
    assert normalize(once, multiline=True) == once
    assert unicodedata.is_normalized("NFC", once)


def test_fold_ignores_case_diacritics_and_d() -> None:
    assert fold("Công ty CP Cấp nước LẠNG SƠN") == "cong ty cp cap nuoc lang son"
    assert fold("Đồng Đăng") == fold("dong dang")


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "!!! ...", "\u200b"])
def test_empty_or_symbol_only_answers_are_refused(text: str) -> None:
    assert not has_words(normalize(text))
    with pytest.raises(FormError):
        clean_answer(text, multiline=False, max_len=100)


def test_too_long_and_too_short() -> None:
    with pytest.raises(FormError) as err:
        clean_answer("x" * 11, multiline=False, max_len=10)
    assert err.value.params == {"length": 11, "max": 10}
    with pytest.raises(FormError):
        clean_answer("ab", multiline=False, max_len=10, min_len=5)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("15/03/2022", date(2022, 3, 15)),
        ("5/3/2022", date(2022, 3, 5)),
        ("15-03-2022", date(2022, 3, 15)),
        ("15.03.22", date(2022, 3, 15)),
        ("2022-03-15", date(2022, 3, 15)),
        ("3/2022", date(2022, 3, 1)),
        ("tháng 3/2022", date(2022, 3, 1)),
        ("tháng 3 năm 2022", date(2022, 3, 1)),
        ("ngày 15 tháng 3 năm 2022", date(2022, 3, 15)),
        ("hôm nay", TODAY),
        ("Hôm qua", date(2026, 11, 21)),
    ],
)
def test_dates(typed: str, expected: date) -> None:
    assert parse_date(typed, TODAY) == expected


@pytest.mark.parametrize("typed", ["31/02/2022", "15/03/2030", "1/1/1900", "ngày mai", "2022"])
def test_bad_dates(typed: str) -> None:
    with pytest.raises(FormError):
        parse_date(typed, TODAY)


def test_authors() -> None:
    authors = parse_authors("Nguyễn Văn An – 60%\nTrần Thị Bình: 30 %; Lê Văn C, 10")
    assert [(a.name, a.share) for a in authors] == [("Nguyễn Văn An", 60), ("Trần Thị Bình", 30), ("Lê Văn C", 10)]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Nguyễn Văn An 60%\nTrần Thị Bình 30%", "add up to {total}%"),
        ("Nguyễn Văn An", "needs a name and a share"),
        ("An 50\nan 50", "listed twice"),
        ("An 0\nBình 100", "between 1 and 100"),
    ],
)
def test_bad_author_tables(typed: str, message: str) -> None:
    with pytest.raises(FormError) as err:
        parse_authors(typed)
    assert message in err.value.msgid


def test_engine_walks_forward_back_and_to_preview() -> None:
    state = FORM.start()
    assert state.step == "title"
    state = FORM.set_answer(state, "Tên")
    assert state.step == "solution_type"
    assert FORM.back(state).step == "title"
    with pytest.raises(FormError):
        FORM.keep(state)  # required and empty
    for key in ("solution_type", "field", "before", "solution", "applied_where", "applied_since"):
        state = FORM.set_answer(state, "x" if key != "applied_since" else "2022-01-01")
    state = FORM.set_answer(state, {"amount": 1, "period": "year", "approx": False})
    assert state.step == PREVIEW and FORM.missing(state.answers) == []  # the optional parts wait at the preview


def test_editing_returns_to_the_preview_or_to_what_became_required() -> None:
    state = FORM.start()
    for f in FORM.fields[:8]:
        value = {"amount": 5, "period": "year", "approx": False} if f.key == "benefit_money" else "v"
        state = FORM.set_answer(state, value)
    assert state.step == PREVIEW  # the optional parts wait at the preview
    state = FORM.edit(state, "title")
    assert FORM.set_answer(state, "New").step == PREVIEW
    state = FORM.edit(state, "benefit_money")
    state = FORM.set_answer(state, {"amount": 0, "period": "year", "approx": False})
    assert state.step == "benefit_social" and state.editing  # no money: a social benefit is now required


def test_preview_is_split_to_fit_telegram_and_escapes_user_text() -> None:
    answers = {f.key: "<b>&" + "x" * 19_000 for f in FORM.fields if f.kind.value in ("text", "longtext")}
    chunks = preview_chunks(FORM, answers, identity, "vi")
    assert all(len(chunk) <= 4000 for chunk in chunks)
    assert "&lt;b&gt;&amp;" in chunks[0] and "<b>&" not in chunks[0].replace("<b>Preview", "")
    assert "characters in all" in chunks[0]


def test_prompt_shows_step_help_example_and_current_answer() -> None:
    state = FORM.set_answer(FORM.start(), "Tên <cũ>")
    state = FORM.back(state)
    text = prompt_text(FORM, state, identity, "vi")
    assert text.startswith("Step 1/13 · <b>Initiative name</b>")
    assert "Example:" in text and "Tên &lt;cũ&gt;" in text
