"""/invite [unit code] [days]: a link and a printable QR code that start the bot already placed in a unit;
/invites lists the active ones with a button to revoke each."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.settings import Settings
from channels.addresses import is_zalo
from forms.formats import format_count, format_date
from handlers.officer.progress import may_see, officer_unit
from handlers.ui.callbacks import InviteCb
from handlers.ui.keyboards import button, markup
from reports.qr import qr_png
from storage.db import Database
from storage.invites import active_invites, create_invite, revoke_invite
from storage.models import Invite, Member
from storage.roles import officer_units
from storage.units import get_unit

MAX_DAYS = 365


def parse_days(word: str) -> int | None:
    """A number of days written with the digits 0-9 only, from 1 to MAX_DAYS; otherwise None."""
    if not (word.isascii() and word.isdigit()) or len(word) > 3:
        return None
    days = int(word)
    return days if 1 <= days <= MAX_DAYS else None


async def link(bot: Bot, invite: Invite) -> str:
    return f"https://t.me/{(await bot.me()).username}?start={invite.token}"


async def invite(message: Message, command: CommandObject, bot: Bot, db: Database, member: Member | None,
                 admins: frozenset[int], tz: ZoneInfo, settings: Settings) -> None:  # fmt: skip
    words = (command.args or "").split()
    usage = _(
        "Send /invite followed by a unit code and, if it should expire, a number of days, e.g. /invite LS-NUOC 30."
    )
    days = None
    if len(words) == 2 or (len(words) == 1 and words[0].isdecimal()):
        days = parse_days(words.pop())
        if days is None:
            await message.answer(
                _("The number of days must be a whole number from 1 to {max}, e.g. /invite LS-NUOC 30.").format(
                    max=MAX_DAYS
                )
            )
            return
    if len(words) > 1:
        await message.answer(usage)
        return
    unit_id = await officer_unit(message, db, member, admins, words[0] if words else None, usage)
    if unit_id is None:
        return
    unit = await get_unit(db, unit_id)
    assert unit is not None
    created = await create_invite(db, unit_id=unit_id, by_id=member.id if member else None, days=days)
    until = (_("valid until {date}").format(date=format_date(created.expires_at.astimezone(tz).date(),
             get_i18n().current_locale)) if created.expires_at else _("no expiry"))  # fmt: skip
    on_zalo = _("On Zalo, members send this to the bot: /start {token}").format(token=created.token)
    if is_zalo(message.chat.id):  # a Zalo bot has no link that opens it with a code: the code is typed
        await message.answer(_("Invite code for {unit} ({until}).").format(unit=escape(unit.name), until=until)
                             + "\n" + on_zalo + "\n" + _("/invites lists the codes and revokes them."))  # fmt: skip
        return
    url = await link(bot, created)
    caption = _("Invite link for {unit} ({until}):\n{url}\nPrint the QR code for the notice board. /invites lists the "
                "links and revokes them.").format(unit=escape(unit.name), until=until, url=url)  # fmt: skip
    if settings.zalo_on:
        caption += "\n" + on_zalo
    await message.answer_photo(BufferedInputFile(qr_png(url), filename=f"invite-{unit.code}.png"), caption=caption)


async def invites(message: Message, bot: Bot, db: Database, member: Member | None, admins: frozenset[int]) -> None:
    is_admin = message.from_user is not None and message.from_user.id in admins
    units = None if is_admin else await officer_units(db, member.id) if member else []
    items = await active_invites(db, units)
    if not items:
        await message.answer(_("There are no active invite links. Create one with /invite."))
        return
    lines, buttons = ["<b>" + _("Active invite links") + "</b>"], []
    for n, item in enumerate(items, start=1):
        unit = await get_unit(db, item.unit_id)
        used = ngettext("{n}. {unit}: {url} — used {uses} time", "{n}. {unit}: {url} — used {uses} times", item.uses)
        lines.append(used.format(n=n, unit=escape(unit.name if unit else "—"), url=await link(bot, item),
                                 uses=format_count(item.uses, get_i18n().current_locale)))  # fmt: skip
        buttons.append([button(_("Revoke {n}").format(n=n), InviteCb(invite=item.id or 0))])
    await message.answer("\n".join(lines), reply_markup=markup(buttons))


async def revoke(query: CallbackQuery, callback_data: InviteCb, db: Database, member: Member | None,
                 admins: frozenset[int]) -> None:  # fmt: skip
    async with db.session() as session:
        item = await session.get(Invite, callback_data.invite)
    if item is None or not await may_see(db, admins, member, query.from_user.id, item.unit_id):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    done = await revoke_invite(db, item.id or 0, member.id if member else None)
    await query.answer(_("The link is revoked.") if done else _("This link was already revoked."), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(invite, Command("invite"))
    router.message.register(invites, Command("invites"))
    router.callback_query.register(revoke, InviteCb.filter())
    return router
