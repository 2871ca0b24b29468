"""/link: one member on two apps. On the app where they are registered it gives a one-time code; typed on the
other app ("/link CODE") it makes that app theirs too, and notices go there from then on."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from storage.channels import Linked, new_link_code, use_link_code
from storage.db import Database
from storage.models import Member


async def send_code(message: Message, db: Database, member: Member) -> None:
    """A new one-time code for the member's other app (from /link, or the button of /profile)."""
    code = await new_link_code(db, member.id or 0)
    await message.answer(
        _(
            "To use the bot as the same member on your other app (Telegram or Zalo), send this there within "
            "30 minutes:\n<code>/link {code}</code>"
        ).format(code=code)
    )


async def link(message: Message, command: CommandObject, state: FSMContext, db: Database,
               member: Member | None) -> None:  # fmt: skip
    code = (command.args or "").strip()
    if not code:
        if member is None:
            await message.answer(_("Send /link on the app where you registered; it gives a code to send here as "
                                   "/link CODE. Or send /start to register here."))  # fmt: skip
            return
        await send_code(message, db, member)
        return
    outcome, _member_id = await use_link_code(db, code, message.chat.id)
    if outcome is Linked.LINKED:
        await state.clear()
        await message.answer(_("Linked: you are the same member here as on your other app, with the same drafts and "
                               "initiatives. Notices now come here."))  # fmt: skip
    elif outcome in (Linked.CLAIMED, Linked.MERGED):
        await state.clear()
        await message.answer(_("Welcome! The initiatives the support team wrote for you are now yours here: see "
                               "/my and /drafts. Notices about them come here."))  # fmt: skip
    elif outcome is Linked.SAME:
        await message.answer(_("This app is already linked to your membership."))
    elif outcome is Linked.TAKEN:
        await message.answer(_("This account is already registered as another member, so nothing was linked. Ask "
                               "the support team to merge the two."))  # fmt: skip
    else:
        await message.answer(_("This code is unknown, used or expired. Send /link on your other app for a new one."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(link, Command("link"))
    return router
