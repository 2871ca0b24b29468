"""What the outbox sends when the team writes for a member: the author is told who writes their draft, the
support group is asked to take a draft handed to it, and the one who took it gets a button to continue."""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING, Any

from aiogram.utils.i18n import gettext as _

from handlers.team.cards import send_private
from handlers.ui.callbacks import DraftAction, DraftCb, ProxyAction, ProxyCb
from handlers.ui.keyboards import button, markup
from storage.groups import route
from storage.members import member_by_id
from storage.proxy import handover
from storage.roles import nearest_team

if TYPE_CHECKING:
    from handlers.delivery import Delivery

log = logging.getLogger(__name__)
KINDS = ("proxy.started", "proxy.asked", "proxy.taken")


def _title(title: str) -> str:
    return escape(title) if title else escape(_("(no name yet)"))


async def deliver_proxy(ctx: Delivery, kind: str, payload: dict[str, Any]) -> None:
    if kind == "proxy.started":
        author, helper = await member_by_id(ctx.db, payload["author"]), await member_by_id(ctx.db, payload["helper"])
        if author is None or helper is None:
            return
        with ctx.i18n.use_locale(author.language):
            text = _("✍️ {name} of the support team has started a draft of an initiative for you. It is yours: see "
                     "and change it in /drafts.").format(name=escape(helper.full_name))  # fmt: skip
        await send_private(ctx.bot, author, text, db=ctx.db)
        return
    found = await handover(ctx.db, int(payload["iid"]))
    if found is None:
        log.info("outbox %s: initiative %s no longer exists; nothing sent", kind, payload["iid"])
        return
    author, helper, title, unit_id, _status = found
    if kind == "proxy.asked":
        await _ask_team(ctx, int(payload["iid"]), author.full_name, title, unit_id)
    elif kind == "proxy.taken" and helper is not None:
        with ctx.i18n.use_locale(helper.language):
            text = _("✍️ You write the draft “{title}” for {name}.").format(
                title=_title(title), name=escape(author.full_name))  # fmt: skip
            keyboard = markup([[button(_("▶️ Continue"), DraftCb(action=DraftAction.RESUME, draft=payload["iid"]))]])
        await send_private(ctx.bot, helper, text, keyboard, db=ctx.db)
        with ctx.i18n.use_locale(author.language):
            text = _("✍️ {name} of the support team took your draft “{title}” and will continue it. It stays "
                     "yours: see it in /drafts.")  # fmt: skip
            text = text.format(name=escape(helper.full_name), title=_title(title))
        await send_private(ctx.bot, author, text, db=ctx.db)


async def _ask_team(ctx: Delivery, iid: int, name: str, title: str, unit_id: int | None) -> None:
    """To the unit's support group (or the nearest above it); without one, to the team members privately."""
    group = await route(ctx.db, unit_id)
    take = ProxyCb(action=ProxyAction.TAKE, id=iid)
    if group is not None and group.reachable:
        with ctx.i18n.use_locale(group.language):
            text = _("🤝 {name} asks the support team to write the draft “{title}” with them.").format(
                name=escape(name), title=_title(title))  # fmt: skip
            keyboard = markup([[button(_("✍️ I will write it"), take)]])
        await ctx.bot.send_message(group.chat_id, text, reply_markup=keyboard)
        return
    for member in await nearest_team(ctx.db, unit_id) if unit_id else []:
        with ctx.i18n.use_locale(member.language):
            text = _("🤝 {name} asks the support team to write the draft “{title}” with them.").format(
                name=escape(name), title=_title(title))  # fmt: skip
            keyboard = markup([[button(_("✍️ I will write it"), take)]])
        await send_private(ctx.bot, member, text, keyboard, db=ctx.db)
