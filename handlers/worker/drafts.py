"""/drafts (continue or delete, with confirmation) and /my (the worker's initiatives and their status)."""

from __future__ import annotations

import json
from html import escape
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from forms.engine import Form
from forms.errors import N_
from forms.formats import format_datetime
from forms.render import group_blocks, pack, step_label
from handlers.ui import keyboards
from handlers.ui.callbacks import DraftAction, DraftCb
from handlers.worker.formview import draft_for_button, open_draft, show
from storage.db import Database
from storage.initiatives import delete_draft, list_for_author
from storage.members import member_by_id
from storage.models import Initiative, Member

STATUS = {
    "draft": N_("draft"),
    "submitted": N_("waiting for review"),
    "in_review": N_("being reviewed"),
    "changes_requested": N_("returned for changes"),
    "confirmed": N_("confirmed"),
    "rejected": N_("rejected"),
    "duplicate": N_("duplicate"),
}


def _title(title: str | None) -> str:
    return escape(title) if title else "<i>" + escape(_("(no name yet)")) + "</i>"


def _item_title(item: Initiative) -> str:
    return _title(item.title or json.loads(item.answers).get("title"))


async def drafts(message: Message, db: Database, member: Member | None, form: Form, tz: ZoneInfo) -> None:
    if member is None:
        await message.answer(_("You are not registered yet. Send /start first."))
        return
    items = await list_for_author(db, member, drafts=True)
    if not items:
        await message.answer(_("You have no drafts. Send /new to start one."))
        return
    locale = get_i18n().current_locale
    lines = ["<b>" + _("Your drafts") + "</b>"]
    for n, item in enumerate(items, start=1):
        edited = format_datetime(item.updated_at, locale, tz)
        line = _("{n}. {title} — {step}, last edited {when}").format(
            n=n, title=_item_title(item), step=step_label(form, item.step, _), when=edited
        )
        author = None if item.author_id == member.id else await member_by_id(db, item.author_id)
        if author is not None:  # one the member writes for someone else, as a support-team member
            line += " · " + escape(_("for {name}").format(name=author.full_name))
        lines.append(line)
    rows = keyboards.drafts(items, member.id).inline_keyboard  # one row of buttons per draft, lines[n] is draft n
    for group in group_blocks(lines):  # several messages when long, each with the buttons of its drafts
        buttons = InlineKeyboardMarkup(inline_keyboard=[rows[i - 1] for i in group if i > 0])
        await message.answer(
            "\n".join(lines[i] for i in group), reply_markup=buttons if buttons.inline_keyboard else None
        )


async def mine(message: Message, db: Database, member: Member | None) -> None:
    if member is None:
        await message.answer(_("You are not registered yet. Send /start first."))
        return
    items = await list_for_author(db, member, drafts=False)
    if not items:
        await message.answer(
            _("You have not submitted any initiative yet. Send /new to start one, or /drafts to finish a draft.")
        )
        return
    lines = ["<b>" + _("Your initiatives") + "</b>"]
    for item in items:
        lines.append(
            f"{escape(item.number or '—')} · {_item_title(item)} — {escape(_(STATUS.get(item.status, item.status)))}"
        )
    for chunk in pack(lines):
        await message.answer(chunk)


async def act(
    query: CallbackQuery,
    callback_data: DraftCb,
    state: FSMContext,
    db: Database,
    member: Member | None,
    form: Form,
    tz: ZoneInfo,
) -> None:
    draft = await draft_for_button(query, db, member, callback_data.draft)
    if draft is None or member is None or not isinstance(query.message, Message):
        return
    await query.answer()
    message, action = query.message, callback_data.action
    if action is DraftAction.RESUME:  # back at the preview, to change it: every part's button at once
        await open_draft(state, draft)
        await show(message, form, draft, view=keyboards.View.ALL, db=db, tz=tz)
    elif action is DraftAction.DELETE:
        title = _title(draft.state.answers.get("title"))
        await message.answer(
            _("Delete the draft “{title}”? This cannot be undone.").format(title=title),
            reply_markup=keyboards.confirm_delete(draft.id),
        )
    elif action is DraftAction.CONFIRM:
        deleted = await delete_draft(db, member, draft.id)
        if deleted and (await state.get_data()).get("draft") == draft.id:
            await state.clear()
        await message.answer(_("The draft is deleted.") if deleted else _("This draft is no longer open."))
    else:
        await message.answer(_("The draft is kept. Send /drafts to see your drafts."))


async def unknown_command(message: Message) -> None:
    await message.answer(_("Unknown command. Send /help to see the commands."))


async def outside_a_form(message: Message, member: Member | None) -> None:
    if member is None:
        await message.answer(_("You are not registered yet. Send /start first."))
    else:
        await message.answer(_("Send /new to write up an initiative, /drafts to continue a draft, or /help."))


async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is out of date."), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(drafts, Command("drafts"))
    router.message.register(mine, Command("my"))
    router.callback_query.register(act, DraftCb.filter())
    router.message.register(unknown_command, F.text.startswith("/"))  # the last router: nothing else took it
    router.message.register(outside_a_form, StateFilter(None))
    router.callback_query.register(stale_button)  # a button whose step or state has passed
    return router
