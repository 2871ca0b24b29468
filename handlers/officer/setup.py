"""A bot started without units cannot register anyone: the first bot administrator who writes is told what to run."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from storage.db import Database
from storage.unit_files import count_units


async def no_units_yet(message: Message, db: Database, admins: frozenset[int]) -> bool:
    return message.from_user is not None and message.from_user.id in admins and not await count_units(db)


async def tell_admin(message: Message) -> None:
    await message.answer(
        _(
            "No union units are loaded yet, so nobody can register. On the server, run "
            "<code>sangkien units import FILE</code> (CSV or XLSX: code,name,parent_code) or, to try the bot, "
            "<code>sangkien demo load</code>; then send /start again."
        )
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(tell_admin, no_units_yet)
    return router
