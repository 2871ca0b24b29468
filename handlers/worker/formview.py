"""Showing a draft's current step or its preview; shared by the drafting, navigation and drafts routers."""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from forms.eligibility import Facts, concerns
from forms.engine import PREVIEW, Form, FormState
from forms.errors import FormError
from forms.formats import format_count
from forms.render import preview_chunks, prompt_text, value_text
from forms.template import Field, Kind
from handlers.ui import keyboards
from handlers.worker.states import Drafting
from storage.db import Database
from storage.eligibility import facts_for
from storage.initiatives import EDITABLE, Draft, get_draft, save_form
from storage.models import Member

ECHOED = (Kind.CHOICE, Kind.DATE, Kind.MONEY, Kind.AUTHORS)
TELEGRAM_LIMIT = 4096
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")  # the programme's days, when a caller gives no zone


def today(tz: ZoneInfo | None) -> date:
    return datetime.now(tz).date()


def error_text(err: FormError) -> str:
    """The problem in the user's language; counts grouped as everywhere else (30.000, not 30000)."""
    locale = get_i18n().current_locale
    params = {k: format_count(v, locale) if isinstance(v, int) and abs(v) >= 1000 else v for k, v in err.params.items()}
    return "⚠️ " + escape(_(err.msgid).format(**params))


async def show(message: Message, form: Form, draft: Draft, state: FormState | None = None, note: str = "",
               *, view: keyboards.View = keyboards.View.SUMMARY, edit: bool = False, db: Database | None = None,
               tz: ZoneInfo | None = None) -> None:  # fmt: skip
    """Send the current step's question (or the preview) with its buttons; ``note`` goes first. With ``edit``,
    the bot's message that was pressed is changed in place instead (a pick on a keyboard of two choices). The
    preview warns about what would make the initiative ineligible; with ``db`` also about the programme's
    window and a repeated title."""
    state = state or draft.state
    if state.step == PREVIEW:
        await show_preview(message, form, draft, state, note, view, await facts(db, draft, tz))
        return
    text = (note + "\n\n" if note else "") + prompt_text(form, state, _, get_i18n().current_locale)
    keyboard = keyboards.step(form, state, draft.id)
    if edit:
        try:
            await message.edit_text(text, reply_markup=keyboard)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):  # the same pick pressed twice
                return
            # too old to edit, or deleted: send it anew
    await message.answer(text, reply_markup=keyboard)


async def facts(db: Database | None, draft: Draft, tz: ZoneInfo | None) -> Facts:
    """What the eligibility rules need beyond the answers; without ``db``, only today (no phases, no titles).
    Today is Vietnam's unless the caller names the configured zone (TIMEZONE)."""
    day = today(tz or VIETNAM)
    if db is None:
        return Facts(today=day)
    return await facts_for(db, draft_id=draft.id, author_id=draft.author_id, today=day)


async def preview_markup(form: Form, draft: Draft, view: keyboards.View, db: Database | None,
                         tz: ZoneInfo | None) -> InlineKeyboardMarkup:  # fmt: skip
    """The preview's keyboard with its ⚠️ buttons, for a keyboard opened in place (Add details, Edit)."""
    warned = concerns(draft.state.answers, await facts(db, draft, tz))
    return keyboards.preview(form, draft.state.answers, draft.id, view, draft.round, [c.step for c in warned])


async def show_preview(message: Message, form: Form, draft: Draft, state: FormState, note: str,
                       view: keyboards.View, found: Facts) -> None:  # fmt: skip
    """The preview in as many messages as Telegram needs (a long note alone first), the buttons under the last;
    what would make the initiative ineligible or weak ends it, with a ⚠️ button to each step that fixes it."""
    warned = concerns(state.answers, found)
    chunks = preview_chunks(form, state.answers, _, get_i18n().current_locale, warned)
    if note and len(note) + 2 + len(chunks[0]) <= TELEGRAM_LIMIT:
        chunks[0] = note + "\n\n" + chunks[0]
    elif note:
        chunks.insert(0, note)
    for chunk in chunks[:-1]:
        await message.answer(chunk)
    fixes = [c.step for c in warned]
    keyboard = keyboards.preview(form, state.answers, draft.id, view, draft.round, fixes)
    await message.answer(chunks[-1], reply_markup=keyboard)


def understood(f: Field, value: object) -> str:
    """The line that shows back what was understood, for answers the bot interpreted."""
    if f.kind not in ECHOED:
        return "✓ " + escape(_("Saved."))
    shown = value_text(f, value, _, get_i18n().current_locale)
    return "✓ " + escape(_("Understood: {label}:").format(label=_(f.label))) + " " + shown


async def advance(
    message: Message,
    form: Form,
    db: Database,
    draft: Draft,
    member: Member,
    new: FormState,
    *,
    kind: str,
    note: str = "",
    edit: bool = False,
    tz: ZoneInfo | None = None,
) -> Draft:
    """Store the new state of the draft (committed before any reply), then show what comes next. Back at the
    preview after adding an optional part, the parts still empty are offered at once."""
    field = draft.state.step
    draft = await save_form(db, draft, new, actor_id=member.id, kind=kind, detail={"field": field})
    view = keyboards.View.SUMMARY
    if new.step == PREVIEW and field != PREVIEW and not form.is_required(form[field], new.answers):
        view = keyboards.View.DETAILS if form.details(new.answers) else view
    await show(message, form, draft, new, note, view=view, edit=edit, db=db, tz=tz)
    return draft


async def active_draft(state: FSMContext, db: Database, member: Member | None) -> Draft | None:
    if member is None:
        return None
    draft_id = (await state.get_data()).get("draft")
    draft = await get_draft(db, int(draft_id)) if draft_id else None
    if draft is None or not draft.writable_by(member.id) or draft.status not in EDITABLE:
        return None
    return draft


async def draft_for_button(query: CallbackQuery, db: Database, member: Member | None, draft_id: int) -> Draft | None:
    """The member's own open draft (or one they write for its author) a button names; otherwise the press is
    answered with why nothing happens."""
    draft = await get_draft(db, draft_id)
    if member is None or draft is None or not draft.writable_by(member.id) or not isinstance(query.message, Message):
        await query.answer(_("This button is out of date."), show_alert=True)
        return None
    if draft.status not in EDITABLE:
        closed = (
            _("This initiative was already submitted as {number}.").format(number=draft.number)
            if draft.number
            else _("This draft is no longer open.")
        )
        await query.answer(closed, show_alert=True)
        return None
    return draft


async def open_draft(state: FSMContext, draft: Draft) -> None:
    await state.set_state(Drafting.filling)
    await state.set_data({"draft": draft.id})
