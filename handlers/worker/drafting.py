"""/new and the worker's answers: text, photos and documents, anything else.

A long answer needs no Done: a message is the answer, unless it is long enough to be one piece of a paste that
Telegram split (``PASTE_PIECE``); then the pieces are kept until a shorter one (the last) arrives, or Done."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from forms.engine import PASTE_PIECE, PREVIEW, Form
from forms.errors import FormError
from forms.render import parts_text
from forms.template import Kind
from forms.text import has_words, normalize
from handlers.officer.guide import guide_line
from handlers.ui import keyboards
from handlers.worker.formview import active_draft, advance, error_text, open_draft, show, today, understood
from handlers.worker.start import registration_first
from handlers.worker.states import Drafting, Reg
from storage.db import Database
from storage.guides import guide_for
from storage.initiatives import create_draft, save_form
from storage.models import Member


async def new(message: Message, state: FSMContext, db: Database, member: Member | None, form: Form,
              raw_state: str | None) -> None:  # fmt: skip
    if member is None and raw_state in Reg.__state_names__:
        await registration_first(message, state, db)
        return
    if member is None:
        await message.answer(_("You are not registered yet. Send /start first."))
        return
    draft = await create_draft(db, member, form.start())
    await open_draft(state, draft)
    note = _(
        "A new draft is open. Every answer is saved at once: you can stop and continue later with /drafts. "
        "The optional parts (co-authors, photos…) come at the end."
    )
    guide = await guide_for(db, member.unit_id)
    if guide is not None:
        note += "\n📘 " + guide_line(guide)
    await show(message, form, draft, note=note)


async def answer(
    message: Message, state: FSMContext, db: Database, member: Member | None, form: Form, tz: ZoneInfo
) -> None:
    draft = await active_draft(state, db, member)
    if draft is None or member is None:
        await state.clear()
        await message.answer(_("This draft is no longer open. Send /drafts to see your drafts."))
        return
    text = message.text or ""
    current = draft.state
    if current.step == PREVIEW:
        note = _("Use the buttons to change a part or to submit.")
        await show(message, form, draft, current, note, db=db, tz=tz)
        return
    f = form[current.step]
    if f.kind is Kind.FILES:
        await show(message, form, draft, current, "⚠️ " + _("Please send photos or documents, or press Done."))
        return
    if f.kind is Kind.LONGTEXT:
        part = normalize(text, multiline=True)
        if not has_words(part):
            await message.answer("⚠️ " + _("Please answer in words: emoji or symbols alone are not enough."))
            return
        if current.pending or len(text) >= PASTE_PIECE:
            try:
                with_part = form.add_part(current, part)
            except FormError as err:
                await message.answer(error_text(err), reply_markup=keyboards.step(form, current, draft.id))
                return
            if len(text) >= PASTE_PIECE:  # likely a piece of a split paste: wait for the rest
                detail = {"field": f.key}
                draft = await save_form(db, draft, with_part, actor_id=member.id, kind="draft.part", detail=detail)
                await message.answer(parts_text(with_part, _), reply_markup=keyboards.step(form, with_part, draft.id))
                return
            text = form.join_parts(with_part)  # the last piece, or what the worker adds to an answer
    try:
        value = form.parse(f, text, today(tz))
    except FormError as err:
        await show(message, form, draft, current, error_text(err))
        return
    await advance(
        message,
        form,
        db,
        draft,
        member,
        form.set_answer(current, value),
        kind="draft.answer",
        note=understood(f, value),
        tz=tz,
    )


async def attachment(message: Message, state: FSMContext, db: Database, member: Member | None, form: Form) -> None:
    draft = await active_draft(state, db, member)
    if draft is None or member is None:
        await state.clear()
        await message.answer(_("This draft is no longer open. Send /drafts to see your drafts."))
        return
    current = draft.state
    if message.photo:
        photo = message.photo[-1]
        file = {
            "kind": "photo",
            "file_id": photo.file_id,
            "file_unique_id": photo.file_unique_id,
            "size": photo.file_size,
        }
    else:
        doc = message.document
        assert doc is not None
        file = {
            "kind": "document",
            "file_id": doc.file_id,
            "file_unique_id": doc.file_unique_id,
            "file_name": doc.file_name,
            "mime_type": doc.mime_type,
            "size": doc.file_size,
        }
    try:
        new_state = form.add_file(current, file)
    except FormError as err:
        await message.answer(error_text(err), reply_markup=keyboards.step(form, current, draft.id))
        return
    draft = await save_form(db, draft, new_state, actor_id=member.id, kind="draft.file", detail={"kind": file["kind"]})
    count = len(new_state.answers["files"])
    if current.step != "files":  # sent early: kept with the photos and documents; the question above still stands
        await message.answer("✓ " + _("File {n} received; it is kept with the photos and documents.").format(n=count))
        return
    await message.answer(
        _("File {n} received. Send more, or press Done.").format(n=count),
        reply_markup=keyboards.step(form, new_state, draft.id),
    )


async def unreadable(message: Message, state: FSMContext, db: Database, member: Member | None, form: Form,
                     tz: ZoneInfo) -> None:  # fmt: skip
    draft = await active_draft(state, db, member)
    note = "⚠️ " + _(
        "I can only read text here: stickers, voice messages, locations and the like cannot be "
        "stored. Please type your answer."
    )
    if draft is not None and draft.state.step != PREVIEW and form[draft.state.step].kind is Kind.FILES:
        note = "⚠️ " + _("Please send photos or documents, or press Done.")  # the step that takes files
    if draft is None:
        await message.answer(note)
        return
    await show(message, form, draft, note=note, db=db, tz=tz)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(new, Command("new"))
    router.message.register(answer, Drafting.filling, F.text, ~F.text.startswith("/"))
    router.message.register(attachment, Drafting.filling, F.photo | F.document)
    router.message.register(unreadable, Drafting.filling, ~F.text)
    return router
