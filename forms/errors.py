"""A parse or validation error that the user sees, as a gettext msgid plus format parameters."""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a string for translation without translating it (extracted by pybabel)."""
    return message


class FormError(ValueError):
    """Raised by parsers; ``msgid`` is English, translated by the caller, then formatted with ``params``."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params
