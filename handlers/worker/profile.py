"""/profile: see and change name, unit, phone and language; link another app (as /link does)."""

from __future__ import annotations

import re
from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _

from handlers.ui import keyboards
from handlers.ui.callbacks import ProfileCb, ProfileItem
from handlers.worker.linking import send_code
from handlers.worker.states import Reg  # the registration steps double as profile edits
from storage.db import Database
from storage.models import Member
from storage.units import get_unit

_SEPARATORS = re.compile(r"[\s.\-()/]")
_VIETNAMESE = re.compile(r"(?:\+84|0084|84|0)([1-9]\d{8,9})")


def parse_phone(text: str) -> str | None:
    """A Vietnamese number as people type it (0912 345 678, 0912.345.678, +84 912345678, 84912345678,
    (024) 3826 1234), stored as +84…; None when it is not one."""
    digits = _SEPARATORS.sub("", text.strip())
    found = _VIETNAMESE.fullmatch(digits)
    return "+84" + found[1] if found else None


def phone_from_contact(number: str) -> str:
    """A number shared with Telegram's button: Vietnamese ones stored like typed ones, others as given."""
    digits = number.strip()
    return parse_phone(digits) or ("+" + digits.lstrip("+"))[:32]


def phone_text(phone: str | None) -> str:
    """As a Vietnamese reads it: 0912 345 678 (mobile), 024 3826 1234 (landline); other numbers as stored."""
    found = _VIETNAMESE.fullmatch(phone or "")
    if found is None or not (phone or "").startswith("+84"):
        return phone or "—"
    national = "0" + found[1]
    if len(national) == 10:
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    return f"{national[:3]} {national[3:7]} {national[7:]}"


async def show_profile(message: Message, db: Database, member: Member) -> None:
    unit = await get_unit(db, member.unit_id)
    lines = [
        "<b>" + _("Your profile") + "</b>",
        _("Name: {name}").format(name=escape(member.full_name)),
        _("Unit: {unit}").format(unit=escape(unit.name if unit else "—")),
        _("Phone: {phone}").format(phone=escape(phone_text(member.phone))),
        _("Language: {language}").format(language="Tiếng Việt" if member.language == "vi" else "English"),
        _("Your id: <code>{id}</code> (for ADMIN_IDS)").format(id=member.tg_user_id),
        "",
        _(
            "Also on Telegram or Zalo? “🔗 Link another app” (or /link) gives a code to use the bot there as the same "
            "member."
        ),
    ]
    await message.answer("\n".join(lines), reply_markup=keyboards.profile())


async def profile(message: Message, state: FSMContext, db: Database, member: Member | None) -> None:
    if member is None:  # whoever sets the bot up needs their id before registering
        user_id = message.from_user.id if message.from_user else 0
        await message.answer(_("You are not registered yet. Send /start first.") + "\n"
                             + _("Your id: <code>{id}</code> (for ADMIN_IDS)").format(id=user_id))  # fmt: skip
        return
    await state.set_state(None)
    await show_profile(message, db, member)


async def change(query: CallbackQuery, callback_data: ProfileCb, state: FSMContext, db: Database,
                 member: Member | None) -> None:  # fmt: skip
    await query.answer()
    if member is None or not isinstance(query.message, Message):
        return
    message = query.message
    item = callback_data.item
    if item is ProfileItem.LINK:  # a change asked for before is dropped: what comes next is for the other app
        await state.set_state(None)
        await send_code(message, db, member)
    elif item is ProfileItem.LANGUAGE:
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
            _(
                "Type your phone number, e.g. 0912 345 678, or share it with the button. The support team may "
                "call you about your initiatives."
            ),
            reply_markup=keyboards.share_phone(bool(member.phone)),
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(profile, Command("profile"))
    router.callback_query.register(change, ProfileCb.filter())
    return router
