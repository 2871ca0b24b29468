"""Typed callback data: ids and enums only (Telegram allows 64 bytes)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Bounded numbers: a forged button with a 64-byte number fails the filter (and is answered as out of date)
# instead of reaching the database.
Id = Annotated[int, Field(ge=0, lt=2**31)]
Small = Annotated[int, Field(ge=-1, lt=10_000)]


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
    MORE = "m"  # at the preview: show the buttons to add details (value 1) or to edit any part (value 2)
    APPEND = "a"  # re-open the previous long answer to add to it


class FormCb(CallbackData, prefix="v1f"):
    """A button of the form; ``step`` is the field index it was shown for (-1 at the preview)."""

    action: Nav
    draft: Id
    step: Small
    value: Small = 0


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
    draft: Id


class LangCb(CallbackData, prefix="v1l"):
    code: Annotated[str, Field(pattern="^(vi|en)$")]


class UnitCb(CallbackData, prefix="v1u"):
    unit: Id


class ProfileItem(StrEnum):
    NAME = "n"
    UNIT = "u"
    PHONE = "p"
    LANGUAGE = "l"
    LINK = "k"  # a one-time code to use the bot on another app too (what /link gives)


class ProfileCb(CallbackData, prefix="v1p"):
    item: ProfileItem


class ReviewAction(StrEnum):
    TAKE = "t"
    CONFIRM = "c"
    CHANGES = "r"
    REJECT = "x"
    FULL = "f"
    DUPLICATE = "o"  # asks which earlier initiative (the original) it repeats; not "d", a drafts button's letter


class ReviewCb(CallbackData, prefix="v2r"):
    """A button of a review card: it acts only on the card it was pressed on, in the round of review it was
    shown for (a resubmission starts a new round with a new card); every press is checked against the database."""

    action: ReviewAction
    initiative: Id
    round: Small


class SubmitAction(StrEnum):
    ANYWAY = "s"  # submit although similar initiatives exist
    NOTE = "n"  # first say in one line how it differs


class SubmitCb(CallbackData, prefix="v1s"):
    """A button under the similar initiatives shown before a submission; ``round`` as on the preview's Submit."""

    action: SubmitAction
    draft: Id
    round: Small


class TeamCb(CallbackData, prefix="v1t"):
    """Add a registered member of the group's unit to the support team (picked from a list)."""

    member: Id


class ProgressCb(CallbackData, prefix="v1g"):
    """A page of a unit's children in /progress."""

    unit: Id
    page: Small


class InviteCb(CallbackData, prefix="v1i"):
    """Revoke an invite link."""

    invite: Id


class ProxyAction(StrEnum):
    PICK = "p"  # write for this registered member
    NEW = "n"  # write for a person not registered yet
    UNIT = "u"  # that person's unit
    ASK = "a"  # the author hands the draft to the support team
    TAKE = "t"  # a team member takes a handed-over draft


class ProxyCb(CallbackData, prefix="v1w"):
    """The team writes for a member; ``id`` is a member, a unit or a draft, as the action says."""

    action: ProxyAction
    id: Id
