"""Support groups: /bind and /unbind a unit, /queue, and following a group that becomes a supergroup."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n, get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from forms.render import pack
from handlers.delivery import Outbox
from storage.db import Database
from storage.groups import bind, group_of_chat, migrate_chat, unbind
from storage.models import Member, Unit
from storage.review import queue
from storage.roles import OFFICER, roles_over
from storage.units import get_unit, unit_by_code


async def may_manage(db: Database, admins: frozenset[int], member: Member | None, user_id: int, unit: Unit) -> bool:
    """Bot admins, and officers of the unit or of a unit above it."""
    return user_id in admins or (member is not None and OFFICER in await roles_over(db, member.id, unit.id or 0))


async def manager_or_refuse(message: Message, db: Database, admins: frozenset[int], member: Member | None,
                            unit: Unit) -> bool:  # fmt: skip
    """True when the sender may manage the unit's group; otherwise they are told why not."""
    if await may_manage(db, admins, member, message.from_user.id if message.from_user else 0, unit):
        return True
    await message.reply(
        _("Only an officer of {unit} or of a unit above it can do this.").format(unit=escape(unit.name))
    )
    return False


async def is_group_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    status = (await bot.get_chat_member(chat_id, user_id)).status
    return str(getattr(status, "value", status)) in ("creator", "administrator")


async def bind_group(message: Message, command: CommandObject, bot: Bot, db: Database, member: Member | None,
                     admins: frozenset[int], i18n: I18n, outbox: Outbox) -> None:  # fmt: skip
    args = (command.args or "").split()
    user_id = message.from_user.id if message.from_user else 0
    unit = await unit_by_code(db, args[0]) if args else None
    if unit is None:
        await message.reply(_("Send /bind followed by the unit code, e.g. /bind LS-NUOC."))
        return
    if not await manager_or_refuse(message, db, admins, member, unit):
        return
    current = await group_of_chat(db, message.chat.id)
    bound_to = await get_unit(db, current.unit_id) if current and current.unit_id != unit.id else None
    if bound_to is not None and not await manager_or_refuse(message, db, admins, member, bound_to):
        return  # moving a group away from its unit needs the right to manage that unit too
    if not await is_group_admin(bot, message.chat.id, user_id):
        await message.reply(_("Only an administrator of this group can bind it."))
        return
    language = args[1] if len(args) > 1 and args[1] in i18n.available_locales else get_i18n().current_locale
    if not await bind(db, chat_id=message.chat.id, unit_id=unit.id or 0, title=message.chat.title or "",
                      language=language, by_id=member.id if member else None):  # fmt: skip
        await message.reply(
            _("{unit} already has a support group. Send /unbind there first.").format(unit=escape(unit.name))
        )
        return
    with i18n.use_locale(language):
        await message.reply(_("This group is now the support group of {unit}. Initiatives from it and the units below "
                              "it will be posted here. Add the team: reply to a member's message with /team add.")
                            .format(unit=escape(unit.name)))  # fmt: skip
    outbox.wake()  # the cards of whatever already waited without one, paced, from the sender's loop


async def unbind_group(message: Message, bot: Bot, db: Database, member: Member | None, admins: frozenset[int],
                       i18n: I18n) -> None:  # fmt: skip
    group = await group_of_chat(db, message.chat.id)
    unit = await get_unit(db, group.unit_id) if group else None
    user_id = message.from_user.id if message.from_user else 0
    if group is None or unit is None:
        await message.reply(_("This group is not bound to any unit."))
    elif not await may_manage(db, admins, member, user_id, unit) or not await is_group_admin(
        bot, message.chat.id, user_id
    ):
        await message.reply(
            _("Only an officer of {unit} or of a unit above it can do this.").format(unit=escape(unit.name))
        )
    else:
        await unbind(db, chat_id=message.chat.id, by_id=member.id if member else None)
        with i18n.use_locale(group.language):
            text = _("This group is no longer the support group of {unit}.").format(unit=escape(unit.name))
        await message.reply(text)


def age_text(number: str, title: str, days: int, taken_by: str | None) -> str:
    """One waiting item: how long it has waited, and who took it if anyone did."""
    if days < 1:
        text = _("{number} · {title} — sent today").format(number=number, title=title)
    else:
        text = ngettext("{number} · {title} — waiting {days} day", "{number} · {title} — waiting {days} days",
                        days).format(number=number, title=title, days=days)  # fmt: skip
    if taken_by:
        text += ", " + _("taken by {who}").format(who=taken_by)
    return escape(text)


async def waiting(message: Message, db: Database, i18n: I18n, tz: ZoneInfo) -> None:
    group = await group_of_chat(db, message.chat.id)
    if group is None:
        await message.reply(
            _("This group is not bound to any unit. An officer can bind it with /bind and the unit code.")
        )
        return
    items = await queue(db, message.chat.id)
    now = datetime.now(tz)
    with i18n.use_locale(group.language):  # a group reads its own language, whoever asks
        lines = ["<b>" + _("Waiting for review") + "</b>"] if items else [_("Nothing waits for review.")]
        lines += [age_text(item.number, item.title, (now - item.submitted_at).days, item.taken_by) for item in items]
    for n, chunk in enumerate(pack(lines)):
        await (message.reply(chunk) if n == 0 else message.answer(chunk))


async def migrated(message: Message, db: Database) -> None:
    if message.migrate_to_chat_id:
        await migrate_chat(db, old_chat_id=message.chat.id, new_chat_id=message.migrate_to_chat_id)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type.in_({"group", "supergroup"}))
    router.message.register(migrated, F.migrate_to_chat_id)
    router.message.register(bind_group, Command("bind"))
    router.message.register(unbind_group, Command("unbind"))
    router.message.register(waiting, Command("queue"))
    return router
