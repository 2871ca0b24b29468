"""Unexpected errors: logged with the update's context, and a calm message to the user (no traceback)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

log = logging.getLogger(__name__)
HARMLESS = ("message is not modified", "query is too old", "query id is invalid")


def harmless(exc: BaseException) -> bool:
    """Telegram's answers that mean "nothing to do": an edit to the same text, a button answered too late."""
    return isinstance(exc, TelegramBadRequest) and any(phrase in exc.message for phrase in HARMLESS)


@contextmanager
def suppress_harmless() -> Iterator[None]:
    try:
        yield
    except TelegramBadRequest as exc:
        if not harmless(exc):
            raise
        log.debug("ignored Telegram's answer: %s", exc.message)


async def on_error(event: ErrorEvent) -> None:
    update = event.update
    user = update.event.from_user if hasattr(update.event, "from_user") else None
    if harmless(event.exception):  # not an error, and the callback may already be answered
        log.info("update %s: Telegram said %r; nothing to do", update.update_id, str(event.exception))
        return
    log.error(
        "update %s from user %s (%s) failed: %r",
        update.update_id,
        getattr(user, "id", None),
        update.event_type,
        event.exception,
        exc_info=event.exception,
    )
    text = _("Sorry, something went wrong on my side. Your answers so far are saved; please try again.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.message is not None:
            await update.message.answer(text)
    except Exception as exc:  # the network may be the reason we are here
        log.warning("could not tell user %s about the error: %r", getattr(user, "id", None), exc)


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(on_error)
    return router
