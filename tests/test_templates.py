"""Templates per field of work: the shipped files, the loader's errors (file, line, problem), the example that
follows the picked field through the real dispatcher, a union's own folder, and `sangkien run` refusing a bad file."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from forms.field_templates import FIELDS_DIR, later_steps, match_templates
from forms.links import web_address
from forms.template import DEFAULT_FIELDS_OF_WORK, Choice, build_fields
from forms.template_files import TemplateError, load_templates
from storage.models import Unit
from storage.roles import OFFICER
from tests.conftest import App, build_app, close_app, make_settings, register
from tests.fake_telegram import FakeTelegram
from tests.flows import BEFORE, TITLE, fill_to_preview, vi
from tests.test_language import enrol
from tests.tgclient import TgUser

FIELDS = build_fields()
SHIPPED = load_templates(FIELDS_DIR, FIELDS)
TECH = vi("Technical solution")
NUOC = "Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn"
GENERAL_BEFORE = "The pumps ran at full power all night although little water was used; pipes often burst."


def test_the_twelve_common_fields_ship_a_help_line_and_an_example_for_every_later_step_in_both_languages() -> None:
    assert set(SHIPPED) == {c.key for c in DEFAULT_FIELDS_OF_WORK} - {"other"} and len(SHIPPED) == 12
    later = [f.key for f in later_steps(FIELDS)]
    assert later[0] == "before" and "title" not in later and "field" not in later
    for template in SHIPPED.values():
        assert list(template.texts) == later, template.key
        for step in later:
            for part in ("help", "example"):
                assert template.text(step, part, "vi") and template.text(step, part, "en"), (template.key, step)
    assert match_templates(FIELDS, SHIPPED).keys() == SHIPPED.keys()  # "Other" keeps the general examples


def test_configured_fields_of_work_find_their_template_by_name_ignoring_case_and_diacritics() -> None:
    fields = build_fields((Choice("c0", "KE TOAN", translate=False), Choice("c1", "Khác", translate=False)))
    matched = match_templates(fields, load_templates(FIELDS_DIR, fields))
    assert list(matched) == ["c0"] and matched["c0"].key == "finance"


GOOD_STEP = '[before]\nhelp_vi = "Gợi ý"\nhelp_en = "Hint"\nexample_vi = "Ví dụ"\nexample_en = "Example"\n'
NAMES = 'names = ["Kế toán"]\n'


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (NAMES + '[before]\nhelp_vi = "không đóng ngoặc\n', 3, "this is not valid TOML"),
        (NAMES + GOOD_STEP + "\n[befor]\nhelp_vi = 'x'\n", 8, "[befor] is not a step of the form; the steps a field"),
        (NAMES + "[title]\nexample_vi = 'x'\nexample_en = 'x'\n", 2, "[title] keeps the general help"),
        (NAMES + '[before]\nhelp_vi = "Gợi ý"\n', 3, "[before] has help_vi but no help_en"),
        (NAMES + '[before]\nexemple_vi = "x"\n', 3, "[before] has an unknown key exemple_vi"),
        (NAMES + '[before]\nhelp_vi = "  "\nhelp_en = "x"\n', 3, "[before] help_vi must be a text in quotes"),
        (NAMES + '[before]\nhelp_vi = """\nx"""\nhelp_en = 5\n', 5, "[before] help_en must be a text in quotes"),
        (NAMES + "[benefit_money]\nexample_vi = 'mười bốn triệu'\n", 3, "I could not read this amount."),
        (NAMES + "[applied_since]\nexample_vi = '31/02/2022'\n", 3, "This date does not exist."),
        (NAMES + '[authors]\nexample_en = "An – 60%\\nBinh – 30%"\n', 3, "add up to 90%, but they must add up to 100%"),
        (NAMES + "[solution]\n\nexample_vi = 'Lắp cảm biến.'\n", 4, "has 3 words; the preview asks for at least 40"),
        ("names = []\n" + GOOD_STEP, 1, "names must list the names of the field"),
        (NAMES + "before = 'x'\n", 2, "before must be a table"),
        (NAMES + "[before]\n", 2, "[before] is empty"),
        (NAMES + "[before]\nhelp_vi = '" + "x" * 301 + "'\n", 3, "help_vi has 301 characters; at most 300"),
    ],
)
def test_a_bad_file_is_one_line_with_the_file_the_line_and_the_problem(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = write(tmp_path / "fields", "finance.toml", text)
    with pytest.raises(TemplateError) as caught:
        load_templates(tmp_path / "fields", FIELDS)
    message = str(caught.value)
    assert message.startswith(f"{path}, line {line}: ") and problem in message and "\n" not in message


def test_names_claimed_twice_bad_file_names_bad_bytes_and_a_missing_folder(tmp_path: Path) -> None:
    folder = tmp_path / "fields"
    write(folder, "finance.toml", NAMES + GOOD_STEP)
    second = write(folder, "kt.toml", "# kế toán nội bộ\nnames = ['Kế Toán']\n")
    with pytest.raises(TemplateError, match=rf"^{second}, line 2: the name “Kế Toán” is already in finance.toml$"):
        load_templates(folder, FIELDS)
    second.unlink()
    bad = write(folder, "kế toán.toml", NAMES)
    with pytest.raises(TemplateError, match="line 1: the file name must be the field's key"):
        load_templates(folder, FIELDS)
    bad.unlink()
    latin = write(folder, "it.toml", "names = ['CNTT']\n[before]\nhelp_vi = 'C\xf4ng ngh\xea'\n".encode("latin-1"))
    with pytest.raises(TemplateError, match=rf"^{latin}, line 3: the file is not UTF-8 text"):
        load_templates(folder, FIELDS)
    with pytest.raises(TemplateError, match="no such folder of field templates"):
        load_templates(tmp_path / "missing", FIELDS)


def test_sangkien_run_refuses_a_bad_template_file_with_one_line_and_exit_status_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "fields", "finance.toml", NAMES + "[benefit_money]\nexample_vi = 'nhiều lắm'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "123456:ABCdefGhIJKlmnopQRstuvWXyz012345678")
    monkeypatch.setenv("SANGKIEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FIELD_TEMPLATES_DIR", str(tmp_path / "fields"))
    assert main(["run"]) == 2
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("sangkien:")]
    assert said == [
        f"sangkien: {path}, line 3: [benefit_money] example_vi is not an answer the bot accepts at this step "
        "(I could not read this amount.)"
    ]


# -- through the real dispatcher ---------------------------------------------------------------------------


def example(text: str) -> str:
    return vi("Example: {example}", example=text)


async def to_before(worker: TgUser, field: str) -> str:
    """/new to step 4 with ``field`` picked; returns the text of step 4."""
    replies = await worker.send("/new")
    assert example(vi("Automatic pressure control for the water supply network")) in replies[-1].text
    await worker.send(TITLE)
    await worker.click(TECH, expect=0)
    return (await worker.click(field))[-1].text


async def test_the_help_and_the_example_follow_the_field_picked_at_step_3(worker: TgUser) -> None:
    finance = SHIPPED["finance"]
    text = await to_before(worker, vi("Finance and accounting"))
    assert vi("Step {k}/{n}", k=4, n=13) in text
    assert vi("How was the work done before, and what was wrong with it?") in text  # the general question stays
    assert "💡 " + finance.text("before", "help", "vi") in text  # type: ignore[operator]
    assert example(finance.text("before", "example", "vi") or "") in text
    assert example(vi(GENERAL_BEFORE)) not in text
    replies = await worker.send(BEFORE)
    assert example(finance.text("solution", "example", "vi") or "") in replies[-1].text


async def test_a_change_of_field_at_the_preview_changes_the_examples(worker: TgUser) -> None:
    await fill_to_preview(worker)  # production and operation
    await worker.click(vi("✏️ Edit"), expect=0)
    await worker.click(vi("Field"))
    await worker.click(vi("Health care"))
    await worker.click(vi("✏️ Edit"), expect=0)
    replies = await worker.click(vi("Before"))
    assert example(SHIPPED["health"].text("before", "example", "vi") or "") in replies[-1].text
    assert SHIPPED["production"].text("before", "example", "vi") not in replies[-1].text  # type: ignore[operator]
    replies = await worker.click(vi("Keep current answer"))
    await worker.click(vi("✏️ Edit"), expect=0)
    replies = await worker.click(vi("Name"))  # step 1 keeps the general example
    assert example(vi("Automatic pressure control for the water supply network")) in replies[-1].text


async def test_other_keeps_the_general_example_and_an_english_worker_reads_english(app: App) -> None:
    worker = app.user(language_code="en")
    await register(worker, lang="en")
    replies = await worker.send("/new")
    await worker.send("Automatic pressure control")
    await worker.click("Technical solution", expect=0)
    replies = await worker.click("Transport and logistics")
    assert "Example: " + (SHIPPED["transport"].text("before", "example", "en") or "") in replies[-1].text
    other = app.user()
    await register(other)
    text = await to_before(other, vi("Other"))
    assert example(vi(GENERAL_BEFORE)) in text
    assert "💡" not in text


async def test_a_union_edits_its_own_folder_for_its_own_fields_of_work(fake: FakeTelegram, db_path: Path,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    own = (
        'names = ["Kế toán"]\n[before]\nhelp_vi = "Chứng từ nào, bao nhiêu?"\nhelp_en = "Which documents?"\n'
        'example_vi = "Đối chiếu tay 3.000 hóa đơn."\nexample_en = "3,000 invoices."\n'
    )
    write(tmp_path / "fields", "ketoan.toml", nfd(own))  # saved by an editor that decomposes (NFD)
    settings = make_settings(f"sqlite+aiosqlite:///{db_path}", fake, fields_of_work=[nfd("Kế toán"), "Khác"],
                             field_templates_dir=tmp_path / "fields")  # fmt: skip
    app = await build_app(fake, settings)
    try:
        worker = app.user()
        await register(worker)
        text = await to_before(worker, "Kế toán")  # the button, and the texts, as composed (NFC) Vietnamese
        assert "💡 Chứng từ nào, bao nhiêu?" in text and example("Đối chiếu tay 3.000 hóa đơn.") in text
    finally:
        await close_app(app)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_the_shipped_vietnamese_reads_as_union_offices_write_it() -> None:
    for template in SHIPPED.values():
        for step, parts in template.texts.items():
            for part in parts.values():
                text, where = part["vi"], (template.key, step)
                assert unicodedata.is_normalized("NFC", text), where
                assert "công nhận" not in text.lower() and not re.search(r"\b(bởi|khớp|nạp)\b", text), where
                assert "xử lý" not in text and "nhóm hỗ trợ" not in text, where


# -- a unit's own guide or video ----------------------------------------------------------------------------

GUIDE = "https://youtu.be/HuongDan-SK_2022?t=5"


def test_a_guide_must_be_a_web_address_a_phone_can_open() -> None:
    assert web_address(f"  {GUIDE} ") == GUIDE and web_address("http://ldld.langson.gov.vn/sk") is not None
    for bad in ("youtu.be/abc", "ftp://files.org/a", "https://localhost/a", "https://a b.org", "javascript:alert(1)",
                "https://user:pw@site.org/", "https://site.org:port/", "https://x.org/" + "a" * 500, ""):  # fmt: skip
        assert web_address(bad) is None, bad


async def test_an_officer_above_sets_a_guide_and_members_below_see_it_in_help_and_at_the_first_step(
    app: App, worker: TgUser
) -> None:
    officer = app.user(first_name="Cán", last_name="Lê Văn")
    await enrol(app, officer, "Lê Văn Cán", unit="LS", role=OFFICER)
    replies = await officer.send(f"/guide LS {GUIDE}")
    province = "Liên đoàn Lao động tỉnh Lạng Sơn"
    assert replies[-1].text == vi(
        "The guide of {unit} is now {url}. Its members see it in /help and when they start /new.",
        unit=province,
        url=GUIDE,
    )
    line = vi("The guide of {unit}: {url}", unit=province, url=GUIDE)
    replies = await worker.send("/help")
    assert vi("Your unit's guide") in replies[-1].text and line in replies[-1].text
    by_field = "From step {k} on, the help and the examples follow the field of application you picked."
    assert vi(by_field, k=4) in replies[-1].text
    replies = await worker.send("/new")
    assert "📘 " + line in replies[-1].text and vi("Step {k}/{n}", k=1, n=13) in replies[-1].text
    own = "https://congdoan-nuoc.vn/mau-sang-kien.pdf"
    await officer.send(f"/guide LS-NUOC {own}")  # the nearest unit's guide wins
    replies = await worker.send("/help")
    assert vi("The guide of {unit}: {url}", unit=NUOC, url=own) in replies[-1].text and GUIDE not in replies[-1].text
    replies = await officer.send("/guide LS-NUOC " + nfd("XÓA"))  # "xóa" as a decomposing keyboard sends it
    assert replies[-1].text == vi("The guide of {unit} is removed.", unit=NUOC)
    assert GUIDE in (await worker.send("/help"))[-1].text  # the province's again


async def test_only_officers_of_the_unit_or_above_and_admins_set_a_guide_and_a_bad_address_changes_nothing(
    app: App, worker: TgUser
) -> None:
    refused = vi("Only an officer of this unit or of a unit above it can set its guide.")
    assert (await worker.send(f"/guide LS-NUOC {GUIDE}"))[-1].text == refused
    officer = app.user(first_name="Mai", last_name="Hoàng Thị")
    await enrol(app, officer, "Hoàng Thị Mai", unit="LS-NUOC", role=OFFICER)
    assert (await officer.send(f"/guide LS {GUIDE}"))[-1].text == refused  # the unit above is not theirs
    not_web = vi(
        "This is not a web address: it must start with http:// or https://, e.g. https://example.org/huong-dan."
    )
    assert (await officer.send("/guide LS-NUOC youtu.be/abc"))[-1].text == not_web
    assert (await officer.send("/guide KHONG-CO https://x.org"))[-1].text == vi("No unit has the code {code}.",
                                                                                   code="KHONG-CO")  # fmt: skip
    replies = await officer.send("/guide")
    assert vi("Your unit has no guide yet.") in replies[-1].text and "/guide LS-NUOC" in replies[-1].text
    assert vi("Your unit's guide") not in (await worker.send("/help"))[-1].text
    app.dp["admins"] = frozenset({worker.id})  # a bot administrator may set any unit's
    await worker.send(f"/guide DK {GUIDE}")
    async with app.db.session() as session:
        unit = (await session.exec(select(Unit).where(Unit.code == "DK"))).one()
    assert unit.guide_url == GUIDE
