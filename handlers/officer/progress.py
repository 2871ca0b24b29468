"""/progress [unit code]: confirmed initiatives against the quota for the officer's subtree, paged by children."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from forms.errors import N_
from forms.formats import format_count, format_money, format_percent
from handlers.errors import suppress_harmless
from handlers.ui.callbacks import ProgressCb
from handlers.ui.keyboards import button, markup
from handlers.worker.formview import today
from storage.db import Database
from storage.models import Member
from storage.progress import Line, Report, progress_for
from storage.roles import OFFICER, officer_units, roles_over
from storage.units import unit_by_code

PAGE = 10
COUNTING = {
    "checked": N_("Counting: initiatives checked as valid by the support team"),
    "recognised": N_("Counting: initiatives recognised by their workplace"),
    "uploaded": N_("Counting: initiatives uploaded to the TLĐ system"),
}
COUNTED_HEADER = {"checked": N_("Checked as valid"), "recognised": N_("Recognised"),
                  "uploaded": N_("Uploaded to the TLĐ system")}  # fmt: skip


def counting(basis: str) -> str:
    """What the figures count (COUNT_TOWARD_QUOTA), in the reader's language."""
    return _(COUNTING[basis])


def benefit_basis(by_team: int, locale: str) -> list[str]:
    """Says that money totals take the support team's figure where it recorded one (/giatri), and for how many."""
    if not by_team:
        return []
    text = ngettext(
        "(the support team's figure for {count} initiative, the author's for the others)",
        "(the support team's figure for {count} initiatives, the authors' for the others)",
        by_team,
    )
    return ["<i>" + escape(text.format(count=format_count(by_team, locale))) + "</i>"]


def percent(line: Line, locale: str) -> str:
    return format_percent(line.percent or 0, locale) if line.quota else "—"


def score(line: Line, locale: str) -> dict[str, str]:
    quota = format_count(line.quota, locale) if line.quota else "—"
    return {"confirmed": format_count(line.counts.confirmed, locale), "quota": quota,
            "percent": percent(line, locale)}  # fmt: skip


def render(report: Report, page: int, locale: str) -> str:
    unit, n = report.unit, lambda v: format_count(v, locale)
    counts = unit.counts.by_status
    lines = [
        "<b>" + escape(_("Progress of {unit}").format(unit=unit.name)) + "</b>",
        escape(_("Counted: {confirmed} / quota {quota} ({percent})").format(**score(unit, locale))),
        "<i>" + escape(counting(unit.counts.basis)) + "</i>",
        escape(_("Checked as valid: {checked} · recognised: {recognised} · uploaded to the TLĐ system: {uploaded}")
               .format(checked=n(unit.counts.checked), recognised=n(counts.get("recognised", 0) + counts.get(
                   "uploaded", 0)), uploaded=n(counts.get("uploaded", 0)))),
        escape(_("Waiting: {waiting} · returned: {returned} · rejected: {rejected}").format(
            waiting=n(counts.get("submitted", 0) + counts.get("in_review", 0)),
            returned=n(counts.get("changes_requested", 0)), rejected=n(counts.get("rejected", 0)))),
        escape(_("Money benefit: {money} a year · {social} with a social benefit").format(
            money=format_money(unit.counts.benefit, locale, exact=False), social=n(unit.counts.social))),
        *benefit_basis(unit.counts.benefit_checked, locale),
        escape(_("{members} registered members · {authors} authors of initiatives sent for review").format(
            members=n(report.participants[0]), authors=n(report.participants[1]))),
    ]  # fmt: skip
    if report.phase and report.in_phase:
        phase = _("{phase}: {confirmed} / {quota} ({percent})").format(
            phase=report.phase[1], **score(report.in_phase, locale)
        )
        lines.append(escape(phase))
    if report.weekly_pace is not None:
        lines.append(escape(_("Needed to reach the quota in time: {pace} a week.").format(pace=n(report.weekly_pace))))
    if report.rank is not None:
        scope = _("in its emulation bloc") if report.by_bloc else _("among its sibling units")
        lines.append(
            escape(
                _("Rank {rank} of {total} {scope}.").format(rank=n(report.rank), total=n(report.out_of), scope=scope)
            )
        )
    if report.children:
        lines.append("\n<b>" + escape(_("Units below, by % of quota")) + "</b>")
        for child in report.children[page * PAGE : (page + 1) * PAGE]:
            flag = "⚪" if child.counts.confirmed == 0 else ("🔴" if (child.percent or 0) < 50 else "🟢")
            lines.append(
                f"{flag} {escape(child.name)}: " + "{confirmed}/{quota} ({percent})".format(**score(child, locale))
            )
        under = sum(1 for c in report.children if c.quota and (c.percent or 0) < 50)
        none = sum(1 for c in report.children if c.counts.confirmed == 0)
        lines.append(escape(
            ngettext("{count} unit is under 50% of its quota.", "{count} units are under 50% of their quota.", under)
            .format(count=n(under)) + " " + ngettext("{count} unit has no counted initiative yet.",
                                                      "{count} units have no counted initiative yet.", none)
            .format(count=n(none))))  # fmt: skip
    return "\n".join(lines)


def pages(report: Report, page: int) -> InlineKeyboardMarkup | None:
    last = (len(report.children) - 1) // PAGE
    if last <= 0:
        return None
    row = []
    if page > 0:
        row.append(button("◀️", ProgressCb(unit=report.unit.unit_id, page=page - 1)))
    row.append(button(f"{page + 1}/{last + 1}", ProgressCb(unit=report.unit.unit_id, page=page)))
    if page < last:
        row.append(button("▶️", ProgressCb(unit=report.unit.unit_id, page=page + 1)))
    return markup([row])


async def may_see(db: Database, admins: frozenset[int], member: Member | None, user_id: int, unit_id: int) -> bool:
    return user_id in admins or (member is not None and OFFICER in await roles_over(db, member.id, unit_id))


async def chosen_unit(db: Database, member: Member | None, code: str | None) -> int | None:
    """The unit named by code, or else the highest unit the member is an officer of."""
    if code:
        unit = await unit_by_code(db, code)
        return unit.id if unit else None
    own = await officer_units(db, member.id) if member else []
    return own[0] if own else None


async def officer_unit(message: Message, db: Database, member: Member | None, admins: frozenset[int],
                       code: str | None, usage: str) -> int | None:  # fmt: skip
    """The unit an officer's command is about, once it is known they may see it; otherwise they are told why."""
    unit_id = await chosen_unit(db, member, code)
    if unit_id is None:
        await message.answer(usage)
        return None
    if not await may_see(db, admins, member, message.from_user.id if message.from_user else 0, unit_id):
        await message.answer(
            _("You can only see the figures of the units you are an officer of, and those below them.")
        )
        return None
    return unit_id


async def progress(message: Message, command: CommandObject, db: Database, member: Member | None,
                   admins: frozenset[int], tz: ZoneInfo) -> None:  # fmt: skip
    usage = _("Send /progress followed by a unit code, e.g. /progress LS.")
    unit_id = await officer_unit(message, db, member, admins, command.args, usage)
    if unit_id is None:
        return
    report = await progress_for(db, unit_id, today(tz))
    assert report is not None
    await message.answer(render(report, 0, get_i18n().current_locale), reply_markup=pages(report, 0))


async def turn(query: CallbackQuery, callback_data: ProgressCb, db: Database, member: Member | None,
               admins: frozenset[int], tz: ZoneInfo) -> None:  # fmt: skip
    if not isinstance(query.message, Message) or not await may_see(db, admins, member, query.from_user.id,
                                                                    callback_data.unit):  # fmt: skip
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    report = await progress_for(db, callback_data.unit, today(tz))
    await query.answer()
    if report is not None:
        page = min(max(callback_data.page, 0), max(0, (len(report.children) - 1) // PAGE))
        text = render(report, page, get_i18n().current_locale)
        with suppress_harmless():  # the current page's button shows the same page again
            await query.message.edit_text(text, reply_markup=pages(report, page))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(progress, Command("progress"))
    router.callback_query.register(turn, ProgressCb.filter())
    return router
