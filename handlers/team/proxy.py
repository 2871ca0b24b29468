"""/for: a support-team member or officer writes a draft for a member of their units (picked by name, or a new
person by name, unit and phone), in the worker's own conversation; and a draft a member hands to the team
("🤝 Ask the team" in /drafts), which one team member takes."""

from __future__ import annotations

from contextlib import suppress
from html import escape

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from forms.errors import FormError
from forms.text import clean_answer
from handlers.delivery import Outbox
from handlers.ui.callbacks import ProxyAction, ProxyCb
from handlers.ui.keyboards import button, markup
from handlers.worker.formview import error_text, open_draft, show
from handlers.worker.profile import parse_phone
from storage.channels import CLAIM_TTL, new_link_code
from storage.db import Database
from storage.groups import group_of_chat
from storage.initiatives import Draft
from storage.members import member_by_id
from storage.models import Member
from storage.proxy import (
    add_person,
    ask_help,
    handover,
    has_chat,
    is_team,
    members_for,
    start_for,
    take_help,
    units_for,
)

NEW_PERSON = ProxyCb(action=ProxyAction.NEW, id=0)


class Proxy(StatesGroup):
    name = State()  # the member's name, to search
    new_name = State()  # a person not registered yet: their name, then unit, then phone
    new_unit = State()  # FSM data: {"name": ...}
    new_phone = State()  # FSM data: {"name": ..., "unit": id}


async def write_for(message: Message, command: CommandObject, state: FSMContext, db: Database,
                    member: Member | None) -> None:  # fmt: skip
    if member is None or not await is_team(db, member.id):
        await message.answer(_("Only the support team and officers can write an initiative for a member."))
        return
    if command.args:
        await search(message, state, db, member, command.args)
        return
    await state.set_state(Proxy.name)
    await message.answer(_("Whom are you writing for? Type the member's name (or /cancel)."))


async def name_typed(message: Message, state: FSMContext, db: Database, member: Member | None) -> None:
    if member is not None:
        await search(message, state, db, member, message.text or "")


async def search(message: Message, state: FSMContext, db: Database, actor: Member, query: str) -> None:
    found = [(m, unit) for m, unit in await members_for(db, actor.id or 0, query) if m.id != actor.id]
    rows = [[button(f"{m.full_name} — {unit}"[:60], ProxyCb(action=ProxyAction.PICK, id=m.id or 0))]
            for m, unit in found]  # fmt: skip
    rows.append([button(_("➕ A person not registered yet"), NEW_PERSON)])
    await state.set_state(Proxy.name)  # typing again searches again
    text = (_("Pick the member, or type the name again:") if found else
            _("No member of your units has that name. Type it again, or add a person not registered yet."))  # fmt: skip
    await message.answer(text, reply_markup=markup(rows))


async def pick(query: CallbackQuery, callback_data: ProxyCb, state: FSMContext, db: Database, member: Member | None,
               form: Form, outbox: Outbox) -> None:  # fmt: skip
    author = await member_by_id(db, callback_data.id)
    draft = None if member is None or author is None else await start_for(db, member, author, form.start())
    if draft is None or author is None or not isinstance(query.message, Message):
        await query.answer(_("You can write only for members of the units you support."), show_alert=True)
        return
    await query.answer()
    await opened(query.message, state, form, draft, author, db, outbox)


async def opened(message: Message, state: FSMContext, form: Form, draft: Draft, author: Member, db: Database,
                 outbox: Outbox) -> None:  # fmt: skip
    await open_draft(state, draft)
    await outbox.flush()
    note = _("You are writing a new draft for {name}. Every answer is saved at once; the draft is theirs, and "
             "they can see and change it.").format(name=escape(author.full_name))  # fmt: skip
    if not has_chat(author):  # they may start using the bot one day: a code makes them this member there
        code = await new_link_code(db, author.id or 0, ttl=CLAIM_TTL)
        note += "\n" + _("{name} does not use the bot yet. Give them this code: when they do, on Telegram or Zalo, "
                         "they send <code>/link {code}</code> and become this member, with what you wrote for them. "
                         "The code is valid for 30 days; writing for them again gives a new one.").format(
            name=escape(author.full_name), code=code)  # fmt: skip
    await show(message, form, draft, note="✍️ " + note)


async def new_person(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.set_state(Proxy.new_name)
    if isinstance(query.message, Message):
        await query.message.answer(_("Type the person's full name (or /cancel)."))


async def new_name(message: Message, state: FSMContext) -> None:
    try:
        name = clean_answer(message.text or "", multiline=False, max_len=100, min_len=2)
    except FormError as err:
        await message.answer(error_text(err))
        return
    await state.set_state(Proxy.new_unit)
    await state.set_data({"name": name})
    await message.answer(_("Which unit does {name} work in? Type a few words of its name.").format(name=escape(name)))


async def new_unit(message: Message, db: Database, member: Member | None) -> None:
    found = await units_for(db, member.id or 0, message.text or "") if member else []
    if not found:
        await message.answer(_("No unit you support has that name. Please type it again."))
        return
    rows = [[button(name[:60], ProxyCb(action=ProxyAction.UNIT, id=unit_id))] for unit_id, name in found]
    await message.answer(_("Pick the unit:"), reply_markup=markup(rows))


async def unit_picked(query: CallbackQuery, callback_data: ProxyCb, state: FSMContext) -> None:
    await query.answer()
    await state.set_state(Proxy.new_phone)
    await state.update_data(unit=callback_data.id)
    if isinstance(query.message, Message):
        await query.message.answer(_("Type their phone number, e.g. 0912 345 678."))


async def new_phone(message: Message, state: FSMContext, db: Database, member: Member | None, form: Form,
                    outbox: Outbox) -> None:  # fmt: skip
    phone, data = parse_phone(message.text or ""), await state.get_data()
    if phone is None:
        await message.answer(_("I could not read this phone number. Please type it again, e.g. 0912 345 678."))
        return
    person = None if member is None else await add_person(
        db, member, full_name=str(data.get("name")), unit_id=int(data.get("unit", 0)), phone=phone)  # fmt: skip
    draft = None if person is None or member is None else await start_for(db, member, person, form.start())
    if draft is None or person is None:
        await state.clear()
        await message.answer(_("You can write only for members of the units you support."))
        return
    await opened(message, state, form, draft, person, db, outbox)


async def ask(query: CallbackQuery, callback_data: ProxyCb, db: Database, member: Member | None,
              outbox: Outbox) -> None:  # fmt: skip
    if member is None or not await ask_help(db, member, callback_data.id):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    await outbox.flush()
    if isinstance(query.message, Message):
        await query.message.answer(_("The support team is asked to write it with you. You will be told who takes "
                                     "it; the draft stays yours, in /drafts."))  # fmt: skip


async def take(query: CallbackQuery, callback_data: ProxyCb, db: Database, member: Member | None,
               outbox: Outbox, i18n: I18n) -> None:  # fmt: skip
    found = await handover(db, callback_data.id)
    if found is None or member is None or found[4] != "draft":
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    if found[1] is None and await take_help(db, member, callback_data.id, found[3]):
        await query.answer(_("It is yours: continue it in a private chat with the bot."), show_alert=True)
        await outbox.flush()
        if isinstance(query.message, Message):  # the group sees who took it; the button is gone
            group = await group_of_chat(db, query.message.chat.id)  # the group reads it in its own language
            with i18n.use_locale(group.language if group else i18n.current_locale):
                taken = _("✍️ {name} took it.").format(name=escape(member.full_name))
            with suppress(TelegramBadRequest):
                await query.message.edit_text(query.message.html_text + "\n\n" + taken, reply_markup=None)
        return
    found = await handover(db, callback_data.id)
    if found is not None and found[1] is not None:
        text = _("{name} already took it.").format(name=found[1].full_name)
    else:
        text = _("Only the support team and officers of this unit can take it.")
    await query.answer(text, show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    private = F.chat.type == "private"
    router.message.register(write_for, Command("for"), private)
    router.message.register(name_typed, Proxy.name, F.text, ~F.text.startswith("/"), private)
    router.message.register(new_name, Proxy.new_name, F.text, ~F.text.startswith("/"), private)
    router.message.register(new_unit, Proxy.new_unit, F.text, ~F.text.startswith("/"), private)
    router.message.register(new_phone, Proxy.new_phone, F.text, ~F.text.startswith("/"), private)
    router.callback_query.register(pick, ProxyCb.filter(F.action == ProxyAction.PICK))
    router.callback_query.register(new_person, Proxy.name, ProxyCb.filter(F.action == ProxyAction.NEW))
    router.callback_query.register(unit_picked, Proxy.new_unit, ProxyCb.filter(F.action == ProxyAction.UNIT))
    router.callback_query.register(ask, ProxyCb.filter(F.action == ProxyAction.ASK))
    router.callback_query.register(take, ProxyCb.filter(F.action == ProxyAction.TAKE))
    return router
