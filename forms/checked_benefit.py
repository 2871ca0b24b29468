"""The money benefit as the support team checked it, typed after the initiative's number: the amount as people
say it, a semicolon (or a new line, or " - "), then the note on how the team worked it out. "bỏ" (or "remove")
takes the team's figure away, so totals use the author's again. A pure function: text in, value or error out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from forms.errors import N_, FormError
from forms.money import parse_money
from forms.text import fold, normalize

EXAMPLE = N_("12 million a year; recalculated at the 2022 price of materials")  # shown translated
TAKE_AWAY = frozenset({"bo", "xoa", "huy", "remove", "clear", "delete"})
_NOTE = re.compile(r"\s*(?:[;\n]|\s[-–]\s)\s*")
NOTE_MAX = 500


@dataclass(frozen=True)
class CheckedBenefit:
    per_year: int | None  # đồng a year; None takes the team's figure away
    note: str | None


def parse_checked_benefit(raw: str) -> CheckedBenefit:
    text = normalize(raw, multiline=True)
    if fold(text) in TAKE_AWAY:
        return CheckedBenefit(None, None)
    figure, *rest = _NOTE.split(text, maxsplit=1)
    note = normalize(rest[0]) if rest else ""
    if not figure:
        raise FormError(N_("Write the amount first, then a semicolon and the note."))
    money = parse_money(figure)  # its errors say what is wrong; the caller shows the example again
    if len(note) < 5:
        raise FormError(N_("Please add a short note after a semicolon: how the support team worked the figure out."))
    if len(note) > NOTE_MAX:
        raise FormError(N_("The note is too long: at most {max} characters."), max=NOTE_MAX)
    return CheckedBenefit(money.per_year, note)
