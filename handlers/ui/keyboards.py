"""Pure keyboard builders; labels are translated with the current locale.

Markups are built from plain lists: aiogram's KeyboardBuilder deep-copies every button on export, which
cost a quarter of the time of each form update (bench/form_flow.py, profiled)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from forms.engine import PREVIEW, Form, FormState
from forms.errors import N_
from forms.template import Field, Kind
from handlers.ui.callbacks import (
    DraftAction,
    DraftCb,
    LangCb,
    Nav,
    ProfileCb,
    ProfileItem,
    ProxyAction,
    ProxyCb,
    UnitCb,
    form_data,
)
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


def share_phone(has_phone: bool) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]]
    if has_phone:
        rows.append([KeyboardButton(text=_("Remove the number"))])
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, one_time_keyboard=True)


def units(found: Sequence[Unit]) -> InlineKeyboardMarkup:
    return markup([[button(unit.name[:60], UnitCb(unit=unit.id or 0))] for unit in found])


def profile() -> InlineKeyboardMarkup:
    items = [
        (_("Change name"), ProfileItem.NAME),
        (_("Change unit"), ProfileItem.UNIT),
        (_("Change phone"), ProfileItem.PHONE),
        (_("Language"), ProfileItem.LANGUAGE),
    ]
    link = button(_("🔗 Link another app"), ProfileCb(item=ProfileItem.LINK))
    return markup([*grid([button(text, ProfileCb(item=item)) for text, item in items], 2), [link]])


class View(IntEnum):
    """What the preview's keyboard shows: the short summary's three buttons, the details to add, or every part."""

    SUMMARY = 0
    DETAILS = 1
    ALL = 2


# A 360-pixel-wide phone leaves about 126 px for the text of a half-width inline button, about 17 average letters
# of Telegram's 15 px button font; wider labels get a row of their own instead of being cut.
HALF = 17.0
_NARROW = set("ilj.,:;'|!() ")


def width(text: str) -> float:
    """The width of a label in average letters: narrow letters and spaces half, m and w one and a half,
    a symbol or emoji two and a half."""
    total = 0.0
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0]
        if ch == "\ufe0f":
            continue
        if unicodedata.category(ch) == "So":
            total += 2.5
        else:
            total += 0.5 if base in _NARROW else 1.5 if base in "mwMW" else 1.0
    return total


def rows_of(labels: Sequence[str]) -> list[list[int]]:
    """Which labels share a row: two side by side when both fit on half the width, else one a row."""
    rows: list[list[int]] = []
    for i, label in enumerate(labels):
        if rows and len(rows[-1]) == 1 and width(labels[rows[-1][0]]) <= HALF and width(label) <= HALF:
            rows[-1].append(i)
        else:
            rows.append([i])
    return rows


def flow(buttons: Sequence[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [[buttons[i] for i in row] for row in rows_of([b.text for b in buttons])]


def controls(form: Form, state: FormState) -> list[tuple[str, Nav]]:
    """The step's control buttons as (English label, action): Today, Done, Start again / Keep, Skip / Remove,
    Add to the previous answer. Also what a press is checked against: a button the step does not show does
    nothing."""
    f = form[state.step]
    shown: list[tuple[str, Nav]] = []
    if f.kind is Kind.DATE:
        shown.append((N_("Today"), Nav.TODAY))
    if f.collects_parts and (state.pending or f.kind is Kind.FILES):
        shown.append((N_("✅ Done"), Nav.DONE))
    answered = f.key in state.answers
    if state.pending and not form.appending(state):
        shown.append((N_("Start this answer again"), Nav.RESTART))
    elif answered and f.kind is not Kind.FILES and not state.pending:
        shown.append((N_("Keep current answer"), Nav.KEEP))
    if not form.is_required(f, state.answers) and not state.pending:
        shown.append((N_("Remove this answer"), Nav.CLEAR) if answered else (N_("Skip"), Nav.KEEP))
    if form.previous_long(state) is not None:
        shown.append((N_("➕ Add to the previous answer"), Nav.APPEND))
    return shown


def offered(form: Form, state: FormState, complete: bool) -> set[Nav]:
    """Every action the keyboard shown for this state offers."""
    if state.step == PREVIEW:
        return {Nav.EDIT, Nav.EXIT, Nav.MORE, *((Nav.SUBMIT,) if complete else ())}
    choice = (Nav.CHOICE,) if any(f.choices for f in form.screen(state.step)) else ()
    return {Nav.BACK, Nav.EXIT, *choice, *(action for _label, action in controls(form, state))}


def step(form: Form, state: FormState, draft_id: int) -> InlineKeyboardMarkup:
    """The choices of every field asked on this screen (the picked one ticked), then Done / Keep / Skip / Remove
    as they apply, "add to the previous answer", then Back and Save & exit."""
    index = form.index(state.step)

    def nav(text: str, action: Nav, value: int = 0, at: int = index) -> InlineKeyboardButton:
        return button(text, form_data(action, draft_id, at, value))

    choices: list[list[InlineKeyboardButton]] = []
    for f in form.screen(state.step):  # laid out by the labels alone, so that a tick does not move the buttons
        labels = [_(c.label) if c.translate else c.label for c in f.choices]
        picked = state.answers.get(f.key)
        ticked = ["✓ " + text if c.key == picked else text for c, text in zip(f.choices, labels, strict=True)]
        at = form.index(f.key)
        choices += [[nav(ticked[i], Nav.CHOICE, i, at) for i in row] for row in rows_of(labels)]
    shown = controls(form, state)
    append = [nav(_(label), action) for label, action in shown if action is Nav.APPEND]
    others = [nav(_(label), action) for label, action in shown if action is not Nav.APPEND]
    return markup([*choices, others, append, [nav(_("⬅️ Back"), Nav.BACK), nav(_("💾 Save & exit"), Nav.EXIT)]])


def preview(form: Form, answers: dict[str, Any], draft_id: int, view: View = View.SUMMARY,
            round_: int = 0, fixes: Sequence[str] = ()) -> InlineKeyboardMarkup:  # fmt: skip
    """The summary: Submit, Add details, Edit. Its two last buttons open, in place, the empty optional parts
    (➕) or every part (✏️ filled, ➕ empty), with short labels. Submit carries the rounds of review so far.
    ``fixes`` are the steps the preview warns about: a ⚠️ button to each, under the others (every part's button
    in the full view)."""
    sending = form_data(Nav.SUBMIT, draft_id, -1, round_)
    submit = [] if form.missing(answers) else [button(_("📨 Submit for review"), sending)]
    details = form.details(answers)
    edit_all = button(_("✏️ Edit"), form_data(Nav.MORE, draft_id, -1, View.ALL))

    def part(f: Field) -> InlineKeyboardButton:
        mark = "⚠️ " if f.key in fixes else "✏️ " if f.key in answers else "➕ "
        return button(mark + _(f.button_label), form_data(Nav.EDIT, draft_id, -1, form.index(f.key)))

    def warned(shown: Sequence[Field] = ()) -> list[list[InlineKeyboardButton]]:  # a step already shown keeps one
        return flow([part(form[key]) for key in dict.fromkeys(fixes) if form[key] not in shown])

    if view is View.SUMMARY:
        add = [button(_("➕ Add details"), form_data(Nav.MORE, draft_id, -1, View.DETAILS))] if details else []
        return markup([submit, *flow([*add, edit_all]), *warned()])
    if view is View.DETAILS:
        return markup([submit, *flow([part(f) for f in details]), *warned(details), [edit_all]])
    exit_ = [button(_("💾 Save & exit"), form_data(Nav.EXIT, draft_id, -1))]
    return markup([submit, *flow([part(f) for f in form.fields]), exit_])


def delete_button(n: int, item: Initiative, member_id: int | None) -> list[InlineKeyboardButton]:
    """Only the author deletes a draft; a team member writing it for them does not."""
    if member_id is not None and item.author_id != member_id:
        return []
    return [button(_("🗑 Delete {n}").format(n=n), DraftCb(action=DraftAction.DELETE, draft=item.id or 0))]


def help_button(n: int, item: Initiative, member_id: int | None) -> list[InlineKeyboardButton]:
    """ "Ask the support team to write it" under the author's own draft that nobody writes or was asked to yet."""
    if item.author_id != member_id or item.status != "draft" or item.helper_id or item.help_asked_at:
        return []
    return [button(_("🤝 Ask the team {n}").format(n=n), ProxyCb(action=ProxyAction.ASK, id=item.id or 0))]


def drafts(items: Sequence[Initiative], member_id: int | None = None) -> InlineKeyboardMarkup:
    return markup(
        [
            [
                button(_("▶️ Continue {n}").format(n=n), DraftCb(action=DraftAction.RESUME, draft=d.id or 0)),
                *delete_button(n, d, member_id),
                *help_button(n, d, member_id),
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
