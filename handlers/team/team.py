"""/team in a support group: list the team, add or remove people (reply to them, @username, or pick from the
unit's registered members). Only officers of the unit (or above) and bot admins may change it."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.team.groups import manager_or_refuse, may_manage
from handlers.ui.callbacks import TeamCb
from handlers.ui.keyboards import button, grid, markup
from storage.db import Database
from storage.groups import group_of_chat
from storage.members import get_member, member_by_id, member_by_username, members_of_unit
from storage.models import Member, Unit
from storage.roles import OFFICER, SUPPORT, ancestors, grant, holders, revoke
from storage.units import get_unit, unit_by_code


async def bound_unit(db: Database, chat_id: int) -> Unit | None:
    group = await group_of_chat(db, chat_id)
    return await get_unit(db, group.unit_id) if group else None


async def team(message: Message, command: CommandObject, db: Database, member: Member | None,
               admins: frozenset[int]) -> None:  # fmt: skip
    unit = await bound_unit(db, message.chat.id)
    if unit is None:
        await message.reply(
            _("This group is not bound to any unit. An officer can bind it with /bind and the unit code.")
        )
        return
    words = (command.args or "").split()
    if not words:
        support = await holders(db, [unit.id or 0], SUPPORT)
        officers = await holders(db, await ancestors(db, unit.id or 0), OFFICER)  # officers above act here too
        names = lambda people: ", ".join(escape(p.full_name) for p in people) or "—"  # noqa: E731
        await message.reply(_("Support team of {unit}: {support}\nOfficers: {officers}").format(
            unit=escape(unit.name), support=names(support), officers=names(officers)))  # fmt: skip
        return
    if words[0] not in ("add", "remove"):
        await message.reply(_("Send /team to see the team, or /team add and /team remove to change it."))
        return
    if not await manager_or_refuse(message, db, admins, member, unit):
        return
    target = await pick_member(db, message, words[1:])
    if target is None and words[0] == "add" and len(words) == 1:
        await offer_members(message, db, unit)
        return
    if target is None:
        await message.reply(_("Reply to the person's message, or write their @username. They must have registered "
                              "with the bot first (/start in a private chat)."))  # fmt: skip
        return
    role = OFFICER if words[-1] == "officer" else SUPPORT
    await change_role(message, db, member, unit, target, role, add=words[0] == "add")


async def change_role(message: Message, db: Database, member: Member | None, unit: Unit, target: Member, role: str,
                      *, add: bool) -> None:  # fmt: skip
    change = grant if add else revoke
    done = await change(
        db, member_id=target.id or 0, unit_id=unit.id or 0, role=role, by_id=member.id if member else None
    )
    if not done:
        text = _("Nothing changed.")
    elif not add:
        text = _("{name} no longer has this role.")
    elif role == SUPPORT:
        text = _("{name} is now in the support team.")
    else:
        text = _("{name} is now an officer of this unit.")
    await message.reply(text.format(name=escape(target.full_name)))


async def pick_member(db: Database, message: Message, words: list[str]) -> Member | None:
    if message.reply_to_message and message.reply_to_message.from_user:
        return await get_member(db, message.reply_to_message.from_user.id)
    handle = next((w for w in words if w.startswith("@")), None)
    return await member_by_username(db, handle[1:]) if handle else None


async def offer_members(message: Message, db: Database, unit: Unit) -> None:
    people = await members_of_unit(db, unit.id or 0, limit=30)
    if not people:
        await message.reply(_("No one from {unit} has registered with the bot yet.").format(unit=escape(unit.name)))
        return
    buttons = [button(p.full_name[:40], TeamCb(member=p.id or 0)) for p in people]
    await message.reply(_("Who joins the support team of {unit}?").format(unit=escape(unit.name)),
                        reply_markup=markup(grid(buttons, 2)))  # fmt: skip


async def picked(query: CallbackQuery, callback_data: TeamCb, db: Database, member: Member | None,
                 admins: frozenset[int]) -> None:  # fmt: skip
    message = query.message
    unit = await bound_unit(db, message.chat.id) if isinstance(message, Message) else None
    target = await member_by_id(db, callback_data.member)
    if not isinstance(message, Message) or unit is None or target is None or target.unit_id != unit.id:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    if not await may_manage(db, admins, member, query.from_user.id, unit):
        await query.answer(_("Only an officer of {unit} or of a unit above it can do this.").format(unit=unit.name),
                           show_alert=True)  # fmt: skip
        return
    await query.answer()
    await change_role(message, db, member, unit, target, SUPPORT, add=True)


async def role(message: Message, command: CommandObject, db: Database, member: Member | None,
               admins: frozenset[int]) -> None:  # fmt: skip
    """/role add|remove officer|support @username UNIT-CODE, in a private chat, for any unit the sender manages.
    The person may be named by the id /profile shows them instead (Zalo has no @usernames)."""
    words = (command.args or "").split()
    who = next((w for w in words[2:] if w.startswith("@") or (w.isdigit() and len(w) <= 20)), None)
    rest = [w for w in words if w != who]
    if len(rest) != 3 or rest[0] not in ("add", "remove") or rest[1] not in (OFFICER, SUPPORT) or who is None:
        usage = _("Send /role add or /role remove, then officer or support, the person's @username (or the id their "
                  "/profile shows) and the unit code, e.g. /role add officer @hoa_ldld LS.")  # fmt: skip
        await message.answer(usage)
        return
    unit = await unit_by_code(db, rest[2])
    target = await member_by_username(db, who[1:]) if who.startswith("@") else await get_member(db, int(who))
    if unit is None:
        await message.answer(_("There is no unit with the code {code}.").format(code=escape(rest[2])))
        return
    if target is None:
        await message.answer(_("No one with this @username or id has registered with the bot. They must open the bot "
                               "and send /start first; then send the command again."))  # fmt: skip
        return
    if await manager_or_refuse(message, db, admins, member, unit):
        await change_role(message, db, member, unit, target, rest[1], add=rest[0] == "add")


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(team, Command("team"), F.chat.type.in_({"group", "supergroup"}))
    router.message.register(role, Command("role"), F.chat.type == "private")
    router.callback_query.register(picked, TeamCb.filter())
    return router
