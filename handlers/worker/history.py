"""/history <number>: the initiative's log, for its author, the support team and officers of its unit."""

from __future__ import annotations

import json
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from forms.errors import N_
from forms.formats import format_datetime
from forms.render import pack
from storage.db import Database
from storage.models import Initiative, Member
from storage.review import by_number, history, initiative
from storage.roles import may_review

SHOWN = {
    "draft.created": N_("draft started"),
    "initiative.submitted": N_("submitted for review (round {round})"),
    "review.taken": N_("taken for review"),
    "review.confirmed": N_("confirmed"),
    "review.changes_requested": N_("returned for changes: {reason}"),
    "review.rejected": N_("rejected: {reason}"),
    "review.duplicate": N_("marked as a duplicate of {original}"),
}


async def show_history(message: Message, command: CommandObject, db: Database, member: Member | None,
                       admins: frozenset[int], tz: ZoneInfo) -> None:  # fmt: skip
    item = await by_number(db, command.args) if command.args else None
    if item is None or item.id is None:
        await message.reply(_("Send /history followed by a number, e.g. /history SK-000123."))
        return
    user_id = message.from_user.id if message.from_user else 0
    if not (user_id in admins or (member is not None and (
            member.id == item.author_id or await may_review(db, member.id, item.unit_id)))):  # fmt: skip
        await message.reply(_("You can see the history of your own initiatives, or of your unit's if you review them."))
        return
    locale = get_i18n().current_locale
    lines = [f"<b>{escape(item.number or '')}</b> · {escape(item.title or '')}", *await links(db, item)]
    for event, name in await history(db, item.id):
        if event.kind not in SHOWN:
            continue
        detail = json.loads(event.detail)
        what = _(SHOWN[event.kind]).format(round=detail.get("round", 1), reason=detail.get("reason") or "—",
                                           original=detail.get("of") or "—")  # fmt: skip
        if event.kind == "review.duplicate" and detail.get("reason"):
            what += ": " + detail["reason"]
        when = format_datetime(event.at, locale, tz)
        lines.append(f"{escape(when)} — {escape(name or '—')}: {escape(what)}")
    for n, chunk in enumerate(pack(lines)):
        await (message.reply(chunk) if n == 0 else message.answer(chunk))


async def links(db: Database, item: Initiative) -> list[str]:
    """The original it repeats, and the author's line on how it differs from what looked like it."""
    lines = []
    original = await initiative(db, item.duplicate_of_id) if item.duplicate_of_id else None
    if original is not None:
        text = _("Duplicate of {number} “{title}”").format(number=original.number, title=original.title or "")
        lines.append("🔁 " + escape(text))
    if item.differs_note:
        lines.append("✍️ " + escape(_("The author says how it differs: {note}").format(note=item.differs_note)))
    return lines


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(show_history, Command("history"))
    return router
