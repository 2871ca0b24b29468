"""The command menu, registered with setMyCommands in Vietnamese (default) and English."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.utils.i18n import I18n

from forms.errors import N_

log = logging.getLogger(__name__)

COMMANDS = (
    ("new", N_("Write up a new initiative")),
    ("drafts", N_("Your drafts")),
    ("my", N_("Your initiatives and their status")),
    ("dossier", N_("Application for recognition of an initiative (Word file)")),
    ("profile", N_("Your profile")),
    ("progress", N_("Progress against the quota (officers)")),
    ("export", N_("Spreadsheet of a unit's initiatives (officers)")),
    ("top", N_("Best authors and units, for awards (officers)")),
    ("chart", N_("Chart of progress against the quota (officers)")),
    ("invite", N_("Invite link and QR code for a unit (officers)")),
    ("digest", N_("Weekly progress digest on or off (officers)")),
    ("guide", N_("A unit's own guide or video link, shown in /help (officers)")),
    ("for", N_("Write an initiative for a member (support team, officers)")),
    ("congnhan", N_("Record the workplace's recognition decision for an initiative (support team, officers)")),
    ("dacapnhat", N_("Mark initiatives uploaded to the TLĐ system (support team, officers)")),
    ("giatri", N_("The money benefit as the support team checked it (support team, officers)")),
    ("help", N_("Help")),
    ("cancel", N_("Leave the form, keeping the draft")),
)


async def set_commands(bot: Bot, i18n: I18n) -> None:
    """Register the menu; it is a convenience, so a failure (a proxy's error page, a Bot API server without the
    method) is a warning and the bot goes on."""
    scope = BotCommandScopeAllPrivateChats()
    for locale in i18n.available_locales:
        commands = [BotCommand(command=c, description=i18n.gettext(d, locale=locale)) for c, d in COMMANDS]
        language = None if locale == i18n.default_locale else locale
        try:
            await bot.set_my_commands(commands, scope=scope, language_code=language)
        except Exception as exc:
            log.warning("could not register the command menu (%s: %s); the bot works without it",
                        type(exc).__name__, exc)  # fmt: skip
            return
