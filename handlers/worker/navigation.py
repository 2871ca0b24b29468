"""The form's buttons: a choice, Today, Done, Keep/Skip, Remove, Add to the previous answer, Back, Save & exit;
at the preview Submit, Add details / Edit (more buttons, in place) and an Edit button per part.

Submit first lists the initiatives most like this one, when there are any: the worker may submit anyway, and may
first say in one line how theirs differs (the review card shows that line)."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import replace
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Dispatcher, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from forms.engine import PREVIEW, Form, FormState
from forms.errors import N_, FormError
from forms.text import clean_answer
from handlers.delivery import Outbox
from handlers.team.cards import similar_block
from handlers.ui.callbacks import FormCb, Nav, SubmitAction, SubmitCb
from handlers.ui.keyboards import View, button, markup, offered, preview
from handlers.worker.formview import advance, draft_for_button, error_text, open_draft, show, today, understood
from storage.db import Database
from storage.initiatives import EDITABLE, Draft, get_draft, similar_to, submit
from storage.members import member_by_id
from storage.models import Member
from storage.similar.search import Similar
from storage.similar.store import warm

NOTE_MAX = 300  # initiative.differs_note
WARMING = "similar_index_loading"


def move(form: Form, state: FormState, cb: FormCb, tz: ZoneInfo) -> tuple[FormState, str]:
    """The new state after a button, and the note to show with it; raises FormError."""
    if cb.action is Nav.BACK:
        return form.back(state), ""
    if cb.action is Nav.EDIT:
        if not 0 <= cb.value < len(form.fields):
            raise FormError(N_("This button is out of date."))
        return form.edit(state, form.fields[cb.value].key), ""
    if cb.action is Nav.APPEND:
        return form.reopen_previous(state), ""
    f = form[state.step]
    if cb.action is Nav.CHOICE:  # the button's own field: one keyboard may ask two choices
        picked = form.fields[cb.step]
        value = form.choose(picked, cb.value)
        return form.set_answer(state, value, picked.key), understood(picked, value)
    if cb.action is Nav.TODAY:
        value = today(tz).isoformat()
        return form.set_answer(state, value), understood(f, value)
    if cb.action is Nav.KEEP:
        return form.keep(state), ""
    if cb.action is Nav.CLEAR:
        return form.clear(state), ""
    if cb.action is Nav.RESTART:
        return replace(state, pending=()), ""
    if cb.action is Nav.DONE and state.pending:
        value = form.parse(f, form.join_parts(state), today(tz))
        return form.set_answer(state, value), understood(f, value)
    if cb.action is Nav.DONE:
        if f.key not in state.answers and form.is_required(f, state.answers):
            raise FormError(N_("Please type your answer first, then press Done."))
        return form.keep(state), ""
    raise FormError(N_("This button is out of date."))


async def navigate(
    query: CallbackQuery,
    callback_data: FormCb,
    state: FSMContext,
    db: Database,
    member: Member | None,
    form: Form,
    tz: ZoneInfo,
    outbox: Outbox,
) -> None:
    draft = await draft_for_button(query, db, member, callback_data.draft)
    if draft is None or member is None or not isinstance(query.message, Message):
        return
    current = draft.state
    if current.step == PREVIEW:
        shown_steps = {-1}
    elif callback_data.action is Nav.CHOICE:  # the choices of every field on this keyboard
        shown_steps = form.screen_indices(current.step)
    else:
        shown_steps = {form.index(current.step)}
    complete = not form.missing(current.answers)
    stale_submit = callback_data.action is Nav.SUBMIT and callback_data.value != draft.round
    if stale_submit or (
        callback_data.action is not Nav.EXIT
        and (callback_data.step not in shown_steps or callback_data.action not in offered(form, current, complete))
    ):  # a button of another step, one this step never showed, or a Submit shown before the team returned it
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    message = query.message
    if (await state.get_data()).get("draft") != draft.id:
        await open_draft(state, draft)
    if callback_data.action is Nav.EXIT:
        await state.clear()
        await message.answer(_("Your draft is saved. Send /drafts to continue it later."))
        return
    if callback_data.action is Nav.SUBMIT:
        await submit_draft(message, state, db, member, form, draft.id, tz, outbox)
        return
    if callback_data.action is Nav.MORE:
        await more_buttons(message, form, draft, callback_data.value)
        return
    try:
        new_state, note = move(form, current, callback_data, tz)
    except FormError as err:
        await show(message, form, draft, current, error_text(err))
        return
    same_keyboard = (
        callback_data.action is Nav.CHOICE
        and new_state.step != PREVIEW
        and form.screen(new_state.step) == form.screen(current.step)
    )  # the first of two choices on one keyboard: tick it there, no new message
    await advance(
        message,
        form,
        db,
        draft,
        member,
        new_state,
        kind=f"draft.{callback_data.action.name.lower()}",
        note="" if same_keyboard else note,
        edit=same_keyboard,
    )


async def more_buttons(message: Message, form: Form, draft: Draft, value: int) -> None:
    """Open the summary's keyboard in place: the details to add, or every part to edit."""
    view = View.DETAILS if value == View.DETAILS else View.ALL
    try:
        await message.edit_reply_markup(reply_markup=preview(form, draft.state.answers, draft.id, view, draft.round))
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc):  # too old to edit, or deleted: send the preview anew
            await show(message, form, draft, view=view)


async def submit_draft(message: Message, state: FSMContext, db: Database, member: Member, form: Form, draft_id: int,
                       tz: ZoneInfo, outbox: Outbox, *, checked: bool = False,
                       note: str | None = None) -> None:  # fmt: skip
    """Submit (once the worker has seen what looks like it), then deliver what the submission committed to send:
    the card, then the author's number."""
    draft = await get_draft(db, draft_id)
    author = member if draft is None or draft.author_id == member.id else await member_by_id(db, draft.author_id)
    if draft is None or author is None:
        return
    current = draft.state
    if form.missing(current.answers):
        await show(message, form, draft, current, "⚠️ " + _("Some required parts are still missing."))
        return
    if not checked and draft.round == 0:  # a resubmission: the author saw the list at the first submission
        answers = current.answers
        found = await similar_to(db, str(answers.get("title", "")), str(answers.get("solution", "")),
                                 author.unit_id, draft.id)  # fmt: skip
        if found:
            await show_similar(message, draft, found)
            return
    result = await submit(db, draft, author, form, today(tz), note=note,  # the phase is by Vietnam's date, not UTC's
                          actor_id=member.id)  # fmt: skip
    if result is None:
        await message.answer(_("This draft was already submitted."))
        return
    await state.clear()
    await outbox.flush()
    if author is not member:  # a team member wrote it: the author is told by the outbox, the writer here
        done = _("Submitted as {number} for {name}; the support team will review it.")
        await message.answer("✅ " + escape(done.format(number=result.number, name=author.full_name)))


class Differs(StatesGroup):
    note = State()  # FSM data: {"draft": id, "round": the preview's round}


async def show_similar(message: Message, draft: Draft, found: list[Similar]) -> None:
    lines = similar_block(found, _("Before you submit: these initiatives look like yours."))
    lines += ["", escape(_("If yours is a different one, submit it anyway; you may first say in one line how it "
                           "differs, and the support team will see it."))]  # fmt: skip

    def b(text: str, action: SubmitAction) -> InlineKeyboardButton:
        return button(text, SubmitCb(action=action, draft=draft.id, round=draft.round))

    buttons = [[b(_("📨 Submit anyway"), SubmitAction.ANYWAY)], [b(_("✍️ Say how it differs"), SubmitAction.NOTE)]]
    await message.answer("\n".join(lines[1:]), reply_markup=markup(buttons))


async def similar_choice(query: CallbackQuery, callback_data: SubmitCb, state: FSMContext, db: Database,
                         member: Member | None, form: Form, tz: ZoneInfo, outbox: Outbox) -> None:  # fmt: skip
    draft = await draft_for_button(query, db, member, callback_data.draft)
    if draft is None or member is None or not isinstance(query.message, Message):
        return
    if callback_data.round != draft.round or draft.state.step != PREVIEW:  # edited, or returned, since
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer()
    if callback_data.action is SubmitAction.ANYWAY:
        await submit_draft(query.message, state, db, member, form, draft.id, tz, outbox, checked=True)
        return
    await state.set_state(Differs.note)
    await state.set_data({"draft": draft.id, "round": draft.round})
    await query.message.answer(_("In one line: how is yours different from these? (or /cancel)"))


async def differs_note(message: Message, state: FSMContext, db: Database, member: Member | None, form: Form,
                       tz: ZoneInfo, outbox: Outbox) -> None:  # fmt: skip
    data = await state.get_data()
    draft = await get_draft(db, int(data.get("draft", 0)))
    if (member is None or draft is None or not draft.writable_by(member.id) or draft.status not in EDITABLE
            or draft.round != data.get("round")):  # fmt: skip
        await state.clear()
        await message.answer(_("This draft is no longer open."))
        return
    try:
        note = clean_answer(message.text or "", multiline=False, max_len=NOTE_MAX, min_len=3)
    except FormError as err:
        await message.answer(error_text(err) + "\n" + _("Please send it again, in one line (or /cancel)."))
        return
    await submit_draft(message, state, db, member, form, draft.id, tz, outbox, checked=True, note=note)


async def note_not_text(message: Message) -> None:
    await message.answer(_("Please send it again, in one line (or /cancel)."))


async def keep_draft(message: Message, state: FSMContext, db: Database, form: Form) -> None:
    """/cancel instead of the line: back at the preview, nothing submitted."""
    draft = await get_draft(db, int((await state.get_data()).get("draft", 0)))
    if draft is None or draft.status not in EDITABLE:
        await state.clear()
        return
    await open_draft(state, draft)
    await show(message, form, draft, note=escape(_("Not submitted: your initiative is kept as it is.")))


def _root(router: Router) -> dict[str, Any]:
    while router.parent_router is not None:
        router = router.parent_router
    return router.workflow_data if isinstance(router, Dispatcher) else {}


async def load_index(router: Router) -> None:
    """At start-up, load the duplicate search's index in the background (a national database takes seconds)."""
    data = _root(router)
    if isinstance(data.get("db"), Database):
        data[WARMING] = asyncio.create_task(warm(data["db"]))


async def stop_loading(router: Router) -> None:
    task = _root(router).pop(WARMING, None)
    if task is not None and not task.done():
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def create_router() -> Router:
    router = Router(name=__name__)
    router.startup.register(load_index)
    router.shutdown.register(stop_loading)
    router.callback_query.filter(F.message.chat.type == "private")
    router.callback_query.register(navigate, FormCb.filter())
    router.callback_query.register(similar_choice, SubmitCb.filter())
    router.message.register(keep_draft, Differs.note, Command("cancel"), F.chat.type == "private")
    router.message.register(differs_note, Differs.note, F.text, ~F.text.startswith("/"), F.chat.type == "private")
    router.message.register(note_not_text, Differs.note, ~F.text, F.chat.type == "private")
    return router
