"""The review card a support group sees, and the texts of the messages that follow a submission or a decision.

Group messages use the group's language, private ones the member's."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from forms.formats import format_date, format_datetime, format_money
from forms.money import Money
from forms.render import money_text, value_text
from handlers.ui.callbacks import DraftAction, DraftCb, ReviewAction, ReviewCb
from handlers.ui.keyboards import button, markup
from handlers.worker.dossier_ask import DossierAction, DossierCb
from handlers.worker.drafts import STATUS
from storage.db import Database
from storage.members import set_reachable
from storage.models import Initiative, Member, ReviewGroup
from storage.review import Decision, Review
from storage.roles import officers_above
from storage.similar.search import Similar

log = logging.getLogger(__name__)
SOLUTION_PREVIEW = 400


def checked_benefit_line(item: Initiative, locale: str) -> list[str]:
    """The support team's own figure for the money benefit, when it recorded one (/giatri)."""
    if item.checked_benefit is None:
        return []
    text = _("As the support team checked it: {amount} a year ({note})").format(
        amount=format_money(item.checked_benefit, locale), note=item.checked_benefit_note or "")  # fmt: skip
    return ["💰 " + escape(text)]


def card_text(review: Review, form: Form, locale: str, tz: ZoneInfo) -> str:
    item, answers = review.initiative, json.loads(review.initiative.answers)
    authors = ", ".join(f"{a.full_name} ({a.share}%)" for a in review.authors) or review.author.full_name
    solution = answers.get("solution", "")
    short = solution[:SOLUTION_PREVIEW] + ("…" if len(solution) > SOLUTION_PREVIEW else "")
    money = money_text(Money.from_json(answers["benefit_money"]), _, locale) if "benefit_money" in answers else "—"
    lines = [
        f"<b>{escape(item.number or '')}</b> · {escape(item.title or '')}",
        _("Authors: {authors}").format(authors=escape(authors)),
        _("Unit: {unit}").format(unit=escape(review.unit.name if review.unit else "—")),
        _("Type: {type}").format(type=value_text(form["solution_type"], answers.get("solution_type"), _, locale)),
        _("Field: {field}").format(field=value_text(form["field"], answers.get("field"), _, locale)),
        _("Money benefit: {money}").format(money=escape(money)),
        *checked_benefit_line(item, locale),
        _("Social benefit: {social}").format(social=escape((answers.get("benefit_social") or "—")[:300])),
        "",
        "<i>" + escape(short) + "</i>",
    ]
    if item.review_round > 1:
        names = ", ".join(_(f.label) for f in form.fields if f.key in review.changed)
        lines.insert(1, "🔁 " + escape(_("Resubmitted; changed: {fields}").format(fields=names or "—")))
    lines += similar_block(review.similar, _("Similar initiatives when it was submitted:"))
    if item.differs_note:
        lines.append("✍️ " + escape(_("The author says how it differs: {note}").format(note=item.differs_note)))
    if review.taken_by and item.status == "in_review":
        lines.append("\n👤 " + escape(_("Taken by {name}").format(name=review.taken_by.full_name)))
    if item.status in {d.value for d in Decision} and review.decided_by and item.decided_at:
        when = format_datetime(item.decided_at, locale, tz)
        verdict = {
            Decision.CONFIRM.value: "✅ " + _("Confirmed by {name}, {when}"),
            Decision.CHANGES.value: "↩️ " + _("Returned for changes by {name}, {when}"),
            Decision.REJECT.value: "⛔ " + _("Rejected by {name}, {when}"),
            Decision.DUPLICATE.value: "🔁 " + _("Marked by {name} as a duplicate of {original}, {when}"),
        }[item.status]
        original = review.duplicate_of.number if review.duplicate_of else "—"
        lines.append("\n" + escape(verdict.format(name=review.decided_by.full_name, when=when, original=original)))
        if item.decision_reason:
            lines.append(escape(_("Reason: {reason}").format(reason=item.decision_reason)))
    return "\n".join(lines)


def card_keyboard(initiative_id: int, round_: int, is_open: bool) -> InlineKeyboardMarkup:
    def b(text: str, action: ReviewAction) -> InlineKeyboardButton:
        return button(text, ReviewCb(action=action, initiative=initiative_id, round=round_))

    dossier = button(
        _("📝 Application for recognition"), DossierCb(action=DossierAction.OPEN, initiative=initiative_id)
    )
    full = [b(_("📄 Full text"), ReviewAction.FULL), dossier]  # the application is sent to the presser privately
    if not is_open:
        return markup([full])
    return markup(
        [
            [b(_("🙋 Take"), ReviewAction.TAKE), b(_("✅ Confirm"), ReviewAction.CONFIRM)],
            [b(_("↩️ Request changes"), ReviewAction.CHANGES), b(_("⛔ Reject"), ReviewAction.REJECT)],
            [b(_("🔁 Duplicate of…"), ReviewAction.DUPLICATE)],
            full,
        ]
    )


def similar_line(found: Similar, n: int | None = None) -> str:
    """One similar initiative: its number, name, status and how alike it is (HTML)."""
    status = _(STATUS.get(found.status, found.status))
    text = _("{number} · {title} — {status}, {percent}% alike").format(
        number=found.number, title=found.title, status=status, percent=found.percent
    )
    return escape(f"{n}. {text}" if n is not None else "• " + text)


def similar_block(found: Sequence[Similar], heading: str, *, numbered: bool = False) -> list[str]:
    if not found:
        return []
    return ["", "<b>" + escape(heading) + "</b>"] + [
        similar_line(s, n if numbered else None) for n, s in enumerate(found, 1)
    ]


def submitted_text(number: str, has_group: bool) -> str:
    text = _(
        "Your initiative is submitted for review as <b>{number}</b>. The support team will check it; "
        "I will tell you the result. Send /my to follow it."
    ).format(number=escape(number))
    if not has_group:
        text += "\n\n" + _("Your unit has no support group yet, so it waits; the officers have been told.")
    return text


async def tell_officers(bot: Bot, db: Database, i18n: I18n, number: str, unit_id: int | None,
                        group: ReviewGroup | None) -> None:  # fmt: skip
    for officer in await officers_above(db, unit_id or 0):
        with i18n.use_locale(officer.language):
            text = (
                _("{number} waits for review, but its unit has no support group.")
                if group is None
                else _("{number} waits for review, but the support group cannot be reached (was the bot removed?).")
            ).format(number=number)
        await send_private(bot, officer, text, db=db)


def notice_text(status: str, number: str, title: str, reason: str | None,
                original: Initiative | None = None) -> tuple[str, bool]:  # fmt: skip
    """The author's notice of a decision, and whether it carries the "edit and resubmit" button."""
    if status == Decision.CONFIRM.value:
        text = _("Your initiative {number} “{title}” is confirmed. It now counts toward your unit's quota.")
    elif status == Decision.CHANGES.value:
        text = _("Your initiative {number} “{title}” was returned for changes. Reason: {reason}")
    elif status == Decision.DUPLICATE.value:
        text = _("Your initiative {number} “{title}” repeats {original} “{original_title}”, so it is not counted.")
        if reason:
            text += " " + _("Note: {reason}")
    else:
        text = _("Your initiative {number} “{title}” was not accepted. Reason: {reason}")
    names = {"original": escape(original.number or "") if original else "—",
             "original_title": escape(original.title or "") if original else ""}  # fmt: skip
    return text.format(number=escape(number), title=escape(title), reason=escape(reason or ""), **names), (
        status == Decision.CHANGES.value
    )


RECOGNITION_NOTICES = (
    "recognised",
    "uploaded",
    "recognition.undone",
    "recognition.upload_undone",
    "benefit.checked",
    "benefit.check_removed",
)


def recognition_notice(status: str, item: Initiative, reason: str | None, locale: str,
                       amount: int | None = None) -> str:  # fmt: skip
    """The author's notice of a recognition, an upload to the TLĐ system, either taken back, or the support team's
    figure for the money benefit."""
    names = {"number": escape(item.number or ""), "title": escape(item.title or ""), "reason": escape(reason or "")}
    if status == "recognised":
        text = _("Your initiative {number} “{title}” is recognised by decision {no} of {on}. It now counts in the "
                 "programme.")  # fmt: skip
        on = format_date(item.decision_on, locale) if item.decision_on else "—"
        return text.format(no=escape(item.decision_no or ""), on=on, **names)
    if status == "uploaded":
        on = format_date(item.uploaded_on, locale) if item.uploaded_on else "—"
        return _("Your initiative {number} “{title}” was uploaded to the TLĐ system on {on}.").format(on=on, **names)
    if status == "benefit.checked":
        figure = format_money(amount if amount is not None else item.checked_benefit or 0, locale)
        return _("The support team checked the money benefit of your initiative {number} “{title}”: {amount} a year, "
                 "which the programme's totals use. Note: {reason}").format(amount=figure, **names)  # fmt: skip
    if status == "benefit.check_removed":
        return _("The support team's figure for the money benefit of your initiative {number} “{title}” is taken "
                 "away: totals use yours again.").format(**names)  # fmt: skip
    if status == "recognition.upload_undone":
        return _("The upload of your initiative {number} “{title}” to the TLĐ system was taken back. Reason: "
                 "{reason}").format(**names)  # fmt: skip
    return _("The recognition of your initiative {number} “{title}” was taken back. Reason: {reason}").format(**names)


async def notify_author(bot: Bot, i18n: I18n, review: Review, status: str, reason: str | None,
                        db: Database | None = None, *, amount: int | None = None) -> None:  # fmt: skip
    """``amount``: a figure the notice reports as it was when the change was made (the support team's benefit)."""
    item, author = review.initiative, review.author
    with i18n.use_locale(author.language):
        if status in RECOGNITION_NOTICES:
            text = recognition_notice(status, item, reason, author.language, amount)
            await send_private(bot, author, text, db=db)
            return
        text, editable = notice_text(status, item.number or "", item.title or "", reason, review.duplicate_of)
        action = DraftCb(action=DraftAction.RESUME, draft=item.id or 0)
        keyboard = markup([[button(_("✏️ Edit and resubmit"), action)]]) if editable else None
        # -- the dossier (issue 11): a confirmed initiative's notice offers the application for recognition
        if status == Decision.CONFIRM.value:
            dossier = DossierCb(action=DossierAction.OPEN, initiative=item.id or 0)
            keyboard = markup([[button(_("📄 Application form (Word file)"), dossier)]])
        # -- end of the dossier's part
    await send_private(bot, author, text, keyboard, db=db)


async def send_private(bot: Bot, member: Member, text: str, keyboard: InlineKeyboardMarkup | None = None, *,
                       db: Database | None = None) -> bool:  # fmt: skip
    """A private message; a member who blocked the bot is marked unreachable (until they write again) and skipped."""
    if not member.reachable:
        log.info("member %s is unreachable (blocked the bot); nothing sent", member.id)
        return False
    try:
        await bot.send_message(member.tg_user_id, text, reply_markup=keyboard)
    except TelegramForbiddenError as exc:
        log.info("member %s blocked the bot (%s): marked unreachable", member.id, exc)
        if db is not None:
            await set_reachable(db, member, False)
        return False
    except TelegramBadRequest as exc:
        log.info("member %s cannot be messaged privately: %s", member.id, exc)
        return False
    return True
