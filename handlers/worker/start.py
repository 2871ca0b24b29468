"""/start: full name and union unit. The language is the Telegram app's (Vietnamese by default), switched with
a button on the greeting or in /profile; the phone is optional and lives in /profile. The same steps change a
profile (/profile)."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _

from forms.errors import FormError
from forms.text import clean_answer
from handlers.ui import keyboards
from handlers.ui.callbacks import LangCb, UnitCb
from handlers.worker.profile import parse_phone, phone_from_contact, show_profile
from handlers.worker.states import Reg
from storage.db import Database
from storage.invites import use_invite, valid_invite
from storage.members import register, update_member
from storage.models import Member
from storage.units import SEARCH_CHARS, any_units, get_unit, search_units


async def ask_next(message: Message, state: FSMContext, db: Database) -> None:
    """Ask for the first thing registration still lacks, or register the member."""
    data = await state.get_data()
    if "unit_id" in data and await get_unit(db, data["unit_id"]) is None:  # the unit was removed meanwhile
        data = {k: v for k, v in data.items() if k != "unit_id"}
        await state.set_data(data)
    if "name" not in data:
        await state.set_state(Reg.name)
        await message.answer(
            _("What is your full name? Type it, or press the button if it is right."),
            reply_markup=keyboards.name_suggestions(message.chat.first_name or "", message.chat.last_name),
        )
    elif "unit_id" not in data:
        await state.set_state(Reg.unit)
        await message.answer(
            _("Which union unit are you in? Type part of its name, e.g. “cấp nước”."),
            reply_markup=ReplyKeyboardRemove(),
        )
    else:
        member = await register(
            db,
            tg_user_id=message.chat.id,
            full_name=data["name"],
            language=data.get("lang") or get_i18n().current_locale,
            unit_id=data["unit_id"],
            phone=data.get("phone") or None,  # only from a registration begun before the phone moved to /profile
            username=message.chat.username,  # a private chat carries the user's @username
        )
        await state.clear()
        await message.answer(
            _(
                "Thank you, {name}! You are registered. Send /new to write up an initiative, or /help to see "
                "what I can do. In /profile you can add a phone number for the support team or change the language."
            ).format(name=escape(member.full_name)),
            reply_markup=ReplyKeyboardRemove(),
        )


async def finish_step(
    message: Message, state: FSMContext, db: Database, member: Member | None, **value: object
) -> None:
    """Store one answer: a member's change takes effect at once; during registration, ask the next thing."""
    if member is not None:
        changes = {"name": "full_name", "unit_id": "unit_id", "phone": "phone", "lang": "language"}
        member = await update_member(db, member, **{changes[k]: v or None for k, v in value.items()})
        await state.clear()
        await message.answer(_("Saved."), reply_markup=ReplyKeyboardRemove())
        await show_profile(message, db, member)
        return
    await state.update_data(value)
    await ask_next(message, state, db)


async def start(message: Message, command: CommandObject, state: FSMContext, db: Database,
                member: Member | None, i18n: I18n) -> None:  # fmt: skip
    token = (command.args or "").strip()
    if member is not None:
        await state.clear()
        await message.answer(
            _(
                "Welcome back, {name}! Send /new to write up an initiative, /drafts for your "
                "drafts, /help for everything else."
            ).format(name=escape(member.full_name))
        )
        return
    # the language picked before a /cancel, else the Telegram app's, else the default (see bot.i18n)
    await state.update_data(lang=i18n.current_locale)
    await message.answer(
        _("Hello! I help union members write up and register their initiatives (sáng kiến)."),
        reply_markup=keyboards.languages(),
    )
    if token:
        invite = await valid_invite(db, token)
        unit = await get_unit(db, invite.unit_id) if invite else None
        if invite is None or unit is None:
            await message.answer(_("This invite link has expired or was revoked; you can pick your unit yourself."))
        else:
            await use_invite(db, invite.token)  # as stored: it may have been typed in another case
            await state.update_data(unit_id=unit.id)
            await message.answer(_("You were invited to {unit}.").format(unit=escape(unit.name)))
    await ask_next(message, state, db)


async def pick_language(
    query: CallbackQuery, callback_data: LangCb, state: FSMContext, db: Database, member: Member | None, i18n: I18n
) -> None:
    """A member's choice (from /profile) takes effect at once; before registering, the question being asked is
    asked again in the language picked (pressing the language already spoken changes nothing)."""
    if callback_data.code not in i18n.available_locales or not isinstance(query.message, Message):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    i18n.current_locale = callback_data.code
    await query.answer("✓ " + ("Tiếng Việt" if callback_data.code == "vi" else "English"))
    if member is not None:
        await finish_step(query.message, state, db, member, lang=callback_data.code)
        return
    changed = (await state.get_data()).get("lang") != callback_data.code
    await state.update_data(lang=callback_data.code)
    current = await state.get_state()
    if current in Reg.__state_names__ and (changed or current == Reg.language.state):
        await ask_next(query.message, state, db)


async def got_name(message: Message, state: FSMContext, db: Database, member: Member | None) -> None:
    try:
        name = clean_answer(message.text or "", multiline=False, max_len=100, min_len=2)
    except FormError as err:
        await message.answer(escape(_(err.msgid).format(**err.params)) + "\n" + _("What is your full name?"))
        return
    await finish_step(message, state, db, member, name=name)


async def find_unit(message: Message, db: Database) -> None:
    if len(message.text or "") > SEARCH_CHARS:
        await message.answer(_("That is too long for a search. Type a few words of your unit's name, e.g. “cấp nước”."))
        return
    found = await search_units(db, message.text or "")
    if not found and not await any_units(db):
        await message.answer(
            _("No union units are loaded yet. Please ask your union officer to load them, then send /start again.")
        )
        return
    if not found:
        await message.answer(
            _("No unit matches “{text}”. Try another part of the name.").format(text=escape((message.text or "")[:100]))
        )
        return
    await message.answer(_("Pick your unit (or type another part of the name):"), reply_markup=keyboards.units(found))


async def pick_unit(
    query: CallbackQuery, callback_data: UnitCb, state: FSMContext, db: Database, member: Member | None
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if await get_unit(db, callback_data.unit) is None:  # a forged button, or a unit removed since the list
        await query.answer(_("This button is out of date."), show_alert=True)
        await query.message.answer(
            _("This unit is no longer in the list. Type part of your unit's name again, e.g. “cấp nước”."),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    await query.answer()
    await finish_step(query.message, state, db, member, unit_id=callback_data.unit)


async def got_contact(message: Message, state: FSMContext, db: Database, member: Member | None) -> None:
    contact = message.contact
    if contact is None or contact.user_id != message.chat.id:
        await message.answer(
            _("Please share your own number with the button below."),
            reply_markup=keyboards.share_phone(bool(member and member.phone)),
        )
        return
    await finish_step(message, state, db, member, phone=phone_from_contact(contact.phone_number))


async def got_phone(message: Message, state: FSMContext, db: Database, member: Member | None) -> None:
    """A typed number in any usual Vietnamese way, or the button that removes it."""
    text = message.text or ""
    if text in (_("Remove the number"), _("Skip")):  # "Skip": the keyboard of an older version
        await finish_step(message, state, db, member, phone="")
        return
    phone = parse_phone(text)
    if phone is None:
        await message.answer(
            _(
                "I cannot read this as a Vietnamese phone number. Type it like 0912 345 678, or share it with the "
                "button."
            ),
            reply_markup=keyboards.share_phone(bool(member and member.phone)),
        )
        return
    await finish_step(message, state, db, member, phone=phone)


async def not_understood(message: Message, raw_state: str | None, member: Member | None) -> None:
    """Not the kind of answer the step expects (a sticker, a photo, text instead of a button…): ask again."""
    if raw_state == Reg.language.state:
        await message.answer("Chọn ngôn ngữ / Choose your language:", reply_markup=keyboards.languages())
    elif raw_state == Reg.phone.state:
        await message.answer(
            _("Please type your phone number, e.g. 0912 345 678, or share it with the button."),
            reply_markup=keyboards.share_phone(bool(member and member.phone)),
        )
    else:
        await message.answer(_("Please type your answer as text."))


async def registration_first(message: Message, state: FSMContext, db: Database) -> None:
    """A command before registration is over: say so, and ask the current question again."""
    await message.answer(_("Please finish registering first (or send /cancel to stop): answer the question below."))
    await ask_next(message, state, db)


async def command_mid_step(message: Message, state: FSMContext, db: Database, member: Member | None) -> None:
    if member is not None:  # a member changing the profile: drop the change, let the command run
        await state.set_state(None)
        raise SkipHandler
    await registration_first(message, state, db)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(start, CommandStart())
    router.callback_query.register(pick_language, LangCb.filter())
    router.message.register(command_mid_step, StateFilter(Reg), F.text.startswith("/"))
    router.message.register(got_name, Reg.name, F.text, ~F.text.startswith("/"))
    router.message.register(find_unit, Reg.unit, F.text, ~F.text.startswith("/"))
    router.callback_query.register(pick_unit, StateFilter(Reg.unit), UnitCb.filter())
    router.message.register(got_contact, Reg.phone, F.contact)
    router.message.register(got_phone, Reg.phone, F.text, ~F.text.startswith("/"))
    router.message.register(not_understood, StateFilter(Reg), ~F.text.startswith("/"))  # a member's command skips on
    return router
