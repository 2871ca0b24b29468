"""Rendering answers for display, in the user's language, as Telegram HTML (user text always escaped)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from html import escape
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency

from forms.engine import PREVIEW, Form, FormState
from forms.errors import N_
from forms.money import Money, Period
from forms.template import Field, Kind

Gettext = Callable[[str], str]
PREVIEW_FIELD_CHARS = 350
MESSAGE_LIMIT = 4000

_PER = {
    Period.YEAR: N_("{amount}/year"),
    Period.QUARTER: N_("{amount}/quarter"),
    Period.MONTH: N_("{amount}/month"),
    Period.WEEK: N_("{amount}/week"),
}


def money_text(money: Money, _: Gettext, locale: str) -> str:
    if money.is_none:
        return _("no money benefit")
    text = _(_PER[money.period]).format(amount=format_currency(money.amount, "VND", locale=locale))
    if money.period is not Period.YEAR:
        per_year = format_currency(money.per_year, "VND", locale=locale)
        text += " " + _("(= {amount}/year)").format(amount=per_year)
    if money.approximate:
        text = _("about {amount}").format(amount=text)
    return text


def date_text(value: date, locale: str) -> str:
    return format_date(value, "medium", locale=locale)


def value_text(f: Field, value: Any, _: Gettext, locale: str, *, limit: int | None = None) -> str:
    """One answer as escaped HTML; long text is shortened to ``limit`` characters with a visible note."""
    if f.kind is Kind.CHOICE:
        choice = next((c for c in f.choices if c.key == value), None)
        return escape(value if choice is None else (_(choice.label) if choice.translate else choice.label))
    if f.kind is Kind.DATE:
        return escape(date_text(date.fromisoformat(value), locale))
    if f.kind is Kind.MONEY:
        return escape(money_text(Money.from_json(value), _, locale))
    if f.kind is Kind.AUTHORS:
        return "\n".join(escape(f"{a['name']} – {a['share']}%") for a in value)
    if f.kind is Kind.FILES:
        return escape(_("{count} file(s)").format(count=len(value)))
    text = str(value)
    if limit is not None and len(text) > limit:
        shown = escape(text[:limit].rstrip())
        return shown + "… " + escape(_("({count} characters in all)").format(count=len(text)))
    return escape(text)


def prompt_text(form: Form, state: FormState, _: Gettext, locale: str) -> str:
    """The question for the current step: step k/n, label, one line of help, an example, what is kept."""
    f = form[state.step]
    k, n = form.position(f.key)
    required = form.is_required(f, state.answers)
    lines = [
        _("Step {k}/{n}").format(k=k, n=n)
        + f" · <b>{escape(_(f.label))}</b>"
        + ("" if required else " " + escape(_("(optional)"))),
        escape(_(f.help)),
    ]
    if f.example:
        lines.append("<i>" + escape(_("Example: {example}").format(example=_(f.example))) + "</i>")
    if f.key in state.answers:
        current = value_text(f, state.answers[f.key], _, locale, limit=PREVIEW_FIELD_CHARS)
        lines.append("\n" + escape(_("Current answer:")) + "\n" + current)
    if state.pending:
        lines.append("\n" + parts_text(state, _))
    return "\n".join(lines)


def parts_text(state: FormState, _: Gettext) -> str:
    chars = sum(len(p) for p in state.pending) + len(state.pending) - 1
    return escape(
        _("Received {parts} part(s), {chars} characters. Send more, or press Done.").format(
            parts=len(state.pending), chars=chars
        )
    )


def preview_chunks(form: Form, answers: dict[str, Any], _: Gettext, locale: str) -> list[str]:
    """The whole draft, field by field, split into messages that fit Telegram's limit."""
    blocks = ["<b>" + escape(_("Preview of your initiative")) + "</b>"]
    for f in form.fields:
        if f.key in answers:
            value = value_text(f, answers[f.key], _, locale, limit=PREVIEW_FIELD_CHARS)
        else:
            value = "<i>" + escape(_("(missing)") if form.is_required(f, answers) else _("(empty)")) + "</i>"
        blocks.append(f"<b>{escape(_(f.label))}</b>\n{value}")
    missing = form.missing(answers)
    if missing:
        names = ", ".join(_(f.label) for f in missing)
        blocks.append("⚠️ " + escape(_("Still missing: {fields}.").format(fields=names)))
    else:
        blocks.append(escape(_("Check each part. Press a field to change it, or Submit to send it for review.")))
    return pack(blocks, "\n\n")


def step_label(form: Form, step: str, _: Gettext) -> str:
    if step == PREVIEW:
        return _("preview")
    k, n = form.position(step)
    return _("step {k}/{n}").format(k=k, n=n)


def full_text_chunks(form: Form, answers: dict[str, Any], _: Gettext, locale: str, heading: str) -> list[str]:
    """Every answer in full, split into messages that fit Telegram's limit; nothing is cut."""
    blocks = [heading]
    for f in form.fields:
        if f.key not in answers or f.kind is Kind.FILES:
            continue
        label = f"<b>{escape(_(f.label))}</b>\n"
        value = str(answers[f.key]) if f.kind in (Kind.TEXT, Kind.LONGTEXT) else None
        pieces = _split(value, MESSAGE_LIMIT - len(label) - 20) if value else [value_text(f, answers[f.key], _, locale)]
        blocks += [label + (escape(piece) if value else piece) for piece in pieces]
    return pack(blocks, "\n\n")


def group_blocks(blocks: Sequence[str], sep: str = "\n", limit: int = MESSAGE_LIMIT) -> list[list[int]]:
    """The indices of consecutive blocks that fit together in one message of at most ``limit`` characters."""
    groups: list[list[int]] = []
    size = 0
    for i, block in enumerate(blocks):
        if groups and size + len(sep) + len(block) <= limit:
            groups[-1].append(i)
            size += len(sep) + len(block)
        else:
            groups.append([i])
            size = len(block)
    return groups


def pack(blocks: Sequence[str], sep: str = "\n", limit: int = MESSAGE_LIMIT) -> list[str]:
    """Blocks (lines, paragraphs) joined into as few messages as fit Telegram's limit, cut only between blocks;
    a block too long on its own is cut at a line break or a space."""
    pieces = [piece for block in blocks for piece in (_split(block, limit) if len(block) > limit else [block])]
    return [sep.join(pieces[i] for i in group) for group in group_blocks(pieces, sep, limit)]


def _split(text: str, size: int) -> list[str]:
    """Pieces of at most ``size`` characters, cut at a line break or a space where possible."""
    pieces: list[str] = []
    while len(text) > size:
        cut = max(text.rfind("\n", 0, size), text.rfind(" ", 0, size))
        cut = cut if cut > size // 2 else size
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pieces, text]
