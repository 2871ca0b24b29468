"""/giatri (/value): the support team records its own figure for an initiative's money benefit a year, with a
note, next to the author's; totals (/progress, /top, /export) use it where there is one and say so. Typed in one
line (``/giatri SK-000123 12 triệu/năm; ghi chú``) or answered in a short conversation; ``bỏ`` takes it away."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from forms.checked_benefit import EXAMPLE, CheckedBenefit, parse_checked_benefit
from forms.errors import N_, FormError
from forms.formats import format_money
from forms.recognition import initiative_number
from forms.text import normalize
from handlers.delivery import Outbox
from handlers.team.recognition import may_record
from handlers.worker.formview import error_text
from storage.db import Database
from storage.models import Initiative, Member
from storage.recognition import CHECKABLE, by_numbers, set_checked_benefit

COMMANDS = ("giatri", "value")


class CheckingBenefit(StatesGroup):
    figure = State()  # FSM data: {"number": "SK-000123"}


async def item_to_weigh(message: Message, db: Database, member: Member | None, number: str) -> Initiative | None:
    """The initiative if this member may record the team's figure for it now; otherwise the reason is replied."""
    item = (await by_numbers(db, [number])).get(number)
    problem: FormError | None = None
    if item is None or not await may_record(db, member, item):
        problem = FormError(N_("{number}: no such initiative among those you look after."), number=number)
    elif item.status not in CHECKABLE:
        problem = FormError(N_("{number} is not waiting for or past the support team's check, so it has no figure "
                               "to weigh."), number=number)  # fmt: skip
    if problem is not None:
        await message.reply(error_text(problem))
        return None
    return item


def ask_text(item: Initiative) -> str:
    locale = get_i18n().current_locale
    author = format_money(item.benefit_per_year, locale) if item.benefit_per_year else _("no money benefit")
    lines = [_("{number} “{title}”: the author wrote {amount} a year.").format(
        number=item.number, title=item.title or "", amount=author)]  # fmt: skip
    if item.checked_benefit is not None:
        lines.append(_("The support team's figure now: {amount} a year ({note}).").format(
            amount=format_money(item.checked_benefit, locale), note=item.checked_benefit_note or ""))  # fmt: skip
    lines.append(_("Send the support team's figure a year, a semicolon and a note on how it was worked out, e.g.\n"
                   "{example}\nSend “remove” to take the team's figure away.").format(example=_(EXAMPLE)))  # fmt: skip
    return escape("\n".join(lines))  # the title and the note are typed by people; replies are HTML


async def value_command(message: Message, command: CommandObject, db: Database, member: Member | None,
                        state: FSMContext, outbox: Outbox) -> None:  # fmt: skip
    first, _sep, rest = normalize(command.args or "", multiline=True).partition(" ")
    number = initiative_number(first) if first else None
    if number is None:
        await message.reply(_("To record the money benefit as the support team checked it, send /value, the "
                              "number, the figure a year and a note, e.g.\n/value SK-000123 {example}").format(
            example=_(EXAMPLE)))  # fmt: skip
        return
    item = await item_to_weigh(message, db, member, number)
    if item is None or member is None:
        return
    if not rest.strip():
        await message.reply(ask_text(item))  # asked first: a reply that fails leaves no question waiting
        await state.set_state(CheckingBenefit.figure)
        await state.update_data(number=number)
        return
    await answer_with(message, db, member, item, rest, outbox)


async def figure_answer(message: Message, db: Database, member: Member | None, state: FSMContext,
                        outbox: Outbox) -> None:  # fmt: skip
    number = str((await state.get_data()).get("number", ""))
    item = await item_to_weigh(message, db, member, number)
    if item is None or member is None:
        await state.clear()
        return
    if await answer_with(message, db, member, item, message.text or "", outbox):
        await state.clear()


async def answer_with(message: Message, db: Database, member: Member, item: Initiative, raw: str,
                      outbox: Outbox) -> bool:  # fmt: skip
    """Read and record the figure; False (the question asked again) when it cannot be read."""
    try:
        value = parse_checked_benefit(raw)
    except FormError as err:
        await message.reply(error_text(err) + "\n\n" + ask_text(item))
        return False
    await record(message, db, member, item, value, outbox)
    return True


async def record(message: Message, db: Database, member: Member, item: Initiative, value: CheckedBenefit,
                 outbox: Outbox) -> None:  # fmt: skip
    if value.per_year is None and item.checked_benefit is None:
        await message.reply(_("{number} has no figure of the support team to take away.").format(number=item.number))
        return
    if not await set_checked_benefit(db, member.id or 0, item.id or 0, value.per_year, value.note):
        await message.reply(_("Nothing recorded: {number} changed meanwhile. Look at /history {number}.").format(
            number=item.number))  # fmt: skip
        return
    await outbox.flush()
    if value.per_year is None:
        text = _("The support team's figure for {number} is taken away; totals use the author's again.")
        await message.reply(text.format(number=item.number))
        return
    amount = format_money(value.per_year, get_i18n().current_locale)
    await message.reply(_("Recorded: the support team's figure for {number} is {amount} a year. Totals use it; the "
                          "author is told.").format(number=item.number, amount=amount))  # fmt: skip


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(value_command, Command(*COMMANDS))
    router.message.register(figure_answer, CheckingBenefit.figure, F.text, ~F.text.startswith("/"))
    return router
