"""Dates as typed: ``15/3/2022``, ``15-03-2022``, ``2022-03-15``, ``3/2022``, ``tháng 3/2022``, ``hôm nay``."""

from __future__ import annotations

import re
from datetime import date, timedelta

from forms.errors import N_, FormError
from forms.text import fold

EARLIEST = date(1975, 1, 1)

_DMY = re.compile(
    r"^(?:ngay\s*)?(\d{1,2})\s*(?:[/.\-]|\s+thang\s+)\s*(\d{1,2})\s*(?:[/.\-]|\s+nam\s+)\s*(\d{2}|\d{4})$"
)
_MY = re.compile(r"^(?:thang\s*)?(\d{1,2})\s*(?:[/.\-]|\s+nam\s+)\s*(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_RELATIVE = {"hom nay": 0, "today": 0, "hom qua": 1, "yesterday": 1}


def _make(year: int, month: int, day: int) -> date:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise FormError(N_("This date does not exist. Please check the day and month.")) from exc


def parse_date_answer(raw: str, today: date) -> str:
    """The answer as stored: ``2022-03-15``, or ``2022-03`` when only the month was given (no invented day)."""
    value = parse_date(raw, today)
    return f"{value.year:04d}-{value.month:02d}" if _MY.match(fold(raw).strip(" .")) else value.isoformat()


def first_day(answer: str) -> date:
    """A stored date answer as a date (a month alone counts from its first day, e.g. for the phase)."""
    return date.fromisoformat(answer if len(answer) == 10 else answer + "-01")


def parse_date(raw: str, today: date) -> date:
    """Parse a first-application date; it may not lie in the future."""
    text = fold(raw).strip(" .")
    if text in _RELATIVE:
        return today - timedelta(days=_RELATIVE[text])
    if m := _ISO.match(text):
        value = _make(int(m[1]), int(m[2]), int(m[3]))
    elif m := _DMY.match(text):
        value = _make(int(m[3]), int(m[2]), int(m[1]))
    elif m := _MY.match(text):
        value = _make(int(m[2]), int(m[1]), 1)
    else:
        raise FormError(N_("I could not read this date."))
    if value > today:
        raise FormError(N_("This date is in the future. The initiative must already be applied or trialled."))
    if value < EARLIEST:
        raise FormError(N_("This date is too far in the past. Please check the year."))
    return value
