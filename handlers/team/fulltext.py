""" "📄 Full text" on a card: the whole initiative and its attachments, sent privately to whoever pressed it."""

from __future__ import annotations

import json

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from forms.render import full_text_chunks
from storage.review import Review


async def send_full_text(query: CallbackQuery, review: Review, form: Form) -> None:
    bot = query.bot
    assert bot is not None
    answers = json.loads(review.initiative.answers)
    heading = f"<b>{review.initiative.number}</b>"
    chunks = full_text_chunks(form, answers, _, get_i18n().current_locale, heading)
    try:
        for chunk in chunks:
            await bot.send_message(query.from_user.id, chunk)
        for f in answers.get("files", []):
            if f["kind"] == "photo":
                await bot.send_photo(query.from_user.id, f["file_id"])
            else:
                await bot.send_document(query.from_user.id, f["file_id"])
    except (TelegramForbiddenError, TelegramBadRequest):
        await query.answer(_("Please start a private chat with me first, then press again."), show_alert=True)
        return
    await query.answer(_("Sent to you privately."))
