"""/invite [unit code] [days]: a link and a printable QR code that start the bot already placed in a unit;
/invites lists the active ones with a button to revoke each.

Each channel gets what its people can use: on Telegram the t.me link (its QR code) and, when the app has a Zalo bot
too, the command to send there; on Zalo the command "/start CODE" (its QR code holds that text) and, when the app
has a Telegram bot too, the t.me link."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from channels.addresses import is_zalo
from channels.routing import bot_of
from forms.formats import format_count, format_date
from handlers.officer.progress import may_see, officer_unit
from handlers.ui.callbacks import InviteCb
from handlers.ui.keyboards import button, markup
from reports.qr import qr_png
from storage.db import Database
from storage.invites import active_invites, create_invite, revoke_invite, shown_code
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


async def telegram_link(bot: Bot, token: str) -> str | None:
    """The t.me link that opens the app's Telegram bot with the code; None when the app has no Telegram bot (the
    Zalo bot's own account name makes no link: Zalo has none that opens a bot with a code)."""
    telegram = bot_of(bot, "telegram")
    return None if telegram is None else f"https://t.me/{(await telegram.me()).username}?start={token}"


async def zalo_line(bot: Bot, token: str) -> str | None:
    """What members send the app's Zalo bot, naming the bot they look for; None when the app has no Zalo bot."""
    zalo = bot_of(bot, "zalo")
    if zalo is None:
        return None
    command = f"<code>/start {shown_code(token)}</code>"
    try:
        name = (await zalo.me()).first_name
    except TelegramAPIError:  # Zalo out of reach for a moment: the code matters more than the bot's name
        return _("On Zalo, members send this to the bot: {command}").format(command=command)
    return _("On Zalo, members send this to the bot “{bot}”: {command}").format(bot=escape(name), command=command)


async def invite(message: Message, command: CommandObject, bot: Bot, db: Database, member: Member | None,
                 admins: frozenset[int], tz: ZoneInfo) -> None:  # fmt: skip
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
    url, on_zalo = await telegram_link(bot, created.token), await zalo_line(bot, created.token)
    name = f"invite-{unit.code}.png"
    if is_zalo(message.chat.id) or url is None:
        # On Zalo the QR code holds the command itself: a t.me link would open Telegram, often blocked in Vietnam;
        # scanned, the text can be copied and sent to the bot.
        typed = f"/start {shown_code(created.token)}"
        lines = [_("Invite code for {unit} ({until}).").format(unit=escape(unit.name), until=until), on_zalo or ""]
        if url is not None:
            lines.append(_("On Telegram, they open: {url}").format(url=url))
        lines += [_("The QR code holds the text {command}: scanned with Zalo or a phone camera, it can be copied and "
                    "sent to the bot. Print it for the notice board.").format(command=typed),
                  _("/invites lists the codes and revokes them.")]  # fmt: skip
        await message.answer_photo(
            BufferedInputFile(qr_png(typed), filename=name), caption="\n".join(filter(None, lines))
        )
        return
    caption = _("Invite link for {unit} ({until}):\n{url}\nPrint the QR code for the notice board. /invites lists the "
                "links and revokes them.").format(unit=escape(unit.name), until=until, url=url)  # fmt: skip
    if on_zalo:
        caption += "\n" + on_zalo
    await message.answer_photo(BufferedInputFile(qr_png(url), filename=name), caption=caption)


async def ways(bot: Bot, chat_id: int, token: str) -> str:
    """How an invite is used, the chat's own channel first: a t.me link, the command to send on Zalo, or both."""
    url = await telegram_link(bot, token)
    typed = f"<code>/start {shown_code(token)}</code>" if bot_of(bot, "zalo") is not None else None
    if is_zalo(chat_id):
        return " · ".join(filter(None, [typed, url and f"Telegram: {url}"]))
    return " · ".join(filter(None, [url, typed and f"Zalo: {typed}"]))


async def invites(message: Message, bot: Bot, db: Database, member: Member | None, admins: frozenset[int]) -> None:
    is_admin = message.from_user is not None and message.from_user.id in admins
    units = None if is_admin else await officer_units(db, member.id) if member else []
    items = await active_invites(db, units)
    if not items:
        await message.answer(_("There are no active invite links. Create one with /invite."))
        return
    title = _("Active invite codes") if is_zalo(message.chat.id) else _("Active invite links")
    lines, buttons = ["<b>" + title + "</b>"], []
    for n, item in enumerate(items, start=1):
        unit = await get_unit(db, item.unit_id)
        used = ngettext("{n}. {unit}: {how} — used {uses} time", "{n}. {unit}: {how} — used {uses} times", item.uses)
        how = await ways(bot, message.chat.id, item.token)
        lines.append(used.format(n=n, unit=escape(unit.name if unit else "—"), how=how,
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
