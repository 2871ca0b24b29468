""" "📄 Full text" on a card: the whole initiative and its attachments, sent privately to whoever pressed it.

An attachment sent on the other channel (a Telegram file for a Zalo member, a Zalo photo for a Telegram one) is
fetched and sent as an upload (``channels.transfer``); one that cannot be shown is named, and the others still go."""

from __future__ import annotations

import json
import logging
from html import escape
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from channels.transfer import NotFetched, fetch, foreign
from forms.engine import Form
from forms.render import full_text_chunks
from storage.review import Review

log = logging.getLogger(__name__)


async def send_full_text(query: CallbackQuery, review: Review, form: Form) -> None:
    bot = query.bot
    assert bot is not None
    chat = query.from_user.id
    answers = json.loads(review.initiative.answers)
    heading = f"<b>{review.initiative.number}</b>"
    chunks = full_text_chunks(form, answers, _, get_i18n().current_locale, heading)
    try:
        for chunk in chunks:
            await bot.send_message(chat, chunk)
        for n, f in enumerate(answers.get("files", []), start=1):
            try:
                await _send_file(bot, chat, f, n)
            except TelegramForbiddenError:
                raise
            except (TelegramAPIError, NotFetched) as exc:
                log.info("%s: attachment %d not shown in chat %s: %s", review.initiative.number, n, chat, exc)
                name = escape(f.get("file_name") or "") or (_("a photo") if f["kind"] == "photo" else _("a file"))
                await bot.send_message(chat, "⚠️ " + _("Attachment {n} ({name}) could not be shown.").format(
                    n=n, name=name))  # fmt: skip
    except (TelegramForbiddenError, TelegramBadRequest):
        await query.answer(_("Please start a private chat with me first, then press again."), show_alert=True)
        return
    await query.answer(_("Sent to you privately."))


async def _send_file(bot: Bot, chat: int, f: dict[str, Any], n: int) -> None:
    """One attachment: by its id on its own channel, fetched and uploaded on the other."""
    photo = f["kind"] == "photo"
    file: str | BufferedInputFile = f["file_id"]
    if foreign(f["file_id"], chat):
        file = await fetch(bot, f["file_id"], f.get("file_name") or (f"photo-{n}.jpg" if photo else f"file-{n}"))
    if photo:
        await bot.send_photo(chat, file)
    else:
        await bot.send_document(chat, file)
