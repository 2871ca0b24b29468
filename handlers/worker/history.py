"""/history <number>: the initiative's log, for its author, the support team and officers of its unit."""

from __future__ import annotations

import json
from datetime import date
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from forms.errors import N_
from forms.formats import format_date, format_datetime, format_money
from forms.render import pack
from storage.db import Database
from storage.models import Event, Initiative, Member
from storage.review import by_number, history, initiative
from storage.roles import may_review

SHOWN = {
    "draft.created": N_("draft started"),
    "help.asked": N_("asked the support team to write it"),
    "help.taken": N_("took it, to write it for the author"),
    "initiative.submitted": N_("submitted for review (round {round})"),
    "review.taken": N_("taken for review"),
    "review.confirmed": N_("confirmed"),
    "review.changes_requested": N_("returned for changes: {reason}"),
    "review.rejected": N_("rejected: {reason}"),
    "review.duplicate": N_("marked as a duplicate of {original}"),
    "recognition.recorded": N_("recognised: decision {no} of {on} ({body})"),
    "recognition.uploaded": N_("uploaded to the TLĐ system on {on}"),
    "recognition.undone": N_("recognition taken back: {reason}"),
    "recognition.upload_undone": N_("upload to the TLĐ system taken back: {reason}"),
    "benefit.checked": N_("the support team's figure for the money benefit: {amount} a year ({reason})"),
    "benefit.check_removed": N_("the support team's figure for the money benefit taken away"),
}


async def show_history(message: Message, command: CommandObject, db: Database, member: Member | None,
                       admins: frozenset[int], tz: ZoneInfo, form: Form) -> None:  # fmt: skip
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
    typed: list[str] = []  # the parts one person typed in a row, shown as one line: who typed what
    for n, (event, name) in enumerate(events := await history(db, item.id)):
        typed += typed_parts(event, form, typed)
        following = events[n + 1] if n + 1 < len(events) else None
        if typed and (following is None or following[0].kind not in TYPED or following[0].member_id != event.member_id):
            what = _("typed: {parts}").format(parts=", ".join(typed))
            lines.append(f"{escape(format_datetime(event.at, locale, tz))} — {escape(name or '—')}: {escape(what)}")
            typed = []
        if event.kind not in SHOWN:
            continue
        detail = json.loads(event.detail)
        on = format_date(date.fromisoformat(detail["on"]), locale) if detail.get("on") else "—"
        what = _(SHOWN[event.kind]).format(round=detail.get("round", 1), reason=detail.get("reason") or "—",
                                           original=detail.get("of") or "—", no=detail.get("no") or "—", on=on,
                                           body=detail.get("body") or "—",
                                           amount=format_money(int(detail.get("amount") or 0), locale))  # fmt: skip
        if event.kind == "review.duplicate" and detail.get("reason"):
            what += ": " + detail["reason"]
        when = format_datetime(event.at, locale, tz)
        lines.append(f"{escape(when)} — {escape(name or '—')}: {escape(what)}")
    for n, chunk in enumerate(pack(lines)):
        await (message.reply(chunk) if n == 0 else message.answer(chunk))


TYPED = ("draft.answer", "draft.part", "draft.file", "draft.keep", "draft.clear", "draft.choice", "draft.today",
         "draft.done")  # fmt: skip


def typed_parts(event: Event, form: Form, already: list[str]) -> list[str]:
    """The label of the part an answer event filled in, if it is a part not yet named in this line."""
    if event.kind not in TYPED:
        return []
    key = "files" if event.kind == "draft.file" else str(json.loads(event.detail).get("field"))
    try:
        label = _(form[key].label)
    except KeyError:  # the preview, or a step no longer in the form
        return []
    return [] if label in already else [label]


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
