"""Text normalisation: NFC, trimmed, whitespace collapsed; folding for search (case, diacritics, đ/d)."""

from __future__ import annotations

import re
import unicodedata

from forms.errors import N_, FormError

_SPACES = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn"}


def normalize(text: str, *, multiline: bool = False) -> str:
    """NFC, control characters dropped, runs of spaces collapsed, trimmed.

    Single-line answers fold newlines into spaces; multi-line answers keep at most one blank line.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in _CONTROL)
    if not multiline:
        text = text.replace("\n", " ")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def fold(text: str) -> str:
    """Lower-case, diacritics removed, đ → d, spaces collapsed: for matching what people type."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _SPACES.sub(" ", text.replace("\n", " ")).strip()


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (emoji and punctuation alone do not count)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def clean_answer(raw: str, *, multiline: bool, max_len: int, min_len: int = 1) -> str:
    """Normalise and check an answer; raises FormError with a message the user can act on."""
    text = normalize(raw, multiline=multiline)
    if not text:
        raise FormError(N_("The answer is empty. Please type it again."))
    if not has_words(text):
        raise FormError(N_("Please answer in words: emoji or symbols alone are not enough."))
    if len(text) < min_len:
        raise FormError(N_("The answer is too short: at least {min} characters, please."), min=min_len)
    if len(text) > max_len:
        raise FormError(
            N_("The answer is too long: {length} characters, at most {max} are allowed. Please shorten it."),
            length=len(text),
            max=max_len,
        )
    return text
