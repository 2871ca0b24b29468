"""How numbers, money, dates and times are written for people, in Vietnamese and in English: the one place.

Dates as offices write them (15/03/2022, a month alone as "tháng 3/2022"), times with a four-digit year
(22/11/2026 19:34), counts always grouped (6.308 / 6,308), money in đồng with the words offices use for large sums
(14 triệu đồng, 5.733 tỷ đồng / 14 million VND, 5,733 billion VND). Every text here reads back with the parsers in
``forms.money`` and ``forms.dates`` to the same value (within the precision shown).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_decimal

DATE_PATTERN = "dd/MM/yyyy"
DATETIME_PATTERN = "dd/MM/yyyy HH:mm"
MILLION, BILLION = 10**6, 10**9
MAX_DECIMALS = 2  # "1,234 triệu" would read as 1.234 triệu: a single separator before three digits is thousands
_WORDS = {
    "vi": {"currency": "đồng", MILLION: "triệu", BILLION: "tỷ"},
    "en": {"currency": "VND", MILLION: "million", BILLION: "billion"},
}


def language(locale: str | None) -> str:
    """The catalog for ``locale``: "en" for any English locale, else "vi" (the default)."""
    return "en" if str(locale or "").lower().startswith("en") else "vi"


def format_count(count: int, locale: str | None) -> str:
    """A whole number, always grouped: 6.308 (vi), 6,308 (en)."""
    return format_decimal(count, format="#,##0", locale=language(locale))


def format_number(value: Decimal | float | int, locale: str | None, decimals: int = 0) -> str:
    """A number grouped, rounded half up to at most ``decimals`` places, trailing zeros dropped: 1,5 / 1.5."""
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(rounded, format=pattern, locale=language(locale), decimal_quantization=False)


def format_percent(percent: float | None, locale: str | None) -> str:
    """A share already in per cent (131.2 → "131%"); "—" when there is none. Under 10 % one decimal is kept."""
    if percent is None:
        return "—"
    return format_number(percent, locale, 1 if 0 < percent < 10 else 0) + "%"


def _scaled(amount: int, exact: bool) -> tuple[Decimal, int, int] | None:
    """(amount in the scale, the scale, decimals shown), or None when the amount is written in full."""
    for scale in (BILLION, MILLION):
        if amount < scale:
            continue
        value = Decimal(amount) / scale
        if exact:
            if amount % (scale // 10**MAX_DECIMALS):
                continue  # not exact in this scale: try the smaller one, else write every digit
            return value, scale, MAX_DECIMALS
        decimals = min(MAX_DECIMALS, max(0, 3 - len(str(int(value)))))  # three significant digits at least
        shown = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        if shown >= 1000 and scale == MILLION:  # 999,999,999 is "1 tỷ", not "1.000 triệu"
            return Decimal(amount) / BILLION, BILLION, MAX_DECIMALS
        return value, scale, decimals
    return None


def format_money(amount: int, locale: str | None, *, exact: bool = True) -> str:
    """Money in đồng. ``exact`` (one initiative's figure): triệu/tỷ only when they say the amount exactly
    with at most two decimals ("14 triệu đồng", "1,2 tỷ đồng"), otherwise every digit ("1.234.567 đồng").
    Not ``exact`` (totals): ≥ 1 triệu in triệu, ≥ 1 tỷ in tỷ, with three significant digits ("5.733 tỷ đồng",
    "30,2 tỷ đồng", "1,23 triệu đồng"); below 1 triệu always every digit."""
    words = _WORDS[language(locale)]
    scaled = _scaled(amount, exact)
    if scaled is None:
        return f"{format_count(amount, locale)} {words['currency']}"
    value, scale, decimals = scaled
    return f"{format_number(value, locale, decimals)} {words[scale]} {words['currency']}"


def money_precision(amount: int, *, exact: bool = True) -> int:
    """How far (in đồng) ``format_money`` may be from ``amount``: half of the last digit shown."""
    scaled = _scaled(amount, exact)
    if scaled is None or exact:
        return 0
    _, scale, decimals = scaled
    return scale // 10**decimals // 2


def format_date(value: date, locale: str | None) -> str:
    """15/03/2022 in both languages (day/month/year, as in Vietnam)."""
    return _babel_date(value, DATE_PATTERN, locale=language(locale))


def format_month(year: int, month: int, locale: str | None) -> str:
    """A month alone, never with an invented day: "tháng 3/2022", "March 2022"."""
    if language(locale) == "vi":
        return f"tháng {month}/{year}"
    return _babel_date(date(year, month, 1), "MMMM yyyy", locale="en")


def format_date_answer(value: str, locale: str | None) -> str:
    """A stored date answer: "2022-03-15" as a date, "2022-03" (a month alone) as a month."""
    if len(value) == 7:
        year, month = value.split("-")
        return format_month(int(year), int(month), locale)
    return format_date(date.fromisoformat(value), locale)


def format_datetime(moment: datetime, locale: str | None, tz: tzinfo | None = None) -> str:
    """22/11/2026 19:34 in the given time zone (a naive moment is taken as UTC), four-digit year."""
    return _babel_datetime(moment, DATETIME_PATTERN, tzinfo=tz, locale=language(locale))
