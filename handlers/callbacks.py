"""Typed callback data: ids and enums only (Telegram allows 64 bytes)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Nav(StrEnum):
    BACK = "b"
    KEEP = "k"
    CLEAR = "c"
    RESTART = "r"
    DONE = "d"
    EXIT = "x"
    CHOICE = "o"
    TODAY = "t"
    EDIT = "e"
    SUBMIT = "s"


class FormCb(CallbackData, prefix="v1f"):
    """A button of the form; ``step`` is the field index it was shown for (-1 at the preview)."""

    action: Nav
    draft: int
    step: int
    value: int = 0


def form_data(action: Nav, draft: int, step: int, value: int = 0) -> str:
    """``FormCb(...).pack()`` without building a model: a keyboard carries up to 16 of these on every update."""
    return f"v1f:{action.value}:{draft}:{step}:{value}"


class DraftAction(StrEnum):
    RESUME = "r"
    DELETE = "d"
    CONFIRM = "y"
    KEEP = "n"


class DraftCb(CallbackData, prefix="v1d"):
    action: DraftAction
    draft: int


class LangCb(CallbackData, prefix="v1l"):
    code: str


class UnitCb(CallbackData, prefix="v1u"):
    unit: int


class ProfileItem(StrEnum):
    NAME = "n"
    UNIT = "u"
    PHONE = "p"
    LANGUAGE = "l"


class ProfileCb(CallbackData, prefix="v1p"):
    item: ProfileItem


class ReviewAction(StrEnum):
    TAKE = "t"
    CONFIRM = "c"
    CHANGES = "r"
    REJECT = "x"
    FULL = "f"


class ReviewCb(CallbackData, prefix="v1r"):
    """A button of a review card; every press is checked against the database."""

    action: ReviewAction
    initiative: int


class TeamCb(CallbackData, prefix="v1t"):
    """Add a registered member of the group's unit to the support team (picked from a list)."""

    member: int


class ProgressCb(CallbackData, prefix="v1g"):
    """A page of a unit's children in /progress."""

    unit: int
    page: int


class InviteCb(CallbackData, prefix="v1i"):
    """Revoke an invite link."""

    invite: int
