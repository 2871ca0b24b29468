"""/profile: see and change name, unit, phone and language."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _

from handlers import keyboards
from handlers.callbacks import ProfileCb, ProfileItem
from handlers.states import Reg  # the registration steps double as profile edits
from storage.db import Database
from storage.models import Member
from storage.units import get_unit


async def show_profile(message: Message, db: Database, member: Member) -> None:
    unit = await get_unit(db, member.unit_id)
    lines = [
        "<b>" + _("Your profile") + "</b>",
        _("Name: {name}").format(name=escape(member.full_name)),
        _("Unit: {unit}").format(unit=escape(unit.name if unit else "—")),
        _("Phone: {phone}").format(phone=escape(member.phone or "—")),
        _("Language: {language}").format(language="Tiếng Việt" if member.language == "vi" else "English"),
    ]
    await message.answer("\n".join(lines), reply_markup=keyboards.profile())


async def profile(message: Message, state: FSMContext, db: Database, member: Member | None) -> None:
    if member is None:
        await message.answer(_("You are not registered yet. Send /start first."))
        return
    await state.set_state(None)
    await show_profile(message, db, member)


async def change(query: CallbackQuery, callback_data: ProfileCb, state: FSMContext, member: Member | None) -> None:
    await query.answer()
    if member is None or not isinstance(query.message, Message):
        return
    message = query.message
    item = callback_data.item
    if item is ProfileItem.LANGUAGE:
        await state.set_state(Reg.language)
        await message.answer("Chọn ngôn ngữ / Choose your language:", reply_markup=keyboards.languages())
    elif item is ProfileItem.NAME:
        await state.set_state(Reg.name)
        await message.answer(_("Type your full name:"), reply_markup=ReplyKeyboardRemove())
    elif item is ProfileItem.UNIT:
        await state.set_state(Reg.unit)
        await message.answer(_("Type part of your unit's name:"), reply_markup=ReplyKeyboardRemove())
    else:
        await state.set_state(Reg.phone)
        await message.answer(
            _("Share your phone number with the button, or press Skip to remove it."),
            reply_markup=keyboards.share_phone(),
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(profile, Command("profile"))
    router.callback_query.register(change, ProfileCb.filter())
    return router
