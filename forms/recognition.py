"""Recognition decisions as typed (``SK-000123 12/QĐ-CĐCS 15/03/2022 Hội đồng sáng kiến``) or as rows of a CSV or
XLSX file (number, decision no., date[, issuing body]). Pure functions: text or bytes in, values or errors out."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime

from forms.dates import EARLIEST
from forms.errors import N_, FormError
from forms.text import normalize

NUMBER = re.compile(r"^SK-?(\d{1,9})$", re.IGNORECASE)
DATE_WORD = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")


@dataclass(frozen=True)
class Recognition:
    number: str  # SK-000123
    decision_no: str
    on: date
    body: str | None


def initiative_number(raw: str) -> str | None:
    """``SK-000123`` from ``sk-123``, ``SK000123``…; None when it is not a number of ours."""
    m = NUMBER.match(raw.strip())
    return f"SK-{int(m[1]):06d}" if m else None


def decision_date(raw: str, today: date) -> date:
    text = raw.strip()
    m = DATE_WORD.match(text)
    iso = _ISO.match(text)
    if not m and not iso:
        raise FormError(N_("I could not read the decision date. Write it as 15/03/2022."))
    day, month, year = (int(m[1]), int(m[2]), int(m[3])) if m else (int(iso[3]), int(iso[2]), int(iso[1]))  # type: ignore[index]
    try:
        value = date(year, month, day)
    except ValueError as exc:
        raise FormError(N_("The decision date does not exist. Please check the day and month.")) from exc
    if value > today:
        raise FormError(N_("The decision date is in the future. Please check it."))
    if value < EARLIEST:
        raise FormError(N_("The decision date is too far in the past. Please check the year."))
    return value


def parse_decision(number: str, raw: str, today: date) -> Recognition:
    """The decision typed after the initiative's number: its number, its date (dd/mm/yyyy), then the body."""
    words = normalize(raw).split()
    at = next((i for i, w in enumerate(words) if DATE_WORD.match(w) or _ISO.match(w)), None)
    if at is None:
        raise FormError(N_("I could not find the decision date. Write it as 15/03/2022."))
    if at == 0:
        raise FormError(N_("The decision number is missing: write it before the date, e.g. 12/QĐ-CĐCS."))
    decision_no = " ".join(words[:at])
    if len(decision_no) > 64:
        raise FormError(N_("The decision number is too long (at most 64 characters)."))
    body = " ".join(words[at + 1 :]) or None
    if body and len(body) > 200:
        raise FormError(N_("The issuing body is too long (at most 200 characters)."))
    return Recognition(number, decision_no, decision_date(words[at], today), body)


def parse_command(args: str, today: date) -> Recognition:
    """``SK-000123 12/QĐ-CĐCS 15/03/2022 Hội đồng sáng kiến công ty`` (the body may be left out)."""
    first, _, rest = normalize(args).partition(" ")
    number = initiative_number(first)
    if number is None:
        raise FormError(N_("Start with the initiative's number, e.g. SK-000123."))
    return parse_decision(number, rest, today)


def _cell(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    return normalize(str(value)) if value is not None else ""


def table_rows(data: bytes, file_name: str) -> list[list[str]]:
    """The rows of a CSV (UTF-8, comma or semicolon) or XLSX file as text cells."""
    if file_name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        except Exception as exc:  # a damaged or mislabelled file: openpyxl raises many kinds
            raise FormError(N_("I could not open this spreadsheet. Send it again as .xlsx or .csv.")) from exc
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormError(N_("The CSV file must be saved as UTF-8.")) from exc
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    return [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def parse_rows(rows: list[list[str]], today: date) -> tuple[list[tuple[int, Recognition]], list[tuple[int, FormError]]]:
    """(row number, recognition) for each good row and (row number, error) for each bad one; a first row whose
    first cell is not an initiative number is a header, blank rows are skipped."""
    good: list[tuple[int, Recognition]] = []
    bad: list[tuple[int, FormError]] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, 1):
        cells = [*row, "", "", "", ""][:4]
        if not any(cells):
            continue
        number = initiative_number(cells[0])
        if number is None:
            if n > 1:
                bad.append((n, FormError(N_("“{value}” is not an initiative number."), value=cells[0])))
            continue
        if number in seen:
            bad.append((n, FormError(N_("{number} appears twice in the file."), number=number)))
            continue
        seen.add(number)
        try:
            if not cells[1]:
                raise FormError(N_("The decision number is missing."))
            if len(cells[1]) > 64 or len(cells[3]) > 200:
                raise FormError(N_("The decision number or the issuing body is too long."))
            good.append((n, Recognition(number, cells[1], decision_date(cells[2], today), cells[3] or None)))
        except FormError as error:
            bad.append((n, error))
    return good, bad
