"""Daily reminders to a support group of what has waited too long (off until an officer sets an hour)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from forms.render import pack
from handlers.team.groups import age_text, manager_or_refuse
from storage.db import Database
from storage.groups import due_for_reminder, group_of_chat, mark_unreachable, set_reminder
from storage.models import Member
from storage.review import queue
from storage.units import get_unit


async def remind(message: Message, command: CommandObject, db: Database, member: Member | None,
                 admins: frozenset[int]) -> None:  # fmt: skip
    group = await group_of_chat(db, message.chat.id)
    unit = await get_unit(db, group.unit_id) if group else None
    if group is None or unit is None:
        await message.reply(_("This group is not bound to any unit."))
        return
    if not await manager_or_refuse(message, db, admins, member, unit):
        return
    words = (command.args or "").split()
    by_id = member.id if member else None
    if words == ["off"]:
        await set_reminder(db, chat_id=message.chat.id, hour=None, days=group.reminder_days, by_id=by_id)
        await message.reply(_("Daily reminders are off."))
        return
    try:
        hour, days = int(words[0]), int(words[1]) if len(words) > 1 else group.reminder_days
        if not (0 <= hour <= 23 and 1 <= days <= 365):
            raise ValueError
    except (ValueError, IndexError):
        await message.reply(_("Send /remind HOUR [DAYS], e.g. /remind 8 3 for 8 o'clock every day, listing what has "
                              "waited more than 3 days; /remind off stops it."))  # fmt: skip
        return
    await set_reminder(db, chat_id=message.chat.id, hour=hour, days=days, by_id=by_id)
    await message.reply(ngettext("Every day at {hour}:00 I will list what has waited more than {days} day.",
                                 "Every day at {hour}:00 I will list what has waited more than {days} days.",
                                 days).format(hour=hour, days=days))  # fmt: skip


async def send_reminders(bot: Bot, db: Database, i18n: I18n, tz: ZoneInfo, now: datetime | None = None) -> int:
    """Post the reminder to every group due this hour; returns how many were posted."""
    now = now or datetime.now(tz)
    posted = 0
    for group in await due_for_reminder(db, now.hour):
        late = [
            item for item in await queue(db, group.chat_id) if (now - item.submitted_at).days >= group.reminder_days
        ]
        if not late:
            continue
        with i18n.context(), i18n.use_locale(group.language):  # called by the scheduler, outside any update
            days = group.reminder_days
            lines = [
                "⏰ "
                + escape(
                    ngettext(
                        "These have waited more than {days} day:", "These have waited more than {days} days:", days
                    ).format(days=days)
                )
            ]
            lines += [age_text(item.number, item.title, (now - item.submitted_at).days, None) for item in late]
        lines = pack(lines)
        try:
            for chunk in lines:
                await bot.send_message(group.chat_id, chunk)
        except (TelegramForbiddenError, TelegramBadRequest):
            await mark_unreachable(db, group.chat_id)
            continue
        posted += 1
    return posted


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type.in_({"group", "supergroup"}))
    router.message.register(remind, Command("remind"))
    return router
