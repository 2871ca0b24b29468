"""/top [unit code] [phase code]: the best authors and units for awards (khen thưởng), within the officer's subtree."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlmodel import select

from forms.formats import format_count, format_money
from handlers.officer.progress import counting, officer_unit
from storage.db import Database
from storage.models import Member, Phase
from storage.progress import child_lines, top_authors
from storage.units import get_unit, phase_codes

MEDALS = ("🥇", "🥈", "🥉")


def ranked(rank: int, name: str, count: int, benefit: int, locale: str) -> str:
    """One line of the ranking: a medal for the first three, a number after them."""
    medal = MEDALS[rank - 1] if rank <= len(MEDALS) else f"{rank}."
    text = ngettext("{name}: {count} initiative, {money} a year", "{name}: {count} initiatives, {money} a year", count)
    return f"{medal} " + escape(text.format(name=name, count=format_count(count, locale),
                                            money=format_money(benefit, locale, exact=False)))  # fmt: skip


async def phase_name(db: Database, code: str) -> str:
    async with db.session() as session:
        return (await session.exec(select(Phase.name).where(Phase.code == code))).first() or code


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
    scope = await phase_name(db, phase) if phase else _("whole programme")
    title = _("Best of {unit} ({scope})").format(unit=unit.name, scope=scope)
    lines = ["<b>" + escape(title) + "</b>", "<i>" + escape(counting(db.count_basis)) + "</i>",
             "<i>" + escape(_("Money benefit: the support team's figure where it checked one, else the author's."))
             + "</i>", "",
             "<b>" + escape(_("Authors")) + "</b>"]  # fmt: skip
    authors = await top_authors(db, unit_id, phase)
    lines += [ranked(rank, name, count, benefit, locale) for rank, (name, count, benefit) in enumerate(authors, 1)]
    if not authors:
        lines.append(escape(_("No counted initiative yet.")))
    children = [c for c in await child_lines(db, unit_id, phase) if c.counts.confirmed > 0]  # no medal for none
    if children:
        lines += ["", "<b>" + escape(_("Units")) + "</b>"]
        best = sorted(children, key=lambda c: (-c.counts.confirmed, -c.counts.benefit, c.name))[:10]
        lines += [ranked(rank, c.name, c.counts.confirmed, c.counts.benefit, locale) for rank, c in enumerate(best, 1)]
    await message.answer("\n".join(lines))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(top, Command("top"))
    return router
