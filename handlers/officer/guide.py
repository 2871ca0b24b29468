"""/guide UNIT-CODE URL: a unit's own guide or video, shown to its members in /help and when they start /new.
Set by an officer of the unit or of a unit above it (or a bot administrator); ``/guide UNIT-CODE off`` removes it."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from forms.links import web_address
from forms.text import fold
from handlers.officer.progress import chosen_unit, may_see
from storage.db import Database
from storage.guides import Guide, guide_for, set_guide
from storage.models import Member
from storage.units import get_unit

OFF = ("off", "-", "xoa", "remove")  # compared folded: "xóa", "XÓA" and a decomposed (NFD) "xóa" too


def guide_line(found: Guide) -> str:
    return _("The guide of {unit}: {url}").format(unit=escape(found.unit), url=escape(found.url))


def usage() -> str:
    return _(
        "Send /guide followed by a unit code and the address of its guide or video, e.g. "
        "/guide LS-NUOC https://example.org/huong-dan. Members of the unit and of the units below it see it in "
        "/help and when they start /new. /guide LS-NUOC off removes it."
    )


async def current(message: Message, db: Database, member: Member | None) -> None:
    found = await guide_for(db, member.unit_id if member else None)
    shown = guide_line(found) if found else _("Your unit has no guide yet.")
    await message.answer(shown + "\n\n" + usage())


async def guide(message: Message, command: CommandObject, db: Database, member: Member | None,
                admins: frozenset[int]) -> None:  # fmt: skip
    words = (command.args or "").split()
    if len(words) not in (1, 2):
        await current(message, db, member)
        return
    code, target = (None, words[0]) if len(words) == 1 else (words[0], words[1])
    off = fold(target) in OFF
    url = None if off else web_address(target)
    if url is None and not off:
        await message.answer(_("This is not a web address: it must start with http:// or https://, e.g. "
                               "https://example.org/huong-dan."))  # fmt: skip
        return
    unit_id = await chosen_unit(db, member, code)
    unit = await get_unit(db, unit_id)
    if unit is None or unit.id is None:
        await message.answer(_("No unit has the code {code}.").format(code=escape(code)) if code else usage())
        return
    if not await may_see(db, admins, member, message.from_user.id if message.from_user else 0, unit.id):
        await message.answer(_("Only an officer of this unit or of a unit above it can set its guide."))
        return
    await set_guide(db, unit_id=unit.id, url=url, by_id=member.id if member else None)
    done = (_("The guide of {unit} is now {url}. Its members see it in /help and when they start /new.")
            if url else _("The guide of {unit} is removed."))  # fmt: skip
    await message.answer(done.format(unit=escape(unit.name), url=escape(url or "")))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(guide, Command("guide"))
    return router
