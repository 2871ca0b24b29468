"""Money as people type it: ``14 triệu``, ``14tr``, ``1,2 tỷ``, ``1.200.000 đ``, ``350 nghìn/tháng``, ``2tr5``.

Vietnamese writes ``.`` for thousands and ``,`` for decimals, English the other way round; a single separator
followed by exactly three digits is read as thousands, any other as a decimal point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from forms.errors import N_, FormError
from forms.text import fold


class Period(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"
    WEEK = "week"


PER_YEAR = {Period.YEAR: 1, Period.QUARTER: 4, Period.MONTH: 12, Period.WEEK: 52}
MAX_PER_YEAR = 10**16  # ten million billion đồng: anything larger is a typing mistake

_UNITS = {
    "ty": 10**9,
    "ti": 10**9,
    "billion": 10**9,
    "bn": 10**9,
    "b": 10**9,
    "trieu": 10**6,
    "tr": 10**6,
    "cu": 10**6,
    "million": 10**6,
    "mil": 10**6,
    "m": 10**6,
    "nghin": 10**3,
    "ngan": 10**3,
    "ng": 10**3,
    "k": 10**3,
    "thousand": 10**3,
    "tram": 100,
    "hundred": 100,
}
_NONE = re.compile(r"^(khong|khong co|chua co|none|no|nothing|nil|n/?a|-)$")
_APPROX = re.compile(
    r"\b(khoang|xap xi|gan|hon|tren|uoc tinh|uoc|chung|tam|it nhat|toi thieu|around|about|approx(imately)?"
    r"|roughly|nearly|almost|over|more than|at least)\b|[~≈]"
)
_PERIOD = re.compile(
    r"(?:/|\b(?:moi|mot|1|per|a|each|every|trong)\b)?\s*"
    r"\b(nam|year|yr|thang|month|mo|quy|quarter|tuan|week)\b\s*$"
)
_PERIOD_WORDS = {
    "nam": Period.YEAR,
    "year": Period.YEAR,
    "yr": Period.YEAR,
    "thang": Period.MONTH,
    "month": Period.MONTH,
    "mo": Period.MONTH,
    "quy": Period.QUARTER,
    "quarter": Period.QUARTER,
    "tuan": Period.WEEK,
    "week": Period.WEEK,
}
_CURRENCY = re.compile(r"(?<=\d)\s*d\b|\b(vnd|dong|d|dongs)\b|₫|\bvnd\b")
_TOKEN = re.compile(r"\d+(?:[., ]\d+)*|[a-z]+|\S")


@dataclass(frozen=True)
class Money:
    """An amount in đồng for one ``period``; ``amount == 0`` means "no money benefit"."""

    amount: int
    period: Period = Period.YEAR
    approximate: bool = False

    @property
    def per_year(self) -> int:
        return self.amount * PER_YEAR[self.period]

    @property
    def is_none(self) -> bool:
        return self.amount == 0

    def to_json(self) -> dict[str, object]:
        return {"amount": self.amount, "period": self.period.value, "approx": self.approximate}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Money:
        return cls(int(str(data["amount"])), Period(str(data["period"])), bool(data.get("approx")))


def _bad() -> FormError:
    return FormError(N_("I could not read this amount."))


def _number(token: str) -> Decimal:
    """One number token with thousands/decimal separators resolved."""
    if " " in token:
        if not re.fullmatch(r"\d{1,3}( \d{3})+", token):
            raise _bad()
        token = token.replace(" ", "")
    seps = [ch for ch in token if ch in ".,"]
    if not seps:
        return Decimal(token)
    if len(set(seps)) == 2:
        decimal_sep = token[max(token.rfind("."), token.rfind(","))]
        thousands = "," if decimal_sep == "." else "."
        whole, frac = token.rsplit(decimal_sep, 1)
        _check_groups(whole, thousands)
        return Decimal(whole.replace(thousands, "") + "." + frac)
    sep = seps[0]
    if len(seps) > 1:
        _check_groups(token, sep)
        return Decimal(token.replace(sep, ""))
    whole, frac = token.split(sep)
    if len(frac) == 3:
        return Decimal(whole + frac)
    return Decimal(whole + "." + frac)


def _check_groups(token: str, sep: str) -> None:
    head, *groups = token.split(sep)
    if not head or len(head) > 3 or any(len(g) != 3 for g in groups):
        raise _bad()


def _strip_period(text: str) -> tuple[str, Period]:
    match = _PERIOD.search(text)
    if not match:
        return text, Period.YEAR
    return text[: match.start()].strip(), _PERIOD_WORDS[match.group(1)]


def parse_money(raw: str) -> Money:
    """Parse an amount as typed; raises FormError (with examples in the message) when it cannot."""
    text = fold(raw)
    text = re.sub(r"\s*/\s*", "/", text).strip(" .!")
    if _NONE.match(text):
        return Money(0)
    approximate = bool(_APPROX.search(text))
    text = _APPROX.sub(" ", text)
    text, period = _strip_period(text.strip())
    text = _CURRENCY.sub(" ", text).strip(" /")
    if not text:
        raise _bad()
    total = Decimal(0)
    pending: str | None = None
    last_unit: int | None = None
    for token in _TOKEN.findall(text):
        if token[0].isdigit():
            if pending is not None:
                raise _bad()
            pending = token
        elif token in _UNITS:
            if pending is None:
                raise _bad()
            try:
                total += _number(pending) * _UNITS[token]
            except InvalidOperation as exc:
                raise _bad() from exc
            last_unit, pending = _UNITS[token], None
        else:
            raise _bad()
    if pending is not None:
        total += _trailing(pending, last_unit)
    amount = int(total.to_integral_value())
    if amount == 0 and total != 0:
        raise _bad()
    money = Money(amount, period if amount else Period.YEAR, approximate and amount > 0)
    if money.per_year > MAX_PER_YEAR:
        raise FormError(N_("This amount is too large to be right. Please check the number of zeros."))
    return money


def _trailing(token: str, last_unit: int | None) -> Decimal:
    """A bare number: đồng on its own, or the next digits of the previous unit (``2tr5``, ``1 tỷ 250``)."""
    if last_unit is None:
        try:
            return _number(token)
        except InvalidOperation as exc:
            raise _bad() from exc
    if not token.isdigit() or len(token) not in (1, 3) or last_unit < 1000:
        raise _bad()
    return Decimal(int(token)) * last_unit / 10 ** len(token)
