"""Rendering answers for display, in the user's language, as Telegram HTML (user text always escaped)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from forms.eligibility import Concern
from forms.engine import PREVIEW, Form, FormState
from forms.errors import N_
from forms.formats import format_count, format_date_answer, format_money, language
from forms.money import Money, Period
from forms.render_concerns import concern_blocks
from forms.template import Field, Kind

Gettext = Callable[..., str]  # gettext(message) and, for plurals, gettext(singular, plural, n)
PREVIEW_FIELD_CHARS = 350
MESSAGE_LIMIT = 4000

_PER = {
    Period.YEAR: N_("{amount}/year"),
    Period.QUARTER: N_("{amount}/quarter"),
    Period.MONTH: N_("{amount}/month"),
    Period.WEEK: N_("{amount}/week"),
}


def ngettext(singular: str, plural: str, n: int, _: Gettext) -> str:
    """The plural form for ``n`` through the caller's gettext (named so that pybabel extracts both forms)."""
    return str(_(singular, plural, n))


def money_text(money: Money, _: Gettext, locale: str) -> str:
    if money.is_none:
        return _("no money benefit")
    text = _(_PER[money.period]).format(amount=format_money(money.amount, locale))
    if money.period is not Period.YEAR:
        text += " " + _("(= {amount}/year)").format(amount=format_money(money.per_year, locale))
    if money.approximate:
        text = _("about {amount}").format(amount=text)
    return text


def value_text(f: Field, value: Any, _: Gettext, locale: str, *, limit: int | None = None) -> str:
    """One answer as escaped HTML; long text is shortened to ``limit`` characters with a visible note."""
    if f.kind is Kind.CHOICE:
        choice = next((c for c in f.choices if c.key == value), None)
        return escape(value if choice is None else (_(choice.label) if choice.translate else choice.label))
    if f.kind is Kind.DATE:
        return escape(format_date_answer(value, locale))
    if f.kind is Kind.MONEY:
        return escape(money_text(Money.from_json(value), _, locale))
    if f.kind is Kind.AUTHORS:
        return "\n".join(escape(f"{a['name']} – {a['share']}%") for a in value)
    if f.kind is Kind.FILES:
        return escape(ngettext("{count} file", "{count} files", len(value), _).format(count=len(value)))
    text = str(value)
    if limit is not None and len(text) > limit:
        shown = escape(text[:limit].rstrip())
        return shown + "… " + escape(_("({count} characters in all)").format(count=format_count(len(text), locale)))
    return escape(text)


def prompt_text(form: Form, state: FormState, _: Gettext, locale: str) -> str:
    """The question for the current step: step k/n, label, one line of help, an example, what is kept. Choice
    fields asked on one keyboard are one message: each its step and label, then its help or, once picked, ✓ its
    answer."""
    f = form[state.step]
    screen = form.screen(state.step)
    if len(screen) > 1:
        lines = []
        for s in screen:
            k, n = form.position(s.key)
            head = _("Step {k}/{n}").format(k=k, n=n) + f" · <b>{escape(_(s.label))}</b>"
            if s.key in state.answers:
                lines.append(f"{head}: ✓ {value_text(s, state.answers[s.key], _, locale)}")
            else:
                lines += [head, escape(_(s.help))]
        return "\n".join(lines)
    k, n = form.position(f.key)
    required = form.is_required(f, state.answers)
    lines = [
        _("Step {k}/{n}").format(k=k, n=n)
        + f" · <b>{escape(_(f.label))}</b>"
        + ("" if required else " " + escape(_("(optional)"))),
        escape(_(f.help)),
    ]
    field_help, field_example = form.guidance(f.key, state.answers, language(locale))
    if field_help:  # the picked field of work's own line, under the general question
        lines.append("💡 " + escape(field_help))
    example = field_example or (_(f.example) if f.example else "")
    if example:
        lines.append("<i>" + escape(_("Example: {example}").format(example=example)) + "</i>")
    if f.key in state.answers:
        current = value_text(f, state.answers[f.key], _, locale, limit=PREVIEW_FIELD_CHARS)
        lines.append("\n" + escape(_("Current answer:")) + "\n" + current)
    if form.appending(state):
        lines.append("\n" + escape(_("Send what to add: it goes at the end of the current answer.")))
    elif state.pending:
        lines.append("\n" + parts_text(state, _))
    return "\n".join(lines)


def parts_text(state: FormState, _: Gettext) -> str:
    """How many pieces of a long answer arrived (a worker on a weak network checks that none was lost)."""
    parts = len(state.pending)
    return escape(
        ngettext("Received {parts} part. Send more, or press Done.", "Received {parts} parts. Send more, or press "
                 "Done.", parts, _).format(parts=parts)
    )  # fmt: skip


def preview_chunks(form: Form, answers: dict[str, Any], _: Gettext, locale: str,
                   concerns: Sequence[Concern] = ()) -> list[str]:  # fmt: skip
    """The filled parts of the draft (long ones shortened), the empty ones named on one line, then what would make
    it ineligible or weak, split into messages that fit Telegram's limit."""
    blocks = ["<b>" + escape(_("Preview of your initiative")) + "</b>"]
    for f in form.fields:
        if f.key in answers:
            sep = "\n" if f.kind is Kind.AUTHORS else " "
            value = value_text(f, answers[f.key], _, locale, limit=PREVIEW_FIELD_CHARS)
            blocks.append(f"<b>{escape(_(f.label))}:</b>{sep}{value}")
    empty = form.details(answers)
    if empty:
        names = ", ".join(_(f.button_label) for f in empty)
        blocks.append("<i>" + escape(_("Not filled in (optional): {fields}.").format(fields=names)) + "</i>")
    missing = form.missing(answers)
    if missing:
        names = ", ".join(_(f.label) for f in missing)
        blocks.append("⚠️ " + escape(_("Still missing: {fields}.").format(fields=names)))
    else:
        blocks.append(escape(_("Everything required is there: you can submit it now, or add details first.")))
    return pack([*blocks, *concern_blocks(concerns, _, locale, complete=not missing)], "\n")


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
