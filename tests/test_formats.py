"""forms.formats: how numbers, money, dates and times are written, and that every text reads back to its value."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forms.dates import EARLIEST, parse_date
from forms.formats import (
    format_count,
    format_date,
    format_date_answer,
    format_datetime,
    format_money,
    format_month,
    format_percent,
    money_precision,
)
from forms.money import MAX_PER_YEAR, Money, parse_money

TODAY = date(2026, 11, 22)
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
LOCALES = st.sampled_from(["vi", "en"])


@pytest.mark.parametrize(
    ("amount", "vi", "en"),
    [
        (0, "0 đồng", "0 VND"),
        (350_000, "350.000 đồng", "350,000 VND"),
        (999_999, "999.999 đồng", "999,999 VND"),
        (14_000_000, "14 triệu đồng", "14 million VND"),
        (2_500_000, "2,5 triệu đồng", "2.5 million VND"),
        (1_234_567, "1.234.567 đồng", "1,234,567 VND"),  # not exact in triệu: every digit
        (1_200_000_000, "1,2 tỷ đồng", "1.2 billion VND"),
        (50_000_000_000, "50 tỷ đồng", "50 billion VND"),
    ],
)
def test_money_of_one_initiative_is_exact(amount: int, vi: str, en: str) -> None:
    assert (format_money(amount, "vi"), format_money(amount, "en")) == (vi, en)


@pytest.mark.parametrize(
    ("amount", "vi", "en"),
    [
        (5_733_302_000_000, "5.733 tỷ đồng", "5,733 billion VND"),  # Dầu khí's benefit, as the press writes it
        (30_200_000_000, "30,2 tỷ đồng", "30.2 billion VND"),
        (1_234_567, "1,23 triệu đồng", "1.23 million VND"),
        (999_999_999, "1 tỷ đồng", "1 billion VND"),  # never "1.000 triệu"
        (420_000, "420.000 đồng", "420,000 VND"),
    ],
)
def test_money_totals_are_in_trieu_and_ty(amount: int, vi: str, en: str) -> None:
    assert (format_money(amount, "vi", exact=False), format_money(amount, "en", exact=False)) == (vi, en)


def test_counts_dates_times_and_percent() -> None:
    assert (format_count(6308, "vi"), format_count(6308, "en"), format_count(7, "vi")) == ("6.308", "6,308", "7")
    assert format_date(date(2022, 3, 5), "vi") == format_date(date(2022, 3, 5), "en") == "05/03/2022"
    assert (format_month(2022, 3, "vi"), format_month(2022, 3, "en")) == ("tháng 3/2022", "March 2022")
    assert format_date_answer("2022-03", "vi") == "tháng 3/2022"  # a month alone never gets an invented day
    assert format_date_answer("2022-03-15", "vi") == "15/03/2022"
    moment = datetime(2026, 11, 22, 12, 34, tzinfo=UTC)
    assert format_datetime(moment, "vi", HCM) == format_datetime(moment, "en", HCM) == "22/11/2026 19:34"
    assert format_datetime(moment.replace(tzinfo=None), "vi", HCM) == "22/11/2026 19:34"  # naive is UTC
    assert (format_percent(131.2, "vi"), format_percent(5.55, "vi"), format_percent(5.55, "en")) == (
        "131%",
        "5,6%",
        "5.6%",
    )
    assert format_percent(None, "vi") == "—" and format_percent(0, "en") == "0%"


@given(st.integers(min_value=0, max_value=MAX_PER_YEAR), LOCALES)
def test_exact_money_reads_back_to_the_same_amount(amount: int, locale: str) -> None:
    assert parse_money(format_money(amount, locale)) == Money(amount)
    assert parse_money(format_money(amount, locale) + ("/năm" if locale == "vi" else "/year")).amount == amount


@given(st.integers(min_value=0, max_value=MAX_PER_YEAR), LOCALES)
def test_rounded_money_reads_back_within_the_shown_precision(amount: int, locale: str) -> None:
    text = format_money(amount, locale, exact=False)
    assert abs(parse_money(text).amount - amount) <= money_precision(amount, exact=False)
    if amount >= 10**6:  # three significant digits, or the whole number of tỷ
        assert len(re.sub(r"\D", "", text)) <= max(3, len(str(amount // 10**9 + 1)))


@given(st.dates(min_value=EARLIEST, max_value=TODAY), LOCALES)
def test_a_date_reads_back_to_the_same_date(day: date, locale: str) -> None:
    text = format_date(day, locale)
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", text)
    assert parse_date(text, TODAY) == day


@given(st.dates(min_value=EARLIEST, max_value=TODAY))
def test_a_month_reads_back_to_its_first_day(day: date) -> None:
    assert parse_date(format_month(day.year, day.month, "vi"), TODAY) == day.replace(day=1)


@given(st.datetimes(min_value=datetime(1975, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)), LOCALES)
def test_a_moment_reads_back_to_the_minute(moment: datetime, locale: str) -> None:
    text = format_datetime(moment, locale, HCM)
    back = datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=HCM)
    assert timedelta(0) <= moment - back < timedelta(minutes=1)


@given(st.integers(min_value=0, max_value=10**12), LOCALES)
def test_a_count_is_grouped_and_reads_back(count: int, locale: str) -> None:
    text = format_count(count, locale)
    separator = "." if locale == "vi" else ","
    assert int(text.replace(separator, "")) == count
    assert re.fullmatch(r"\d{1,3}(?:[.,]\d{3})*", text) and (count < 1000) == (separator not in text)


def test_a_month_alone_is_stored_and_shown_without_an_invented_day() -> None:
    from datetime import date

    from forms.dates import first_day, parse_date_answer
    from forms.formats import format_date_answer

    today = date(2026, 11, 26)
    assert parse_date_answer("3/2022", today) == "2022-03"
    assert parse_date_answer("tháng 3 năm 2022", today) == "2022-03"
    assert parse_date_answer("15/3/2022", today) == "2022-03-15"
    assert format_date_answer("2022-03", "vi") == "tháng 3/2022"
    assert format_date_answer("2022-03-15", "vi") == "15/03/2022"
    assert first_day("2022-03") == date(2022, 3, 1)  # what the phase and the reports count from
