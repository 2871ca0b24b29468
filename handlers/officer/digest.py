"""Weekly messages: a digest of progress to officers who asked for it (/digest on), and a nudge to the support
groups of units under half their quota. The scheduler calls ``send_weekly`` on Monday mornings."""

from __future__ import annotations

import logging
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from forms.formats import format_count, format_percent
from handlers.officer.progress import counting, render
from handlers.team.cards import send_private
from storage.db import Database
from storage.groups import mark_unreachable, reachable_groups
from storage.members import digest_readers, update_member
from storage.models import Member
from storage.progress import progress_for
from storage.roles import officer_units

log = logging.getLogger(__name__)


async def digest(message: Message, command: CommandObject, db: Database, member: Member | None) -> None:
    if member is None or not await officer_units(db, member.id):
        await message.answer(_("The weekly digest is for union officers."))
        return
    wanted = (command.args or "").strip().lower()
    if wanted not in ("on", "off"):
        await message.answer(_("Send /digest on to get the progress of your unit every Monday, /digest off to stop."))
        return
    await update_member(db, member, weekly_digest=wanted == "on")
    await message.answer(_("You will get the weekly digest every Monday.") if wanted == "on"
                         else _("The weekly digest is off."))  # fmt: skip


async def send_weekly(bot: Bot, db: Database, i18n: I18n, tz: ZoneInfo, now: datetime | None = None) -> tuple[int, int]:
    """Send the digests and the nudges; returns how many of each went out."""
    today = (now or datetime.now(tz)).date()
    digests = nudges = 0
    with i18n.context():  # called by the scheduler, outside any update
        for reader in await digest_readers(db):
            units = await officer_units(db, reader.id)
            report = await progress_for(db, units[0], today) if units else None
            if report is None:
                continue
            with i18n.use_locale(reader.language):
                text = "📊 " + escape(_("Weekly digest")) + "\n" + render(report, 0, reader.language)
            digests += await send_private(bot, reader, text, db=db)
        for group in await reachable_groups(db):
            report = await progress_for(db, group.unit_id, today)
            line = report.unit if report else None
            if line is None or not line.quota or (line.percent or 0) >= 50:
                continue
            waiting = line.counts.by_status.get("submitted", 0) + line.counts.by_status.get("in_review", 0)
            with i18n.use_locale(group.language):
                pace = report.weekly_pace if report else None
                text = nudge_text(line.name, line.percent or 0, line.counts.confirmed, line.quota, waiting, pace,
                                  group.language, line.counts.basis)  # fmt: skip
            try:
                await bot.send_message(group.chat_id, "📣 " + escape(text))
                nudges += 1
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                log.warning("support group %s cannot be reached: %s", group.chat_id, exc)
                await mark_unreachable(db, group.chat_id)
    return digests, nudges


def nudge_text(unit: str, percent: float, confirmed: int, quota: int, waiting: int, pace: int | None,
               locale: str, basis: str = "recognised") -> str:  # fmt: skip
    """The weekly nudge to a support group whose unit is under half its quota."""
    text = _("{unit} is at {percent} of its quota ({confirmed}/{quota}).").format(
        unit=unit, percent=format_percent(percent, locale), confirmed=format_count(confirmed, locale),
        quota=format_count(quota, locale))  # fmt: skip
    text += " " + ngettext("{count} initiative waits for review.", "{count} initiatives wait for review.",
                           waiting).format(count=format_count(waiting, locale))  # fmt: skip
    if pace:
        text += " " + _("About {pace} more a week are needed.").format(pace=format_count(pace, locale))
    text += " (" + counting(basis) + ")"
    return text


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(digest, Command("digest"))
    return router
