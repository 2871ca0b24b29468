"""Eligibility warnings at the preview (Decree 13/2012): each rule alone, the preview within Telegram's limit, the
facts read from the database, and the worker's path through the real dispatcher on Telegram and Zalo: every
warning says how to fix it, offers the button to its step, and never blocks the submission."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import create_i18n
from forms.eligibility import (
    BEFORE_PHASE,
    MIN_SOLUTION_WORDS,
    NO_BENEFIT,
    NO_DATE,
    OUTSIDE_PROGRAMME,
    REPEATED_TITLE,
    SHARES,
    SHORT_SOLUTION,
    Concern,
    Facts,
    Span,
    concerns,
    title_key,
    word_count,
)
from forms.engine import PREVIEW, Form, FormState
from forms.formats import format_date
from forms.money import Money
from forms.render import preview_chunks
from forms.template import build_fields
from handlers.ui import keyboards
from storage.eligibility import facts_for
from storage.initiatives import create_draft, delete_draft, get_draft, submit
from storage.members import get_member
from storage.unit_files import PhaseRow
from storage.units import import_phases
from tests.conftest import App
from tests.fake_zalo import FakeZalo
from tests.flows import BEFORE, PLACE, SOCIAL, SOLUTION, TITLE, fill_to_preview, vi
from tests.test_zalo import zalo_fill_to_preview, zalo_register
from tests.tgclient import TgUser
from tests.zalo_app import TwoChannels
from tests.zaloclient import ZaloUser, choices, numbered

FORM = Form(build_fields())
TODAY = date(2022, 10, 1)
PHASES = (
    Span("Giai đoạn 1", date(2022, 1, 8), date(2022, 5, 31)),
    Span("Giai đoạn 2", date(2022, 6, 1), date(2023, 9, 1)),
)
LONG_SOLUTION = (
    "Lắp cảm biến áp lực ở cuối mạng và biến tần cho bơm chính. Bộ điều khiển so áp lực đo được với áp lực đặt "
    "rồi đổi tốc độ bơm: ban ngày bơm chạy nhanh, ban đêm chạy chậm. Công nhân vận hành chỉ cần kiểm tra số liệu "
    "mỗi ca và vệ sinh cảm biến hằng tháng theo hướng dẫn kèm theo."
)
COMPLETE = {"title": TITLE, "solution": LONG_SOLUTION, "applied_since": "2022-07-15",
            "benefit_money": Money(14_000_000).to_json()}  # fmt: skip


def found(answers: dict[str, Any], **facts: Any) -> list[tuple[str, str]]:
    return [(c.step, c.msgid) for c in concerns(answers, Facts(**{"today": TODAY, "phases": PHASES, **facts}))]


def one(answers: dict[str, Any], **facts: Any) -> Concern:
    (concern,) = concerns({**COMPLETE, **answers}, Facts(**{"today": TODAY, "phases": PHASES, **facts}))
    return concern


# -- the rules, one by one --------------------------------------------------------------------------------


def test_a_complete_initiative_applied_in_this_phase_raises_nothing() -> None:
    assert found(COMPLETE) == []
    assert found({**COMPLETE, "applied_since": "2022-06"}) == []  # a month that starts the phase


def test_no_date_of_first_application() -> None:
    answers = {k: v for k, v in COMPLETE.items() if k != "applied_since"}
    assert found(answers) == [("applied_since", found(answers)[0][1])]
    assert "no date of first application" in found(answers)[0][1]


def test_a_first_application_outside_the_programme_or_before_the_phase_it_counts_in() -> None:
    outside = one({"applied_since": "2021-12-20"})
    assert outside.step == "applied_since" and "outside the programme" in outside.msgid
    assert outside.dates == {"date": "2021-12-20", "start": "2022-01-08", "end": "2023-09-01"}
    assert "outside the programme" in one({"applied_since": "2023-09-15"}, today=date(2023, 9, 20)).msgid
    assert found({**COMPLETE, "applied_since": "2022-01"}) != []  # January 2022 starts in the programme, not the phase
    before = one({"applied_since": "2022-03-15"})
    assert "before {phase}" in before.msgid and before.params == {"phase": "Giai đoạn 2"}
    assert before.dates == {"date": "2022-03-15", "start": "2022-06-01", "end": "2023-09-01"}
    assert found({**COMPLETE, "applied_since": "2022-03-15"}, today=date(2022, 4, 1)) == []  # counted in phase 1
    assert found({**COMPLETE, "applied_since": "2019-03-15"}, phases=()) == []  # no phases loaded: nothing to say


def test_no_benefit_of_any_kind() -> None:
    none = Money(0).to_json()
    assert one({"benefit_money": none}).step == "benefit_social"
    assert found({**COMPLETE, "benefit_money": none, "benefit_social": SOCIAL}) == []
    assert found({k: v for k, v in COMPLETE.items() if k != "benefit_money"}) == []  # not answered yet: "missing"


def test_author_shares_not_adding_up_to_100() -> None:
    concern = one({"authors": [{"name": "An", "share": 60}, {"name": "Bình", "share": 30}]})
    assert concern.step == "authors" and concern.params == {"total": 90}
    assert found({**COMPLETE, "authors": [{"name": "An", "share": 60}, {"name": "Bình", "share": 40}]}) == []


def test_a_solution_too_short_to_describe_the_essence() -> None:
    words = " ".join(["từ"] * (MIN_SOLUTION_WORDS - 1))
    concern = one({"solution": words + " 🙂 …"})  # emoji and symbols are not words
    assert concern.step == "solution" and concern.params == {"words": 39, "min": 40}
    assert found({**COMPLETE, "solution": words + " nữa"}) == []
    assert word_count("Lắp cảm biến áp lực, 2 bộ.") == 7  # a Vietnamese syllable is a word


def test_a_title_that_repeats_one_of_the_authors_initiatives_folded() -> None:
    mine = (("SK-000007", "Tự động duy trì áp lực mạng cấp nước"),)
    for typed in ("TỰ ĐỘNG duy trì áp lực mạng cấp nước!", "tu dong duy tri ap luc mang cap nuoc",
                  unicodedata.normalize("NFD", "Tự động  duy trì áp-lực mạng cấp nước."), "Tu Đong duy tri ap luc "
                  "mang cap nuoc"):  # fmt: skip
        concern = one({"title": typed}, own_titles=mine)
        assert concern.step == "title" and concern.params == {"number": "SK-000007", "title": mine[0][1]}
    assert found({**COMPLETE, "title": "Tự động duy trì áp lực mạng cấp nước số 2"}, own_titles=mine) == []
    assert title_key("Đ/d: Áp-lực") == title_key("d d ap luc")


def test_concerns_come_in_the_order_of_the_form_and_the_preview_stays_within_telegrams_limit() -> None:
    answers = {f.key: "<b>&" + "x " * 9_000 for f in FORM.fields if f.kind.value in ("text", "longtext")}
    authors = [{"name": f"Nguyễn Thị Phương Thảo Hoàng Lê {'Văn ' * 16}{n}", "share": 4} for n in range(20)]
    answers |= {"title": "<b>Tên</b>", "solution": "ngắn", "benefit_money": Money(0).to_json(), "authors": authors}
    answers.pop("benefit_social")
    facts = Facts(TODAY, own_titles=(("SK-000001", "<b>tên</b>"),))
    steps = [c.step for c in concerns(answers, facts)]
    assert steps == ["title", "solution", "applied_since", "benefit_social", "authors"]
    chunks = preview_chunks(FORM, answers, lambda s, *a: s, "vi", concerns(answers, facts))
    assert len(chunks) > 1 and all(len(chunk) <= 4000 for chunk in chunks)
    assert "Before you submit, check:" in chunks[-1] and "“&lt;b&gt;tên&lt;/b&gt;”" in chunks[-1]
    dated = concerns({**COMPLETE, "applied_since": "2022-03"}, Facts(TODAY, PHASES))
    text = preview_chunks(FORM, {**COMPLETE, "applied_since": "2022-03"}, vi_gettext, "vi", dated)[-1]
    assert "(tháng 3/2022) trước Giai đoạn 2 (01/06/2022–01/09/2023)" in text


def test_a_warned_step_has_one_button_whichever_view_of_the_preview_is_open() -> None:
    i18n = create_i18n(Path(__file__).resolve().parent.parent / "locales", "vi")
    answers = {**COMPLETE, "solution_type": "technical", "field": "production", "before": BEFORE,
               "applied_where": PLACE, "benefit_money": Money(0).to_json(), "benefit_social": SOCIAL}  # fmt: skip
    with i18n.context(), i18n.use_locale("vi"):
        for view in keyboards.View:
            texts = [b.text for row in keyboards.preview(FORM, answers, 7, view, 0, ["conditions", "solution"])
                     .inline_keyboard for b in row]  # fmt: skip
            assert texts.count(WARN + vi("Conditions")) == 1 and texts.count(WARN + vi("Solution")) == 1, view
            assert texts[0] == SUBMIT, view  # a warning never takes Submit's place


def vi_gettext(message: str, *args: Any) -> str:
    return vi(message)


async def test_the_facts_are_the_phases_and_the_authors_other_submitted_titles(app: App, worker: TgUser) -> None:
    await import_phases(app.db, [PhaseRow(2, "GD1", "Giai đoạn 1", date(2022, 1, 8), date(2022, 5, 31))])
    member = await get_member(app.db, worker.id)
    assert member is not None
    answers = {**COMPLETE, "solution_type": "technical", "field": "production", "before": BEFORE,
               "applied_where": PLACE}  # fmt: skip
    sent = await submit(app.db, await create_draft(app.db, member, FormState(answers, PREVIEW)), member, FORM)
    assert sent is not None
    gone = await create_draft(app.db, member, FormState({**answers, "title": "Đã xóa"}, PREVIEW))
    await delete_draft(app.db, member, gone.id)
    draft = await create_draft(app.db, member, FormState({"title": "Bản nháp"}, "before"))
    facts = await facts_for(app.db, draft_id=draft.id, author_id=member.id or 0, today=TODAY)
    assert facts.phases == (PHASES[0],) and facts.own_titles == ((sent.number, TITLE),)
    resubmitted = await get_draft(app.db, sent.initiative_id)
    assert resubmitted is not None
    again = await facts_for(app.db, draft_id=resubmitted.id, author_id=member.id or 0, today=TODAY)
    assert again.own_titles == ()  # its own title is not a repeat


# -- through the real dispatcher --------------------------------------------------------------------------

WARN = "⚠️ "
SUBMIT = vi("📨 Submit for review")


async def phases_around_today(app: App) -> tuple[date, date, date]:
    """Phase 1 ended 200 days ago, phase 2 runs today; returns the programme's first day and phase 2's days."""
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    start, phase2, end = today - timedelta(days=400), today - timedelta(days=199), today + timedelta(days=100)
    await import_phases(app.db, [PhaseRow(2, "GD1", "Giai đoạn 1", start, today - timedelta(days=200)),
                                 PhaseRow(3, "GD2", "Giai đoạn 2", phase2, end)])  # fmt: skip
    return start, phase2, end


async def walk(worker: TgUser, title: str, applied: str, money: str = "14 triệu/năm") -> None:
    await worker.send("/new")
    await worker.send(title)
    await worker.click(vi("Technical solution"), expect=0)
    await worker.click(vi("Production and operation"))
    await worker.send(BEFORE)
    await worker.send(SOLUTION)  # 20 words: too short
    await worker.send(PLACE)
    await worker.send(applied)
    await worker.send(money)


def day(value: date) -> str:
    return format_date(value, "vi")


async def test_the_preview_warns_with_a_fix_for_each_and_the_worker_may_still_submit(app: App, worker: TgUser) -> None:
    start, phase2, end = await phases_around_today(app)
    early = phase2 - timedelta(days=30)
    await walk(worker, "Bảng theo dõi áp lực theo ca", day(early))
    preview = worker.last
    short = vi(SHORT_SOLUTION, words=20, min=40)
    assert vi("Before you submit, check:") in preview.text and short in preview.text
    assert vi("You can still submit it as it is, or first correct it with the ⚠️ buttons below.") in preview.text
    assert vi(BEFORE_PHASE, date=day(early), phase="Giai đoạn 2", start=day(phase2), end=day(end)) in preview.text
    buttons = preview.button_texts()
    assert buttons[0] == SUBMIT and buttons[-2:] == [WARN + vi("Solution"), WARN + vi("Date")]
    replies = await worker.click(WARN + vi("Solution"))
    assert vi("Step {k}/{n}", k=5, n=13) in replies[-1].text
    replies = await worker.send(LONG_SOLUTION)
    assert short not in replies[-1].text and WARN + vi("Solution") not in replies[-1].button_texts()
    await worker.click(WARN + vi("Date"))
    replies = await worker.send(day(start - timedelta(days=1)))
    outside = vi(OUTSIDE_PROGRAMME, date=day(start - timedelta(days=1)), start=day(start), end=day(end))
    assert outside in replies[-1].text and SUBMIT in replies[-1].button_texts()
    replies = await worker.click(SUBMIT)  # warned, not blocked
    assert "SK-" in replies[-1].text


async def test_a_title_the_author_already_used_is_flagged_and_renaming_clears_it(app: App, worker: TgUser) -> None:
    await fill_to_preview(worker)
    done = await worker.click(SUBMIT)
    number = "SK-" + done[-1].text.split("SK-")[1][:6]
    await walk(worker, unicodedata.normalize("NFD", "TỰ ĐỘNG duy trì áp-lực mạng cấp nước!"), "15/03/2022")  # NFD
    preview = worker.last
    repeated = vi(REPEATED_TITLE, number=number, title=TITLE)
    assert repeated in preview.text and WARN + vi("Name") in preview.button_texts()
    replies = await worker.click(WARN + vi("Name"))
    assert vi("Step {k}/{n}", k=1, n=13) in replies[-1].text
    replies = await worker.send("Tự động duy trì áp lực mạng cấp nước cho trạm số 3")
    assert repeated not in replies[-1].text and WARN + vi("Name") not in replies[-1].button_texts()


async def test_no_benefit_is_named_when_the_worker_leaves_the_social_benefit_empty(app: App, worker: TgUser) -> None:
    await fill_to_preview(worker)
    await worker.click(vi("✏️ Edit"), expect=0)
    await worker.click(vi("Money"))
    replies = await worker.send("0")
    assert vi("Step {k}/{n}", k=9, n=13) in replies[-1].text
    replies = await worker.click(vi("⬅️ Back"))  # back to the preview without a social benefit
    assert vi("Still missing: {fields}.", fields=vi("Social benefit")) in replies[-1].text
    assert vi(NO_BENEFIT) in replies[-1].text
    assert SUBMIT not in replies[-1].button_texts()
    await worker.click(WARN + vi("Social benefit"))
    replies = await worker.send(SOCIAL)
    assert SUBMIT in replies[-1].button_texts() and WARN + vi("Social benefit") not in replies[-1].button_texts()


async def test_a_draft_without_a_date_and_with_shares_not_adding_up_names_both_fixes(app: App, worker: TgUser) -> None:
    """A draft stored without its date and with shares of 90 % (an older draft; the form itself refuses such
    shares), continued from /drafts: both warnings, each with its ⚠️ button among the parts, neither blocking."""
    member = await get_member(app.db, worker.id)
    assert member is not None
    answers = {**COMPLETE, "solution_type": "technical", "field": "production", "before": BEFORE,
               "applied_where": PLACE, "authors": [{"name": "Nguyễn Văn An", "share": 60},
                                                   {"name": "Trần Thị Bình", "share": 30}]}  # fmt: skip
    answers.pop("applied_since")
    await create_draft(app.db, member, FormState(answers, PREVIEW))
    await worker.send("/drafts")
    preview = (await worker.click(vi("▶️ Continue {n}", n=1)))[-1]
    assert vi(NO_DATE) in preview.text and vi(SHARES, total=90) in preview.text
    assert vi("Correct it with the ⚠️ buttons below.") in preview.text and SUBMIT not in preview.button_texts()
    assert vi("You can still submit it as it is, or first correct it with the ⚠️ buttons below.") not in preview.text
    assert {WARN + vi("Date"), WARN + vi("Co-authors")} <= set(preview.button_texts())
    replies = await worker.click(WARN + vi("Co-authors"))
    assert vi("Step {k}/{n}", k=10, n=13) in replies[-1].text
    replies = await worker.send("Nguyễn Văn An – 60%\nTrần Thị Bình – 40%")
    assert vi("Step {k}/{n}", k=7, n=13) in replies[-1].text  # the date is required: asked next, before the preview
    replies = await worker.send("15/07/2022")
    assert vi("Before you submit, check:") not in replies[-1].text and SUBMIT in replies[-1].button_texts()


# -- on Zalo: the warnings' buttons are numbered with the others --------------------------------------------


async def test_on_zalo_the_fix_is_a_numbered_choice_and_submitting_still_works(
    two: TwoChannels, zalo: FakeZalo
) -> None:
    worker = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(worker)
    await zalo_fill_to_preview(worker)
    preview = worker.last
    assert vi("Before you submit, check:") in preview.body and "⚠️ Giải pháp" in choices(preview)
    replies = await worker.send(numbered(preview)["⚠️ Giải pháp"])
    assert "Bước 5/13" in replies[-1].body
    replies = await worker.send(LONG_SOLUTION)
    assert vi("Before you submit, check:") not in replies[-1].body
    replies = await worker.send("gửi duyệt")
    assert "SK-" in replies[-1].body
