"""The money parser: what people type, and property-based round trips through Babel's formatting."""

from __future__ import annotations

import contextlib
import unicodedata

import pytest
from babel.numbers import format_currency, format_decimal
from hypothesis import given
from hypothesis import strategies as st

from forms.errors import FormError
from forms.money import MAX_PER_YEAR, Money, Period, parse_money


@pytest.mark.parametrize(
    ("typed", "amount", "period", "approx"),
    [
        ("14 triệu", 14_000_000, Period.YEAR, False),
        ("14tr", 14_000_000, Period.YEAR, False),
        ("14 TR", 14_000_000, Period.YEAR, False),
        ("1,2 tỷ", 1_200_000_000, Period.YEAR, False),
        ("1.5 tỉ", 1_500_000_000, Period.YEAR, False),
        ("50 tỉ đồng/năm", 50_000_000_000, Period.YEAR, False),
        ("1.200.000 đ", 1_200_000, Period.YEAR, False),
        ("1.200.000đ", 1_200_000, Period.YEAR, False),
        ("1,200,000 VND", 1_200_000, Period.YEAR, False),
        ("1 200 000 đồng", 1_200_000, Period.YEAR, False),
        ("350 nghìn/tháng", 350_000, Period.MONTH, False),
        ("350k / tháng", 350_000, Period.MONTH, False),
        ("2 triệu mỗi quý", 2_000_000, Period.QUARTER, False),
        ("500 ngàn một tuần", 500_000, Period.WEEK, False),
        ("khoảng 2 triệu", 2_000_000, Period.YEAR, True),
        ("~ 3 tr/năm", 3_000_000, Period.YEAR, True),
        ("hơn 10 triệu đồng/năm", 10_000_000, Period.YEAR, True),
        ("2tr5", 2_500_000, Period.YEAR, False),
        ("1 tỷ 250", 1_250_000_000, Period.YEAR, False),
        ("1 tỷ 200 triệu", 1_200_000_000, Period.YEAR, False),
        ("14 triệu 500 nghìn", 14_500_000, Period.YEAR, False),
        ("0,5 tr", 500_000, Period.YEAR, False),
        ("about 14 million per year", 14_000_000, Period.YEAR, True),
        ("1.2 billion", 1_200_000_000, Period.YEAR, False),
        ("0", 0, Period.YEAR, False),
        ("không có", 0, Period.YEAR, False),
        ("Không", 0, Period.YEAR, False),
        ("none", 0, Period.YEAR, False),
    ],
)
def test_amounts_as_people_type_them(typed: str, amount: int, period: Period, approx: bool) -> None:
    assert parse_money(typed) == Money(amount, period, approx)


@pytest.mark.parametrize("typed", ["", "mười bốn triệu", "abc", "14 triệu 50", "1.2.3", "triệu", "14 15", "5 tr tr"])
def test_what_cannot_be_read_is_refused(typed: str) -> None:
    with pytest.raises(FormError):
        parse_money(typed)


def test_absurd_amounts_are_refused() -> None:
    with pytest.raises(FormError, match="too large"):
        parse_money("100000000 tỷ")


def test_monthly_amounts_become_yearly() -> None:
    assert parse_money("350 nghìn/tháng").per_year == 4_200_000
    assert parse_money("2 triệu/quý").per_year == 8_000_000


def test_decomposed_unicode_reads_the_same() -> None:
    assert parse_money(unicodedata.normalize("NFD", "1,2 tỷ đồng/năm")) == parse_money("1,2 tỷ đồng/năm")


amounts = st.integers(min_value=1, max_value=MAX_PER_YEAR // 52)


@given(amounts, st.sampled_from(["vi", "en"]))
def test_babel_formatted_numbers_round_trip(amount: int, locale: str) -> None:
    assert parse_money(format_decimal(amount, locale=locale)).amount == amount
    assert parse_money(format_currency(amount, "VND", locale=locale)).amount == amount


@given(amounts, st.sampled_from(["", " ", "."]), st.sampled_from(["đ", " đồng", " VND", ""]))
def test_thousands_separators_and_currency_words(amount: int, sep: str, currency: str) -> None:
    typed = f"{amount:,}".replace(",", sep) + currency
    assert parse_money(typed).amount == amount


@given(
    st.integers(min_value=1, max_value=9_999),
    st.sampled_from([("triệu", 10**6), ("tr", 10**6), ("tỷ", 10**9), ("nghìn", 10**3), ("k", 10**3)]),
)
def test_units(count: int, unit: tuple[str, int]) -> None:
    word, factor = unit
    assert parse_money(f"{count} {word}").amount == count * factor
    assert parse_money(f"{count}{word}").amount == count * factor


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=1, max_value=9), st.sampled_from([",", "."]))
def test_decimal_with_a_unit(whole: int, tenth: int, sep: str) -> None:
    assert parse_money(f"{whole}{sep}{tenth} tỷ").amount == (whole * 10 + tenth) * 10**8


@given(amounts, st.sampled_from(list(Period)))
def test_json_round_trip(amount: int, period: Period) -> None:
    money = Money(amount, period, approximate=amount % 2 == 0)
    assert Money.from_json(money.to_json()) == money


@given(st.text(max_size=40))
def test_never_crashes(text: str) -> None:
    with contextlib.suppress(FormError):
        parse_money(text)
