"""The support group's buttons on a card (the reasons they ask for are in ``handlers.team.reasons``).

A press acts only when the pressed message is the initiative's card in this chat for the round of review the
button carries, and that round is the current one; the decision itself is a compare-and-set on the status and
the round. The card's new look and the author's notice go through the outbox, committed with the decision."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ForceReply, Message, User
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from forms.formats import format_datetime
from handlers.delivery import Outbox
from handlers.team.cards import similar_block
from handlers.team.fulltext import send_full_text
from handlers.ui.callbacks import ReviewAction, ReviewCb
from storage.db import Database
from storage.groups import group_of_chat
from storage.models import Member
from storage.review import OPEN, Decision, Review, acting_member, card_at, decide, load, take
from storage.roles import may_review
from storage.similar.search import Similar

DECISIONS = {ReviewAction.CONFIRM: Decision.CONFIRM, ReviewAction.CHANGES: Decision.CHANGES,
             ReviewAction.REJECT: Decision.REJECT, ReviewAction.DUPLICATE: Decision.DUPLICATE}  # fmt: skip
REASON_MAX = 1000


class Reviewing(StatesGroup):
    reason = State()  # FSM data: {"iid", "decision", "card", "round"}


async def reviewer(db: Database, admins: frozenset[int], member: Member | None, user: User,
                   unit_id: int | None) -> Member | None:  # fmt: skip
    """The member who may decide on an item of this unit (a bot admin gets a record on first use), or None."""
    if user.id in admins:
        return member or await acting_member(db, user.id, user.full_name, user.username, get_i18n().current_locale)
    return member if member is not None and await may_review(db, member.id, unit_id) else None


async def press(query: CallbackQuery, callback_data: ReviewCb, state: FSMContext, db: Database,
                member: Member | None, admins: frozenset[int], i18n: I18n, form: Form, tz: ZoneInfo,
                outbox: Outbox) -> None:  # fmt: skip
    message, iid = query.message, callback_data.initiative
    card = await card_at(db, message.chat.id, message.message_id) if isinstance(message, Message) else None
    review = await load(db, iid) if card is not None and card.initiative_id == iid else None
    if card is None or review is None or card.round != callback_data.round or not isinstance(message, Message):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    actor = await reviewer(db, admins, member, query.from_user, review.initiative.unit_id)
    if actor is None:
        await query.answer(_("Only the support team of this unit can do this."), show_alert=True)
        return
    action, item = callback_data.action, review.initiative
    if action is ReviewAction.FULL:
        await send_full_text(query, review, form)
        return
    if item.status not in OPEN or item.review_round != card.round:
        await query.answer(out_of_date_text(review, card.round, tz), show_alert=True)
        return
    if action is ReviewAction.TAKE:
        await take_it(query, db, actor, review, card.round, tz)
    elif action is ReviewAction.CONFIRM:
        confirmed = await decide(db, iid, actor.id or 0, Decision.CONFIRM, None, card.round)
        await query.answer(_("Confirmed.") if confirmed else out_of_date_text(await load(db, iid), card.round, tz),
                           show_alert=not confirmed)  # fmt: skip
    else:
        await ask_reason(query, message, state, DECISIONS[action], iid, item.number or "", card.round, i18n, db,
                         actor.full_name, review.similar)  # fmt: skip
        return
    await outbox.flush()


async def take_it(query: CallbackQuery, db: Database, actor: Member, review: Review, round_: int,
                  tz: ZoneInfo) -> None:  # fmt: skip
    """Take an item nobody has taken; pressing again changes nothing, and a second member hears who has it."""
    item = review.initiative
    mine = _("You are handling {number}.").format(number=item.number)
    if item.taken_by_id == actor.id:
        await query.answer(mine)
        return
    if await take(db, item.id or 0, actor.id or 0, round_):
        await query.answer(mine)
        return
    now = await load(db, item.id or 0)
    if now is not None and now.initiative.status == "in_review" and now.taken_by is not None:
        taken = _("{name} is already handling {number}.").format(name=now.taken_by.full_name, number=item.number)
        await query.answer(taken, show_alert=now.taken_by.id != actor.id)
    else:
        await query.answer(out_of_date_text(now, round_, tz), show_alert=True)


async def ask_reason(query: CallbackQuery, card: Message, state: FSMContext, decision: Decision, iid: int,
                     number: str, round_: int, i18n: I18n, db: Database, name: str,
                     similar: Sequence[Similar] = ()) -> None:  # fmt: skip
    group = await group_of_chat(db, card.chat.id)
    with i18n.use_locale(group.language if group else get_i18n().current_locale):  # privately: the presser's
        which = (
            _("{name}, which earlier initiative does {number} repeat? Reply with its place in the list below or its "
              "number (e.g. SK-000045), and a note if you like (or /cancel).")
            if similar
            else _("{name}, which earlier initiative does {number} repeat? Reply with its number (e.g. SK-000045), "
                   "and a note if you like (or /cancel).")
        )  # fmt: skip
        text = {
            Decision.CHANGES: _("{name}, reply with the reason for returning {number} (or /cancel)."),
            Decision.REJECT: _("{name}, reply with the reason for rejecting {number} (or /cancel)."),
            Decision.DUPLICATE: which,
        }[decision].format(name=query.from_user.mention_html(name), number=number)  # the mention: a selective reply
        if decision is Decision.DUPLICATE and similar:
            text += "\n" + "\n".join(similar_block(similar, _("Most similar when it was submitted:"), numbered=True))
    await query.answer()
    prompt = await card.reply(text, reply_markup=ForceReply(selective=True))
    await state.set_state(Reviewing.reason)  # the reply to this very question is the reason
    await state.set_data({"iid": iid, "decision": decision.value, "card": card.message_id, "round": round_,
                          "prompt": prompt.message_id})  # fmt: skip


def out_of_date_text(review: Review | None, round_: int, tz: ZoneInfo) -> str:
    """For whoever pressed too late: who decided, what, and when; or that a newer card replaced this one."""
    item = review.initiative if review else None
    if review is None or item is None:
        return _("This button is out of date.")
    if item.review_round != round_:
        return _("This card is out of date: {number} was resubmitted; use its newest card.").format(number=item.number)
    if review.decided_by is None or item.decided_at is None:
        return _("This initiative was already decided.")
    when = format_datetime(item.decided_at, get_i18n().current_locale, tz)
    verdict = {"confirmed": _("confirmed"), "changes_requested": _("returned for changes"), "rejected": _("rejected"),
               "duplicate": _("a duplicate")}  # fmt: skip
    return _("Already decided: {verdict} by {name}, {when}.").format(
        verdict=verdict.get(item.status, item.status), name=review.decided_by.full_name, when=when
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type.in_({"group", "supergroup"}))
    router.callback_query.register(press, ReviewCb.filter())
    return router
