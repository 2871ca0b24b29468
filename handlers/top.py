"""/top [unit code] [phase code]: the best authors and units for awards (khen thưởng), within the officer's subtree."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_currency

from handlers.progress import officer_unit
from storage.db import Database
from storage.models import Member
from storage.progress import child_lines, top_authors
from storage.units import get_unit, phase_codes

MEDALS = ("🥇", "🥈", "🥉")


async def top(message: Message, command: CommandObject, db: Database, member: Member | None,
              admins: frozenset[int]) -> None:  # fmt: skip
    words = (command.args or "").split()
    phase = words[1].upper() if len(words) > 1 else None
    usage = _("Send /top followed by a unit code and, if you like, a phase code, e.g. /top LS GD1.")
    unit_id = await officer_unit(message, db, member, admins, words[0] if words else None, usage)
    if unit_id is None:
        return
    if len(words) > 2:
        await message.answer(escape(usage))
        return
    known = await phase_codes(db) if phase is not None else []
    if phase is not None and phase not in {code.upper(): code for code in known}:
        refusal = (
            _("Unknown phase “{phase}”. The phases are: {codes}.").format(phase=phase, codes=", ".join(known))
            if known
            else _("Unknown phase “{phase}”: no programme phases are loaded yet.").format(phase=phase)
        )
        await message.answer(escape(refusal))
        return
    phase = next((code for code in known if code.upper() == phase), None)
    unit, locale = await get_unit(db, unit_id), get_i18n().current_locale
    assert unit is not None
    money = lambda v: format_currency(v, "VND", locale=locale)  # noqa: E731
    title = _("Best of {unit} ({scope})").format(unit=unit.name, scope=phase or _("whole programme"))
    lines = ["<b>" + escape(title) + "</b>", "", "<b>" + escape(_("Authors")) + "</b>"]
    authors = await top_authors(db, unit_id, phase)
    for rank, (name, count, benefit) in enumerate(authors, start=1):
        medal = MEDALS[rank - 1] if rank <= len(MEDALS) else f"{rank}."
        lines.append(f"{medal} " + escape(_("{name}: {count} initiative(s), {money} a year").format(
            name=name, count=count, money=money(benefit))))  # fmt: skip
    if not authors:
        lines.append(escape(_("No confirmed initiative yet.")))
    children = await child_lines(db, unit_id, phase)
    if children:
        lines += ["", "<b>" + escape(_("Units")) + "</b>"]
        best = sorted(children, key=lambda c: (-c.counts.confirmed, -c.counts.benefit, c.name))[:10]
        for rank, child in enumerate(best, start=1):
            medal = MEDALS[rank - 1] if rank <= len(MEDALS) else f"{rank}."
            lines.append(f"{medal} " + escape(_("{name}: {count} initiative(s), {money} a year").format(
                name=child.name, count=child.counts.confirmed, money=money(child.counts.benefit))))  # fmt: skip
    await message.answer("\n".join(lines))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(top, Command("top"))
    return router
