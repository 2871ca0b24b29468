"""/chart [unit code]: a picture of the units below against their quotas, and confirmed initiatives per week."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from forms.formats import format_count
from handlers.officer.progress import counting, officer_unit
from handlers.worker.formview import today
from reports.charts import progress_png
from storage.db import Database
from storage.models import Member
from storage.progress import confirmed_per_week, progress_for

MAX_BARS = 15


async def chart(message: Message, command: CommandObject, db: Database, member: Member | None, admins: frozenset[int],
                tz: ZoneInfo) -> None:  # fmt: skip
    unit_id = await officer_unit(
        message, db, member, admins, command.args, _("Send /chart followed by a unit code, e.g. /chart LS.")
    )
    if unit_id is None:
        return
    report = await progress_for(db, unit_id, today(tz))
    assert report is not None
    lines = [line for line in report.children if line.quota] or ([report.unit] if report.unit.quota else [])
    bars = [(line.name, line.percent or 0.0) for line in lines[:MAX_BARS]]
    labels = {"quota_line": _("quota (100%)"), "percent": _("% of quota"),
              "weekly": _("Counted initiatives per week"), "confirmed": _("counted")}  # fmt: skip
    confirmed = format_count(report.unit.counts.confirmed, get_i18n().current_locale)
    title = _("{unit}: {confirmed} counted").format(unit=report.unit.name, confirmed=confirmed)
    title += "\n" + counting(report.unit.counts.basis)
    png = await asyncio.to_thread(progress_png, title, bars, await confirmed_per_week(db, unit_id), labels)
    await message.answer_photo(BufferedInputFile(png, filename="progress.png"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(chart, Command("chart"))
    return router
