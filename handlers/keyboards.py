"""Pure keyboard builders; labels are translated with the current locale."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder, KeyboardBuilder

from forms.engine import PREVIEW, Form, FormState
from forms.template import Kind
from handlers.callbacks import (
    DraftAction,
    DraftCb,
    FormCb,
    LangCb,
    Nav,
    ProfileCb,
    ProfileItem,
    UnitCb,
)  # fmt: skip
from storage.models import Initiative, Unit


def _inline(kb: KeyboardBuilder[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=kb.export())


def languages() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="🇻🇳 Tiếng Việt", callback_data=LangCb(code="vi"))
    kb.button(text="🇬🇧 English", callback_data=LangCb(code="en"))
    return _inline(kb)


def name_suggestions(first: str, last: str | None) -> ReplyKeyboardMarkup | None:
    """The Telegram name in both orders: Vietnamese writes the family name first."""
    names = [f"{last} {first}", f"{first} {last}"] if last else [first]
    rows = [[KeyboardButton(text=name[:100])] for name in dict.fromkeys(n.strip() for n in names) if name]
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, one_time_keyboard=True) if rows else None


def share_phone() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)],
                  [KeyboardButton(text=_("Skip"))]],
        resize_keyboard=True, one_time_keyboard=True,
    )  # fmt: skip


def units(found: Sequence[Unit]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for unit in found:
        kb.button(text=unit.name[:60], callback_data=UnitCb(unit=unit.id or 0))
    return _inline(kb.adjust(1))


def profile() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Change name"), callback_data=ProfileCb(item=ProfileItem.NAME))
    kb.button(text=_("Change unit"), callback_data=ProfileCb(item=ProfileItem.UNIT))
    kb.button(text=_("Change phone"), callback_data=ProfileCb(item=ProfileItem.PHONE))
    kb.button(text=_("Language"), callback_data=ProfileCb(item=ProfileItem.LANGUAGE))
    return _inline(kb.adjust(2))


def step(form: Form, state: FormState, draft_id: int) -> InlineKeyboardMarkup:
    """Choices (if any), then Done / Keep / Skip / Clear as they apply, then Back and Save & exit."""
    f = form[state.step]
    index = form.index(f.key)
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []

    def add(text: str, action: Nav, value: int = 0) -> None:
        kb.button(text=text, callback_data=FormCb(action=action, draft=draft_id, step=index, value=value))

    for i, choice in enumerate(f.choices):
        add(_(choice.label) if choice.translate else choice.label, Nav.CHOICE, i)
    sizes += [1] * len(f.choices)
    row: list[tuple[str, Nav]] = []
    if f.kind is Kind.DATE:
        row.append((_("Today"), Nav.TODAY))
    if f.collects_parts and (state.pending or f.kind is Kind.FILES):
        row.append((_("✅ Done"), Nav.DONE))
    if state.pending:
        row.append((_("Start this answer again"), Nav.RESTART))
    elif f.key in state.answers and f.kind is not Kind.FILES:
        row.append((_("Keep current answer"), Nav.KEEP))
    required = form.is_required(f, state.answers)
    if not required and f.key not in state.answers and not state.pending:
        row.append((_("Skip"), Nav.KEEP))
    if not required and f.key in state.answers and not state.pending:
        row.append((_("Remove this answer"), Nav.CLEAR))
    for text, action in row:
        add(text, action)
    sizes += [len(row)] if row else []
    add(_("⬅️ Back"), Nav.BACK)
    add(_("💾 Save & exit"), Nav.EXIT)
    sizes.append(2)
    return _inline(kb.adjust(*sizes))


def preview(form: Form, draft_id: int, complete: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for i, f in enumerate(form.fields):
        kb.button(text="✏️ " + _(f.label), callback_data=FormCb(action=Nav.EDIT, draft=draft_id, step=-1, value=i))
    if complete:
        kb.button(text=_("📨 Submit for review"), callback_data=FormCb(action=Nav.SUBMIT, draft=draft_id, step=-1))
    kb.button(text=_("💾 Save & exit"), callback_data=FormCb(action=Nav.EXIT, draft=draft_id, step=-1))
    return _inline(kb.adjust(2))


def drafts(items: Sequence[Initiative]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for n, draft in enumerate(items, start=1):
        kb.button(
            text=_("▶️ Continue {n}").format(n=n),
            callback_data=DraftCb(action=DraftAction.RESUME, draft=draft.id or 0),
        )
        kb.button(
            text=_("🗑 Delete {n}").format(n=n),
            callback_data=DraftCb(action=DraftAction.DELETE, draft=draft.id or 0),
        )
    return _inline(kb.adjust(2))


def confirm_delete(draft_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, delete it"), callback_data=DraftCb(action=DraftAction.CONFIRM, draft=draft_id))
    kb.button(text=_("No, keep it"), callback_data=DraftCb(action=DraftAction.KEEP, draft=draft_id))
    return _inline(kb)


def is_preview(state: FormState) -> bool:
    return state.step == PREVIEW
