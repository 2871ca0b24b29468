"""/recognise (/congnhan): record that the workplace recognised a checked initiative, typed in one line or answered
in a short conversation; /unrecognise (/huycongnhan): an officer takes a recognition or an upload back, with a
reason. The file import and /uploaded are in ``recognition_bulk``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from forms.errors import N_, FormError
from forms.recognition import initiative_number, parse_command, parse_decision
from forms.text import normalize
from handlers.delivery import Outbox
from handlers.worker.formview import error_text, today
from storage.db import Database
from storage.models import Initiative, Member
from storage.recognition import Decision, by_numbers, recognise, undo
from storage.roles import OFFICER, may_review, roles_over

COMMANDS = ("recognise", "recognize", "congnhan")
EXAMPLE = "12/QĐ-CĐCS 15/03/2022 Hội đồng sáng kiến Công ty"


class Recognising(StatesGroup):
    decision = State()  # FSM data: {"number": "SK-000123"}


async def may_record(db: Database, member: Member | None, item: Initiative) -> bool:
    """The unit's support team and officers of the unit or above record recognitions and uploads."""
    return member is not None and await may_review(db, member.id, item.unit_id)


async def checked_item(message: Message, db: Database, member: Member | None, number: str) -> Initiative | None:
    """The initiative if it may be recognised by this member now; otherwise the reason is replied."""
    item = (await by_numbers(db, [number])).get(number)
    problem = await problem_with(db, member, item, number)
    if problem:
        await message.reply(error_text(problem))
        return None
    return item


async def problem_with(db: Database, member: Member | None, item: Initiative | None, number: str) -> FormError | None:
    if item is None or not await may_record(db, member, item):
        return FormError(N_("{number}: no such initiative among those you look after."), number=number)
    if item.status != "confirmed":
        return FormError(N_("{number} has not been checked as valid by the support team yet."), number=number)
    if item.decision_no is not None:
        return FormError(N_("{number} is already recognised (decision {no})."), number=number, no=item.decision_no)
    return None


async def may_upload(db: Database, member: Member | None, item: Initiative | None, number: str) -> FormError | None:
    if item is None or not await may_record(db, member, item):
        return FormError(N_("{number}: no such initiative among those you look after."), number=number)
    if item.status != "confirmed" or item.decision_no is None:
        return FormError(N_("{number} is not recognised yet: record the decision first (/recognise)."), number=number)
    if item.uploaded_on is not None:
        return FormError(N_("{number} is already marked as uploaded."), number=number)
    return None


async def recognise_command(message: Message, command: CommandObject, db: Database, member: Member | None,
                            state: FSMContext, tz: ZoneInfo, outbox: Outbox) -> None:  # fmt: skip
    args = normalize(command.args or "")
    number = initiative_number(args.split(" ")[0]) if args else None
    if number is None:
        await message.reply(_("To record a recognition, send /recognise, the number, the decision number, its date "
                              "and the issuing body, e.g.\n/recognise SK-000123 {example}\nMany at once: send a "
                              ".csv or .xlsx file (number, decision no., date, issuing body) with the caption "
                              "/recognise.").format(example=EXAMPLE))  # fmt: skip
        return
    item = await checked_item(message, db, member, number)
    if item is None or member is None:
        return
    if args == number or len(args.split(" ")) == 1:
        await state.set_state(Recognising.decision)
        await state.update_data(number=number)
        await message.reply(ask_text(item))
        return
    try:
        parsed = parse_command(args, today(tz))
    except FormError as err:
        await message.reply(error_text(err))
        return
    await record(message, db, member, item, Decision(parsed.decision_no, parsed.on, parsed.body), outbox)


def ask_text(item: Initiative) -> str:
    return _("{number} “{title}”: send the decision number, its date and the issuing body, e.g.\n{example}").format(
        number=item.number, title=item.title or "", example=EXAMPLE
    )


async def decision_answer(message: Message, db: Database, member: Member | None, state: FSMContext,
                          tz: ZoneInfo, outbox: Outbox) -> None:  # fmt: skip
    number = str((await state.get_data()).get("number", ""))
    item = await checked_item(message, db, member, number)
    if item is None or member is None:
        await state.clear()
        return
    try:
        parsed = parse_decision(number, message.text or "", today(tz))
    except FormError as err:
        await message.reply(error_text(err) + "\n" + ask_text(item))
        return
    await record(message, db, member, item, Decision(parsed.decision_no, parsed.on, parsed.body), outbox)
    await state.clear()


async def record(message: Message, db: Database, member: Member, item: Initiative, decision: Decision,
                 outbox: Outbox) -> None:  # fmt: skip
    if await recognise(db, member.id or 0, {item.id or 0: decision}):
        await outbox.flush()
        await message.reply(_("Recorded: {number} is recognised. The author is told.").format(number=item.number))
    else:
        await message.reply(_("Nothing recorded: {number} changed meanwhile. Look at /history {number}.").format(
            number=item.number))  # fmt: skip


async def unrecognise(message: Message, command: CommandObject, db: Database, member: Member | None,
                      outbox: Outbox) -> None:  # fmt: skip
    number, _sep, reason = normalize(command.args or "").partition(" ")
    found = await by_numbers(db, [initiative_number(number) or ""])
    item = next(iter(found.values()), None)
    if item is None or member is None or OFFICER not in await roles_over(db, member.id, item.unit_id or 0):
        await message.reply(_("Only an officer of the initiative's unit or above can take back a recognition or an "
                              "upload: /unrecognise SK-000123 reason."))  # fmt: skip
        return
    if len(reason) < 5:
        await message.reply(_("Please give the reason after the number: /unrecognise SK-000123 reason."))
        return
    uploaded = item.uploaded_on is not None
    if item.decision_no is None or not await undo(db, member.id or 0, item.id or 0, reason, uploaded=uploaded):
        await message.reply(_("{number} is not recognised, so there is nothing to take back.").format(
            number=item.number))  # fmt: skip
        return
    await outbox.flush()
    text = _("The upload of {number} to the TLĐ system is taken back.") if uploaded else _(
        "The recognition of {number} is taken back.")  # fmt: skip
    await message.reply(text.format(number=item.number))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(recognise_command, Command(*COMMANDS), F.document.is_(None))
    router.message.register(decision_answer, Recognising.decision, F.text, ~F.text.startswith("/"))
    router.message.register(unrecognise, Command("unrecognise", "unrecognize", "huycongnhan"))
    return router
