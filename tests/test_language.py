"""Vietnamese as offices write it: the team's check is "xác nhận (hợp lệ)", never "công nhận"; no "bởi" passives;
group messages in the group's language; /top gives no medal to a unit with nothing; English plurals are real.

People are enrolled straight in the database (the registration dialogue is tested elsewhere), then every command
and button goes through the real dispatcher."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from bot.i18n import create_i18n
from forms.engine import PREVIEW, Form, FormState
from forms.money import Money
from forms.template import Kind
from storage.groups import bind
from storage.initiatives import create_draft, get_draft, submit
from storage.members import register
from storage.models import Member
from storage.roles import OFFICER, SUPPORT, grant
from storage.units import unit_by_code
from tests.conftest import App
from tests.test_progress import confirm_some, load_tree
from tests.tgclient import TgUser

ROOT = Path(__file__).resolve().parent.parent
GROUP = {"id": -100_300_400, "type": "supergroup", "title": "Tổ hỗ trợ sáng kiến Cấp nước"}
DATETIME = re.compile(r"\d\d/\d\d/\d{4} \d\d:\d\d")
ENGINE_PENDING: set[str] = set()  # no "(s)" msgid is left


def catalog(lang: str) -> Any:
    return read_po((ROOT / f"locales/{lang}/LC_MESSAGES/messages.po").open("rb"))


async def enrol(app: App, user: TgUser, name: str, lang: str = "vi", unit: str = "LS-NUOC",
                role: str | None = None) -> Member:  # fmt: skip
    place = await unit_by_code(app.db, unit)
    assert place is not None
    member = await register(app.db, tg_user_id=user.id, full_name=name, language=lang, unit_id=place.id or 0,
                            phone=None, username=user.user.get("username"))  # fmt: skip
    if role:
        await grant(app.db, member_id=member.id or 0, unit_id=place.id or 0, role=role, by_id=None)
    return member


async def submitted(app: App, member: Member, title: str = "Tự động duy trì áp lực mạng cấp nước") -> str:
    """A complete initiative submitted by ``member``, its card delivered to the bound group; returns its number."""
    form: Form = app.dp.workflow_data["form"]
    answers: dict[str, Any] = {}
    for f in form.fields:
        if f.kind is Kind.CHOICE:
            answers[f.key] = f.choices[0].key
        elif f.kind is Kind.DATE:
            answers[f.key] = "2022-03-15"
        elif f.kind is Kind.MONEY:
            answers[f.key] = Money(14_000_000).to_json()
        elif f.kind in (Kind.TEXT, Kind.LONGTEXT) and form.is_required(f, answers):
            answers[f.key] = title if f.key == "title" else "Lắp cảm biến áp lực và biến tần; ban đêm bơm chạy chậm."
    draft = await create_draft(app.db, member, FormState(answers=answers, step=PREVIEW))
    fresh = await get_draft(app.db, draft.id)
    assert fresh is not None and not form.missing(fresh.state.answers)
    done = await submit(app.db, fresh, member, form)
    assert done is not None
    await app.dp.workflow_data["outbox"].settle()
    return done.number


def card(app: App, number: str) -> Any:
    return next(m for m in reversed(app.fake.in_chat(GROUP["id"])) if m.text.startswith(number))


async def test_the_teams_confirmation_says_xac_nhan_hop_le_and_never_cong_nhan(app: App) -> None:
    worker, reviewer = app.user(), app.user(first_name="Mai", last_name="Lê Thị", username="mai_nuoc")
    author = await enrol(app, worker, "Nguyễn Văn An")
    await enrol(app, reviewer, "Lê Thị Mai", role=SUPPORT)
    unit = await unit_by_code(app.db, "LS-NUOC")
    in_group = reviewer.in_group(GROUP)
    await bind(app.db, chat_id=GROUP["id"], unit_id=unit.id or 0, title=GROUP["title"], language="vi", by_id=None)
    number = await submitted(app, author)
    shown = card(app, number)
    assert "14 triệu đồng/năm" in shown.text and "₫" not in shown.text
    assert shown.button_texts() == ["🙋 Nhận kiểm tra", "✅ Xác nhận", "↩️ Trả lại bổ sung", "⛔ Từ chối",
                                    "🔁 Trùng lặp với…", "📄 Xem đầy đủ", "📝 Đơn công nhận"]  # fmt: skip
    await in_group.click("Nhận kiểm tra", message=shown, expect=0)
    assert in_group.alerts[-1] == f"Anh/chị đã nhận kiểm tra {number}."
    assert "Đang kiểm tra: Lê Thị Mai" in app.fake.messages[GROUP["id"]][shown.message_id].text
    _, confirm = in_group.find_button("Xác nhận", shown)
    await in_group.press(shown, confirm["callback_data"], expect=0)
    decided = app.fake.messages[GROUP["id"]][shown.message_id].text
    assert re.search(r"✅ Lê Thị Mai đã xác nhận hợp lệ \(" + DATETIME.pattern + r"\)", decided), decided
    notice = worker.last.text
    assert notice.startswith(f"Sáng kiến {number}") and "Tổ hỗ trợ sáng kiến xác nhận hợp lệ" in notice
    await in_group.press(shown, confirm["callback_data"], expect=0)  # pressed again, after the decision
    late = in_group.alerts[-1]
    assert late.startswith("Sáng kiến này đã có kết quả: đã xác nhận (Lê Thị Mai, ")
    for text in (decided, notice, late, *in_group.alerts):
        assert "công nhận" not in text.lower() and " bởi " not in text and "xử lý" not in text


async def test_queue_answers_in_the_groups_language_and_an_unbound_group_says_how_to_bind(app: App) -> None:
    worker, asker = app.user(), app.user(first_name="Hoa", username="hoa")
    author = await enrol(app, worker, "Nguyễn Văn An")
    await enrol(app, asker, "Lê Thị Hoa", lang="vi", unit="LS", role=OFFICER)
    in_group = asker.in_group(GROUP)
    replies = await in_group.send("/queue")
    assert replies[-1].text == (
        "Nhóm này chưa gắn với đơn vị nào. Cán bộ công đoàn có thể gắn bằng /bind kèm mã đơn vị."
    )
    unit = await unit_by_code(app.db, "LS-NUOC")
    await bind(app.db, chat_id=GROUP["id"], unit_id=unit.id or 0, title=GROUP["title"], language="en", by_id=None)
    assert (await in_group.send("/queue"))[-1].text == "Nothing waits for review."  # English, asked in Vietnamese
    number = await submitted(app, author)
    text = (await in_group.send("/queue"))[-1].text
    assert text.startswith("Waiting for review") and f"{number} · Tự động duy trì áp lực mạng cấp nước" in text
    assert "— sent today" in text and "day(s)" not in text and "ngày" not in text


async def test_top_gives_no_medal_to_a_unit_with_nothing_and_names_the_phase(app: App, tmp_path: Path) -> None:
    await load_tree(app, tmp_path)
    await confirm_some(app, "LS-TD", 4)
    await confirm_some(app, "LS-NUOC", 1, waiting=3)
    officer, english = app.user(), app.user()
    await enrol(app, officer, "Lê Thị Hoa", unit="LS", role=OFFICER)
    await enrol(app, english, "Hoa Le", lang="en", unit="LS", role=OFFICER)
    text = (await officer.send("/top LS GD1"))[-1].text
    assert "Tác giả, đơn vị tiêu biểu – Liên đoàn Lao động tỉnh Lạng Sơn (Giai đoạn 1)" in text and "GD1" not in text
    assert "🥇 Liên đoàn Lao động huyện Tràng Định: 4 sáng kiến, 56 triệu đồng/năm" in text
    assert "🥈 Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn: 1 sáng kiến, 14 triệu đồng/năm" in text
    assert "Điện lực" not in text and "🥉" not in text  # 0 confirmed: no medal, not listed
    text = (await english.send("/top LS"))[-1].text
    assert "(whole programme)" in text and "4 initiatives, 56 million VND a year" in text
    assert "Công ty CP Cấp nước Lạng Sơn: 1 initiative, 14 million VND a year" in text


async def test_progress_writes_money_in_ty_and_counts_a_social_benefit_as_initiatives(app: App, tmp_path: Path) -> None:
    await load_tree(app, tmp_path)
    await confirm_some(app, "LS-TD", 3)
    officer = app.user()
    await enrol(app, officer, "Lê Thị Hoa", unit="LS", role=OFFICER)
    text = (await officer.send("/progress LS"))[-1].text
    assert "Giá trị làm lợi: 42 triệu đồng/năm · 0 sáng kiến có lợi ích xã hội" in text
    assert "Xếp hạng" not in text
    assert "3 đơn vị dưới 50% chỉ tiêu." in text and "2 đơn vị chưa có sáng kiến nào được tính." in text


def test_no_vietnamese_message_calls_the_teams_check_cong_nhan_or_uses_jargon() -> None:
    """ "Công nhận" is the workplace's legal recognition: it may appear only where the English speaks of recognition,
    and the team's check ("xác nhận", "kiểm tra hợp lệ") is never called so."""
    recognition = 0
    for m in catalog("vi"):
        english = " ".join((m.id,) if isinstance(m.id, str) else m.id).lower()
        for text in (m.string,) if isinstance(m.string, str) else m.string:
            if "công nhận" in text.lower():
                recognition += 1
                assert "recogni" in english, m.id  # the workplace's legal recognition, not the team's check
                assert "công nhận hợp lệ" not in text.lower() and "xác nhận công nhận" not in text.lower(), m.id
            if "confirm" in english and "recogni" not in english:
                assert "công nhận" not in text.lower(), m.id
            assert not re.search(r"\bbởi\b", text), m.id  # "… bởi {name}" is translationese
            assert not re.search(r"\b(khớp|nạp)\b", text), m.id
            assert "xử lý" not in text and "nhóm hỗ trợ" not in text, m.id  # one verb, one name
    assert recognition > 5  # the recognition's own messages are in the catalog, and checked above


def test_english_uses_plural_forms_not_s_in_brackets() -> None:
    en = catalog("en")
    assert en.plural_forms == "nplurals=2; plural=(n != 1);" and catalog("vi").plural_forms == "nplurals=1; plural=0;"
    for m in en:
        ids = (m.id,) if isinstance(m.id, str) else m.id
        strings = (m.string,) if isinstance(m.string, str) else m.string
        assert not any("(s)" in s for s in strings), m.id
        assert not any("(s)" in i for i in ids) or any(p in ids[0] for p in ENGINE_PENDING), m.id
    i18n = create_i18n(ROOT / "locales", "vi")
    one, many = "{name}: {count} initiative, {money} a year", "{name}: {count} initiatives, {money} a year"
    assert i18n.gettext(one, many, 1, locale="en") == one and i18n.gettext(one, many, 2, locale="en") == many
    assert (
        i18n.gettext(one, many, 1, locale="vi")
        == i18n.gettext(one, many, 7, locale="vi")
        == ("{name}: {count} sáng kiến, {money}/năm")
    )
