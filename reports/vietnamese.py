"""Vietnamese as offices write it in a document: "ngày 04 tháng 11 năm 2022", "14.000.000 đồng/năm (mười bốn triệu
đồng)". Fixed Vietnamese, whatever the reader's language: the form it goes into is Vietnamese by law."""

from __future__ import annotations

from datetime import date

from forms.money import Money, Period

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
BILLION = 10**9
PER = {Period.YEAR: "năm", Period.QUARTER: "quý", Period.MONTH: "tháng", Period.WEEK: "tuần"}


def document_date(value: date) -> str:
    """The date line of an administrative document (Decree 30/2020): a zero before a day under 10 and before
    the months 1 and 2 only: "ngày 04 tháng 11 năm 2022", "ngày 15 tháng 3 năm 2022", "ngày 05 tháng 02 năm 2023"."""
    month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    return f"ngày {value.day:02d} tháng {month} năm {value.year}"


def place_and_date(place: str, value: date) -> str:
    """The place and date line, "Lạng Sơn, ngày 04 tháng 11 năm 2022"; dots for a place to write by hand."""
    return f"{place.strip() or '……………'}, {document_date(value)}"


def _hundreds(n: int, full: bool) -> list[str]:
    """Three digits in words; ``full`` after a higher group: "không trăm", "linh"."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words = [DIGITS[hundreds], "trăm"] if hundreds or full else []
    if tens == 0:
        words += ["linh"] if units and words else []
    else:
        words += ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units:
        words.append("mốt" if units == 1 and tens > 1 else "lăm" if units == 5 and tens else DIGITS[units])
    return words


def _words(n: int, full: bool) -> list[str]:
    if n >= BILLION:  # "nghìn tỷ", "triệu tỷ": the groups above a billion are read as a number of billions
        high, low = divmod(n, BILLION)
        return _words(high, full) + ["tỷ"] + (_words(low, True) if low else [])
    words: list[str] = []
    for value, scale in ((n // 10**6, "triệu"), (n // 1000 % 1000, "nghìn"), (n % 1000, "")):
        if value:
            words += _hundreds(value, full) + ([scale] if scale else [])
            full = True
    return words


def number_in_words(n: int) -> str:
    """12 → "mười hai", 21 → "hai mươi mốt", 105 → "một trăm linh năm", 1.050.000 → "một triệu không trăm năm
    mươi nghìn"."""
    if n < 0:
        return "âm " + number_in_words(-n)
    return " ".join(_words(n, False)) if n else "không"


def grouped(n: int) -> str:
    """14000000 → "14.000.000"."""
    return f"{n:,}".replace(",", ".")


def amount_line(amount: int, period: Period = Period.YEAR) -> str:
    """An amount in figures and words: "14.000.000 đồng/năm (mười bốn triệu đồng)"."""
    return f"{grouped(amount)} đồng/{PER[period]} ({number_in_words(amount)} đồng)"


def money_line(money: Money) -> str:
    """A benefit as offices write it; a monthly figure also per year; "khoảng" for an estimate; "" for none."""
    if money.is_none:
        return ""
    text = amount_line(money.amount, money.period)
    if money.period is not Period.YEAR:
        text += ", tương đương " + amount_line(money.per_year)
    return ("khoảng " if money.approximate else "") + text
