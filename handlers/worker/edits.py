"""Edited messages in a private chat: answers are read once, as first sent, so an edit is told what counts."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.worker.states import Drafting


async def edited(message: Message, state: FSMContext) -> None:
    if await state.get_state() == Drafting.filling.state:
        await message.answer(
            _(
                "Edits are not read: your answer as first sent is kept. To change it, press ⬅️ Back until you "
                "reach its step, or press its ✏️ button on the preview, then send the answer again."
            )
        )
    else:
        await message.answer(
            _("Edits are not read: I keep the message as first sent. Please send the corrected text as a new message.")
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.edited_message.filter(F.chat.type == "private")
    router.edited_message.register(edited)
    return router
