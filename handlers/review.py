"""The support group's buttons on a card, and the reasons typed in reply to a ForceReply."""

from __future__ import annotations

import json
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ForceReply, Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime

from forms.engine import Form
from forms.render import full_text_chunks
from handlers.callbacks import ReviewAction, ReviewCb
from handlers.cards import card_keyboard, card_text, notify_author
from storage.db import Database
from storage.groups import group_of_chat
from storage.models import Member
from storage.review import OPEN, Decision, Review, cards, decide, load, take
from storage.roles import may_review

DECISIONS = {ReviewAction.CONFIRM: Decision.CONFIRM, ReviewAction.CHANGES: Decision.CHANGES,
             ReviewAction.REJECT: Decision.REJECT}  # fmt: skip


class Reviewing(StatesGroup):
    reason = State()  # FSM data: {"iid", "decision", "card"}


async def allowed(
    db: Database, admins: frozenset[int], member: Member | None, user_id: int, unit_id: int | None
) -> bool:
    return user_id in admins or (member is not None and await may_review(db, member.id, unit_id))


async def refresh(bot: Bot, db: Database, i18n: I18n, form: Form, tz: ZoneInfo, chat_id: int, message_id: int,
                  initiative_id: int) -> None:  # fmt: skip
    """Show the card as it now stands: who took it, or the outcome without buttons."""
    review, group = await load(db, initiative_id), await group_of_chat(db, chat_id)
    if review is None:
        return
    language = group.language if group else i18n.default_locale
    with i18n.use_locale(language):
        text = card_text(review, form, language, tz)
        keyboard = card_keyboard(initiative_id, review.initiative.status in OPEN)
    try:
        await bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id, reply_markup=keyboard)
    except TelegramBadRequest as exc:
        if "message is not modified" not in str(exc):
            raise


async def press(query: CallbackQuery, callback_data: ReviewCb, state: FSMContext, bot: Bot, db: Database,
                member: Member | None, admins: frozenset[int], i18n: I18n, form: Form,
                tz: ZoneInfo) -> None:  # fmt: skip
    message, iid = query.message, callback_data.initiative
    review = await load(db, iid)
    if (not isinstance(message, Message) or review is None
            or not any(c.chat_id == message.chat.id for c in await cards(db, iid))):  # fmt: skip
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    if not await allowed(db, admins, member, query.from_user.id, review.initiative.unit_id):
        await query.answer(_("Only the support team of this unit can do this."), show_alert=True)
        return
    action = callback_data.action
    if action is ReviewAction.FULL:
        await send_full_text(query, bot, review.initiative.id or 0, db, form)
        return
    if review.initiative.status not in OPEN or member is None:
        await query.answer(decided_text(review, tz), show_alert=True)
        await refresh(bot, db, i18n, form, tz, message.chat.id, message.message_id, iid)
        return
    if action is ReviewAction.TAKE:
        await take(db, iid, member.id or 0)
        await query.answer(_("You are handling {number}.").format(number=review.initiative.number))
    elif action is ReviewAction.CONFIRM:
        if not await decide(db, iid, member.id or 0, Decision.CONFIRM, None):
            await query.answer(decided_text(await load(db, iid), tz), show_alert=True)
        else:
            await query.answer(_("Confirmed."))
            await notify_author(bot, i18n, await load(db, iid))  # type: ignore[arg-type]
    else:
        await ask_reason(query, message, state, DECISIONS[action], review.initiative.number or "", iid, i18n, db)
        return
    await refresh(bot, db, i18n, form, tz, message.chat.id, message.message_id, iid)


async def ask_reason(query: CallbackQuery, card: Message, state: FSMContext, decision: Decision, number: str,
                     iid: int, i18n: I18n, db: Database) -> None:  # fmt: skip
    group = await group_of_chat(db, card.chat.id)
    with i18n.use_locale(group.language if group else i18n.default_locale):
        text = (
            _("{name}, reply with the reason for returning {number} (or /cancel).")
            if decision is Decision.CHANGES
            else _("{name}, reply with the reason for rejecting {number} (or /cancel).")
        ).format(name=query.from_user.mention_html(), number=number)
    await query.answer()
    await card.reply(text, reply_markup=ForceReply(selective=True))
    await state.set_state(Reviewing.reason)
    await state.set_data({"iid": iid, "decision": decision.value, "card": card.message_id})


async def reason(message: Message, state: FSMContext, bot: Bot, db: Database, member: Member | None,
                 admins: frozenset[int], i18n: I18n, form: Form, tz: ZoneInfo) -> None:  # fmt: skip
    data = await state.get_data()
    await state.clear()
    review = await load(db, int(data["iid"]))
    user_id = message.from_user.id if message.from_user else 0
    if review is None or member is None or not await allowed(db, admins, member, user_id, review.initiative.unit_id):
        return
    text = (message.text or "").strip()[:1000]
    if not await decide(db, review.initiative.id or 0, member.id or 0, Decision(data["decision"]), text):
        await message.reply(escape(decided_text(await load(db, review.initiative.id or 0), tz)))
    else:
        await notify_author(bot, i18n, await load(db, review.initiative.id or 0))  # type: ignore[arg-type]
    await refresh(bot, db, i18n, form, tz, message.chat.id, int(data["card"]), review.initiative.id or 0)


def decided_text(review: Review | None, tz: ZoneInfo) -> str:
    """For whoever pressed too late: who decided, what, and when."""
    item = review.initiative if review else None
    if review is None or item is None or review.decided_by is None or item.decided_at is None:
        return _("This initiative was already decided.")
    when = format_datetime(item.decided_at, "short", tzinfo=tz, locale=get_i18n().current_locale)
    verdict = {"confirmed": _("confirmed"), "changes_requested": _("returned for changes"), "rejected": _("rejected")}
    return _("Already decided: {verdict} by {name}, {when}.").format(
        verdict=verdict.get(item.status, item.status), name=review.decided_by.full_name, when=when
    )


async def cancel_reason(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.reply(_("Cancelled: nothing was recorded."))


async def send_full_text(query: CallbackQuery, bot: Bot, iid: int, db: Database, form: Form) -> None:
    review = await load(db, iid)
    assert review is not None
    answers = json.loads(review.initiative.answers)
    heading = f"<b>{review.initiative.number}</b>"
    chunks = full_text_chunks(form, answers, _, get_i18n().current_locale, heading)
    try:
        for chunk in chunks:
            await bot.send_message(query.from_user.id, chunk)
        for f in answers.get("files", []):
            if f["kind"] == "photo":
                await bot.send_photo(query.from_user.id, f["file_id"])
            else:
                await bot.send_document(query.from_user.id, f["file_id"])
    except (TelegramForbiddenError, TelegramBadRequest):
        await query.answer(_("Please start a private chat with me first, then press again."), show_alert=True)
        return
    await query.answer(_("Sent to you privately."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type.in_({"group", "supergroup"}))
    router.callback_query.register(press, ReviewCb.filter())
    router.message.register(cancel_reason, Reviewing.reason, Command("cancel"))
    router.message.register(reason, Reviewing.reason, F.text, ~F.text.startswith("/"))
    return router
