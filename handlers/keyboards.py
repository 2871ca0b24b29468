"""Pure keyboard builders; labels are translated with the current locale.

Markups are built from plain lists: aiogram's KeyboardBuilder deep-copies every button on export, which
cost a quarter of the time of each form update (bench/form_flow.py, profiled)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from forms.engine import PREVIEW, Form, FormState
from forms.errors import N_
from forms.template import Kind
from handlers.callbacks import DraftAction, DraftCb, LangCb, Nav, ProfileCb, ProfileItem, UnitCb, form_data
from storage.models import Initiative, Unit


def button(text: str, data: CallbackData | str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data if isinstance(data, str) else data.pack())


def grid(buttons: Sequence[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def languages() -> InlineKeyboardMarkup:
    return markup([[button("🇻🇳 Tiếng Việt", LangCb(code="vi")), button("🇬🇧 English", LangCb(code="en"))]])


def name_suggestions(first: str, last: str | None) -> ReplyKeyboardMarkup | None:
    """The Telegram name in both orders: Vietnamese writes the family name first."""
    names = [f"{last} {first}", f"{first} {last}"] if last else [first]
    rows = [[KeyboardButton(text=name[:100])] for name in dict.fromkeys(n.strip() for n in names) if name]
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, one_time_keyboard=True) if rows else None


def share_phone() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)],
            [KeyboardButton(text=_("Skip"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def units(found: Sequence[Unit]) -> InlineKeyboardMarkup:
    return markup([[button(unit.name[:60], UnitCb(unit=unit.id or 0))] for unit in found])


def profile() -> InlineKeyboardMarkup:
    items = [
        (_("Change name"), ProfileItem.NAME),
        (_("Change unit"), ProfileItem.UNIT),
        (_("Change phone"), ProfileItem.PHONE),
        (_("Language"), ProfileItem.LANGUAGE),
    ]
    return markup(grid([button(text, ProfileCb(item=item)) for text, item in items], 2))


def controls(form: Form, state: FormState) -> list[tuple[str, Nav]]:
    """The step's control buttons as (English label, action): Today, Done, Start again / Keep, Skip / Remove.
    Also what a press is checked against: a button the step does not show does nothing."""
    f = form[state.step]
    shown: list[tuple[str, Nav]] = []
    if f.kind is Kind.DATE:
        shown.append((N_("Today"), Nav.TODAY))
    if f.collects_parts and (state.pending or f.kind is Kind.FILES):
        shown.append((N_("✅ Done"), Nav.DONE))
    answered = f.key in state.answers
    if state.pending:
        shown.append((N_("Start this answer again"), Nav.RESTART))
    elif answered and f.kind is not Kind.FILES:
        shown.append((N_("Keep current answer"), Nav.KEEP))
    if not form.is_required(f, state.answers) and not state.pending:
        shown.append((N_("Remove this answer"), Nav.CLEAR) if answered else (N_("Skip"), Nav.KEEP))
    return shown


def offered(form: Form, state: FormState, complete: bool) -> set[Nav]:
    """Every action the keyboard shown for this state offers."""
    if state.step == PREVIEW:
        return {Nav.EDIT, Nav.EXIT, *((Nav.SUBMIT,) if complete else ())}
    choice = (Nav.CHOICE,) if form[state.step].choices else ()
    return {Nav.BACK, Nav.EXIT, *choice, *(action for _label, action in controls(form, state))}


def step(form: Form, state: FormState, draft_id: int) -> InlineKeyboardMarkup:
    """Choices (if any), then Done / Keep / Skip / Remove as they apply, then Back and Save & exit."""
    f = form[state.step]
    index = form.index(f.key)

    def nav(text: str, action: Nav, value: int = 0) -> InlineKeyboardButton:
        return button(text, form_data(action, draft_id, index, value))

    choices = [[nav(_(c.label) if c.translate else c.label, Nav.CHOICE, i)] for i, c in enumerate(f.choices)]
    shown = [nav(_(label), action) for label, action in controls(form, state)]
    return markup([*choices, shown, [nav(_("⬅️ Back"), Nav.BACK), nav(_("💾 Save & exit"), Nav.EXIT)]])


def preview(form: Form, draft_id: int, complete: bool) -> InlineKeyboardMarkup:
    edits = [button("✏️ " + _(f.label), form_data(Nav.EDIT, draft_id, -1, i)) for i, f in enumerate(form.fields)]
    last = [button(_("💾 Save & exit"), form_data(Nav.EXIT, draft_id, -1))]
    if complete:
        last.insert(0, button(_("📨 Submit for review"), form_data(Nav.SUBMIT, draft_id, -1)))
    return markup([*grid(edits, 2), last])


def drafts(items: Sequence[Initiative]) -> InlineKeyboardMarkup:
    return markup(
        [
            [
                button(_("▶️ Continue {n}").format(n=n), DraftCb(action=DraftAction.RESUME, draft=d.id or 0)),
                button(_("🗑 Delete {n}").format(n=n), DraftCb(action=DraftAction.DELETE, draft=d.id or 0)),
            ]
            for n, d in enumerate(items, start=1)
        ]
    )


def confirm_delete(draft_id: int) -> InlineKeyboardMarkup:
    return markup(
        [
            [
                button(_("Yes, delete it"), DraftCb(action=DraftAction.CONFIRM, draft=draft_id)),
                button(_("No, keep it"), DraftCb(action=DraftAction.KEEP, draft=draft_id)),
            ]
        ]
    )
