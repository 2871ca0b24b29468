"""Plain-text channel: Telegram HTML and keyboards as text, typed answers as choices.

Everything here is pure: no I/O, no state. A channel without buttons (Zalo: plain text, at most 2,000 characters
a message, no edits) shows a keyboard as numbered lines and reads a typed number or label back as the button.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, TypeAlias

from aiogram.types import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

Markup: TypeAlias = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply | None

__all__ = [
    "Choice",
    "Markup",
    "Menu",
    "choices_of",
    "fold",
    "html_to_text",
    "match",
    "match_command",
    "render",
    "split_text",
]


# --- HTML ---------------------------------------------------------------------------------------------------


class _TextParser(HTMLParser):
    """Collects the text of Telegram HTML; a link's label gets its address after it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._links: list[tuple[int, str]] = []  # (index in out where the label starts, href)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._links.append((len(self.out), dict(attrs).get("href") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            start, href = self._links.pop()
            label = "".join(self.out[start:])
            if _shows_link(label, href):
                self.out.append(f" ({href})" if label.strip() else href)

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def close(self) -> None:
        super().close()
        while self._links:  # an <a> left open: still show where it points
            self.handle_endtag("a")


def _shows_link(label: str, href: str) -> bool:
    """Whether a link's address is worth showing: not empty, not the label, not a Telegram-only address."""
    href = href.strip()
    return bool(href) and href != label.strip() and not href.lower().startswith("tg:")


def html_to_text(html: str) -> str:
    """Telegram HTML as plain text: tags dropped, their text kept, entities unescaped, links as "label (URL)".

    Links to tg: addresses (user mentions) keep only their label: the address means nothing outside Telegram.
    """
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return "".join(parser.out)


# --- Splitting ----------------------------------------------------------------------------------------------

# Whitespace a line may break at: not a newline, not a no-break space.
_GAP = r"[^\S\n\u00a0\u2007\u202f]+"
# Boundaries in order of preference; each match is the separator dropped between two parts.
_BOUNDARIES = (
    re.compile(r"\n(?:[^\S\n]*\n)+"),  # a blank line (or several)
    re.compile(r"\n"),  # a line end
    re.compile(r"(?<=[.!?…])" + _GAP),  # a sentence end
    re.compile(_GAP),  # a space
)
_NEWLINES = "\r\n"
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}  # zero-width joiner, variation selectors


def _glued(text: str, at: int) -> bool:
    """Whether cutting before text[at] would split a letter from its mark or an emoji sequence."""
    ch = text[at]
    return unicodedata.category(ch).startswith("M") or ch in _JOINERS or text[at - 1] == "\u200d"


def split_text(text: str, limit: int = 2000) -> list[str]:
    """The text in parts of at most `limit` characters, for channels that cap a message's length.

    Each part is as long as it can be and ends, in order of preference, at a blank line, a line end, a sentence
    end or a space; only a single word longer than the limit is cut. The whitespace at a cut is dropped (it is
    the separator), and parts lose their leading and trailing newlines, never other characters. Parts holding
    only whitespace are left out, so blank text gives [].
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    found = [[(m.start(), m.end()) for m in boundary.finditer(text)] for boundary in _BOUNDARIES]
    starts = [[start for start, _ in matches] for matches in found]
    end = len(text.rstrip(_NEWLINES))
    parts: list[str] = []
    pos = 0
    while True:
        while pos < end and text[pos] in _NEWLINES:
            pos += 1
        if end - pos <= limit:
            if text[pos:end].strip():
                parts.append(text[pos:end])
            return parts
        cut, resume = pos + limit, pos + limit
        for matches, level_starts in zip(found, starts, strict=True):
            i = bisect_right(level_starts, pos + limit) - 1
            if i >= 0 and matches[i][0] > pos:
                cut, resume = matches[i]
                break
        else:  # one word longer than the limit
            while cut > pos + 1 and _glued(text, cut):
                cut -= 1
            resume = cut
        part = text[pos:cut].rstrip(_NEWLINES)
        if part.strip():
            parts.append(part)
        pos = resume


# --- Folding ------------------------------------------------------------------------------------------------

_NOT_ALNUM = re.compile(r"[\W_]+")
_D = str.maketrans({"đ": "d", "Đ": "d", "Ð": "d"})  # Ð (eth) is typed for Đ by some old Vietnamese keyboards


def fold(text: str) -> str:
    """A typed answer reduced for matching: no diacritics, đ → d, case folded, symbols and emoji as one space."""
    text = unicodedata.normalize("NFKD", text.translate(_D).casefold())
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))
    return _NOT_ALNUM.sub(" ", text).strip()


# --- Choices ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One button a text channel can offer: an inline button (callback_data) or a reply button (text)."""

    label: str
    callback_data: str | None = None
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "callback_data": self.callback_data, "text": self.text}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Choice:
        label, callback_data, text = data.get("label"), data.get("callback_data"), data.get("text")
        if not isinstance(label, str) or not all(v is None or isinstance(v, str) for v in (callback_data, text)):
            raise ValueError(f"not a stored choice: {data!r}")
        return cls(label=label, callback_data=callback_data, text=text)


@dataclass(frozen=True)
class Menu:
    """The choices last shown in a chat and the message that showed them."""

    choices: tuple[Choice, ...]
    message_id: int

    def to_json(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "choices": [choice.to_json() for choice in self.choices]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Menu:
        message_id, choices = data.get("message_id"), data.get("choices")
        if isinstance(message_id, bool) or not isinstance(message_id, int) or not isinstance(choices, list):
            raise ValueError(f"not a stored menu: {data!r}")
        return cls(choices=tuple(Choice.from_json(choice) for choice in choices), message_id=message_id)


# Reply-button fields that only change how the button looks; any other field asks for something a text channel
# cannot do (a contact, a location, a poll, a web app...).
_LOOKS = {"text", "icon_custom_emoji_id", "style"}


def _plain(button: KeyboardButton) -> bool:
    fields = button.model_dump(exclude_none=True)
    return all(value is False for name, value in fields.items() if name not in _LOOKS)


def _pressable(button: InlineKeyboardButton) -> bool:
    return button.callback_data is not None and button.disabled is None


def choices_of(markup: Markup) -> list[Choice]:
    """The choices a keyboard offers, row by row: inline buttons with callback data, plain reply buttons."""
    if isinstance(markup, InlineKeyboardMarkup):
        return [
            Choice(label=button.text, callback_data=button.callback_data)
            for row in markup.inline_keyboard
            for button in row
            if _pressable(button)
        ]
    if isinstance(markup, ReplyKeyboardMarkup):
        return [
            Choice(label=button.text, text=button.text) for row in markup.keyboard for button in row if _plain(button)
        ]
    return []


def _links_of(markup: Markup) -> list[str]:
    if not isinstance(markup, InlineKeyboardMarkup):
        return []
    return [
        button.url if button.text.strip() == button.url.strip() else f"{button.text}: {button.url}"
        for row in markup.inline_keyboard
        for button in row
        if button.url and button.disabled is None
    ]


# A line that starts with a number and a dot (or a parenthesis): numbered content, like a list of choices.
_NUMBERED_LINE = re.compile(r"^[^\S\n]*[0-9]{1,9}[.)](?:[^\S\n]|$)", re.MULTILINE)


def numbered_lines(text: str) -> bool:
    """Whether plain text has lines of its own that start like a choice does ("1. …", "2) …")."""
    return _NUMBERED_LINE.search(text) is not None


def render(text: str, markup: Markup = None, hint: str | None = None, heading: str | None = None) -> str:
    """The message as plain text: the text, a blank line, the choices as "1. label", then link buttons.

    `hint` (already translated, e.g. how to answer) is the last line when there are numbered choices. `heading`
    (already translated, e.g. "Type the number of your choice:") is the line above the choices when the text has
    numbered lines of its own (a list of drafts, the steps of a help text), so that nobody takes the text's
    numbers for the choices': the choices keep their "1. label" form.
    """
    body = html_to_text(text).strip()
    choices = choices_of(markup)
    lines = [f"{n}. {choice.label}" for n, choice in enumerate(choices, 1)] + _links_of(markup)
    if choices and heading and numbered_lines(body):
        lines.insert(0, heading)
    if choices and hint:
        lines.append(hint)
    return "\n\n".join(block for block in (body, "\n".join(lines)) if block)


# --- Reading answers ----------------------------------------------------------------------------------------

_NUMBER = re.compile(r"([0-9]{1,9})\.?")
_SPACES = re.compile(r"\s+")


def _bare(text: str) -> str:
    """Text without spaces and emoji variation marks: how an answer of symbols only is compared."""
    return "".join(ch for ch in _SPACES.sub("", unicodedata.normalize("NFC", text)) if ch not in _JOINERS)


def _only(found: Sequence[Choice]) -> Choice | None:
    return found[0] if len(found) == 1 else None


def match(typed: str, choices: Sequence[Choice], aliases: Mapping[str, str] | None = None) -> Choice | None:
    """The choice a typed answer picks, or None: free text is never taken for a choice by accident.

    A choice is picked by its number (1 to len(choices), a trailing "." allowed), by its label as folded by
    fold(), or by an alias: a folded word mapped to a folded label. Ambiguity gives None: two choices with the
    same folded label, or a number that is one choice's position and another choice's label.
    """
    if not typed.strip() or not choices:
        return None
    folded = fold(typed)
    if folded:
        by_label = [choice for choice in choices if fold(choice.label) == folded]
    else:  # emoji or symbols only: compare them as they are
        by_label = [choice for choice in choices if _bare(choice.label) == _bare(typed)]
    number = _NUMBER.fullmatch(unicodedata.normalize("NFKC", typed).strip())
    if number:
        index = int(number.group(1))
        by_number = choices[index - 1] if 1 <= index <= len(choices) else None
        if by_number is not None:
            return by_number if not by_label or by_label == [by_number] else None
    if by_label:
        return _only(by_label)
    if aliases and folded:
        wanted = {fold(key): fold(value) for key, value in aliases.items()}.get(folded)
        if wanted:
            return _only([choice for choice in choices if fold(choice.label) == wanted])
    return None


_TICKET = re.compile(r"(?<!\w)SK[^\S\n]*[-–—]?[^\S\n]*([0-9]{1,9})(?!\w)", re.IGNORECASE)
_REASON_SEPARATORS = ":-–—,;."


def match_command(typed: str, labels: Mapping[str, str]) -> tuple[str, str, str] | None:
    """A support-group command such as "Trả lại SK-000123: thiếu số liệu", as (key, "SK-000123", reason).

    `labels` maps a folded command label ("nhan kiem tra", "take", ...) to the caller's key. The words before the
    number must be the start, in whole words, of exactly one key's labels; a label equal to the words wins over
    labels they only start. The reason is what follows the number and an optional separator (":", "-", "–",
    ","), stripped and in NFC; "" when there is none. Anything else gives None.
    """
    text = unicodedata.normalize("NFC", typed).strip()
    ticket = _TICKET.search(text)
    if not ticket:
        return None
    words = fold(text[: ticket.start()]).split()
    if not words:
        return None
    exact: set[str] = set()
    starts: set[str] = set()
    for label, key in labels.items():
        label_words = fold(label).split()
        if label_words == words:
            exact.add(key)
        elif label_words[: len(words)] == words:
            starts.add(key)
    keys = exact or starts
    if len(keys) != 1:
        return None
    reason = text[ticket.end() :].strip()
    if reason[:1] and reason[0] in _REASON_SEPARATORS:
        reason = reason[1:].strip()
    return keys.pop(), f"SK-{int(ticket.group(1)):06d}", reason
