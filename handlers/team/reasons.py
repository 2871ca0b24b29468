"""The reason for a return or a rejection, or the original a duplicate repeats ("2", "SK-000045: note"), typed in
the support group in reply to a ForceReply: checked like an answer (words, length, NFC), recorded with a
compare-and-set on status and round; anything else is answered."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import ForceReply, Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _

from forms.errors import FormError
from forms.text import clean_answer
from handlers.delivery import Outbox
from handlers.team.review import REASON_MAX, Reviewing, out_of_date_text, reviewer
from storage.db import Database
from storage.groups import group_of_chat
from storage.models import Member
from storage.review import Decision, decide, load
from storage.similar.originals import Pick, Problem, pick_original


async def reason(message: Message, state: FSMContext, db: Database, member: Member | None, admins: frozenset[int],
                 tz: ZoneInfo, outbox: Outbox) -> None:  # fmt: skip
    data = await state.get_data()
    review = await load(db, int(data["iid"]))
    if review is None or message.from_user is None:
        await state.clear()
        return
    replied = message.reply_to_message.message_id if message.reply_to_message else None
    if replied != data.get("prompt"):  # a reply to an older question, for another card
        await ask_again(message, state, _("Please reply to my latest question, about {number} (or /cancel).").format(
            number=review.initiative.number))  # fmt: skip
        return
    actor = await reviewer(db, admins, member, message.from_user, review.initiative.unit_id)
    if actor is None:
        await state.clear()
        await message.reply(_("You are no longer in the support team of this unit, so nothing was recorded."))
        return
    decision = Decision(data["decision"])
    try:
        text = clean_answer(message.text or "", multiline=True, max_len=REASON_MAX,
                            min_len=1 if decision is Decision.DUPLICATE else 3)  # fmt: skip
    except FormError as err:
        problem = "⚠️ " + escape(_(err.msgid).format(**err.params))
        await ask_again(message, state, problem + "\n" + _("Please send the reason again (or /cancel)."))
        return
    original = None
    if decision is Decision.DUPLICATE:
        pick = await pick_original(db, review.initiative, review.similar, text)
        if pick.original is None:
            await ask_again(message, state, "⚠️ " + escape(problem_text(pick)))
            return
        original, text = pick.original, pick.note
    iid, round_ = review.initiative.id or 0, int(data.get("round", review.initiative.review_round))
    decided = await decide(db, iid, actor.id or 0, decision, text or None, round_, original)  # the effect first
    await state.clear()
    if not decided:
        await message.reply(escape(out_of_date_text(await load(db, iid), round_, tz)))
    await outbox.flush()


def problem_text(pick: Pick) -> str:
    again = _("Reply with a place in the list or an initiative's number, e.g. SK-000045 (or /cancel).")
    problem = {
        Problem.UNREADABLE: _("I could not read which initiative you mean."),
        Problem.UNKNOWN: _("No submitted initiative has the number {number}."),
        Problem.ITSELF: _("{number} is this very initiative."),
        Problem.ELSEWHERE: _("{number} is not from this unit or the units it is compared with."),
    }[pick.problem or Problem.UNREADABLE]
    return problem.format(number=pick.named) + " " + again


async def ask_again(message: Message, state: FSMContext, text: str) -> None:
    """Ask for the reason again; the reply to this question is the one that counts from now on."""
    prompt = await message.reply(text, reply_markup=ForceReply(selective=True))
    await state.update_data(prompt=prompt.message_id)


async def not_text(message: Message, state: FSMContext) -> None:
    await ask_again(message, state, _("Please type the reason as text (or /cancel)."))


async def cancel_reason(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.reply(_("Cancelled: nothing was recorded."))


async def command_instead_of_reason(message: Message, state: FSMContext, db: Database, i18n: I18n) -> None:
    """A command while a reason is awaited: the reason is still awaited, and the person is told how to go on."""
    data = await state.get_data()
    review = await load(db, int(data["iid"])) if data.get("iid") else None
    group = await group_of_chat(db, message.chat.id)
    with i18n.use_locale(group.language if group else get_i18n().current_locale):
        text = _("I am still waiting for your reason for {number}: reply with it as text, or send /cancel first.")
        text = text.format(number=review.initiative.number if review else "")
    await ask_again(message, state, text)


async def edited_in_group(message: Message, db: Database, i18n: I18n) -> None:
    """In a group the bot sees only what is addressed to it; an edit of that is answered, not read."""
    group = await group_of_chat(db, message.chat.id)
    with i18n.use_locale(group.language if group else i18n.default_locale):
        text = _("Edits are not read: the message as first sent counts. Send a new message if something changed.")
    await message.reply(text)


def create_router() -> Router:
    router = Router(name=__name__)  # in a group, or privately where a team gets its cards privately
    router.edited_message.filter(F.chat.type.in_({"group", "supergroup"}))
    router.edited_message.register(edited_in_group)
    router.message.register(cancel_reason, Reviewing.reason, Command("cancel"))
    router.message.register(command_instead_of_reason, Reviewing.reason, F.text.startswith("/"))
    router.message.register(reason, Reviewing.reason, F.text, F.reply_to_message)
    router.message.register(not_text, Reviewing.reason, ~F.text, F.reply_to_message)
    return router
