"""The unit tree and programme phases as files (CSV or XLSX), read and written in one format.

Units: ``code, name, parent_code`` and optionally ``kind``, ``bloc``, ``quota`` (whole programme) and
``quota_<PHASE CODE>`` per phase. Phases: ``code, name, start, end``. Every bad row is reported with its row number."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from forms.text import normalize

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
UNIT_COLUMNS = ("code", "name", "parent_code", "kind", "bloc", "quota")


class UnitImportError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    name: str
    parent_code: str | None
    kind: str = ""
    bloc: str | None = None
    quotas: dict[str | None, int] = field(default_factory=dict)  # phase code (None: the programme) -> quota


@dataclass(frozen=True)
class PhaseRow:
    line: int
    code: str
    name: str
    starts_on: date
    ends_on: date


def read_table(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header and the rows (with their row numbers) of a .csv or .xlsx file."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(c or "").strip() for c in next(rows, ())]
        return header, ((n, {h: _cell(v) for h, v in zip(header, row, strict=False)}) for n, row in enumerate(rows, 2))
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        rows = [(n, row) for n, row in enumerate(reader, start=2)]
        return [h.strip() for h in reader.fieldnames or []], iter(rows)


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def read_units(path: Path) -> list[UnitRow]:
    header, rows = read_table(path)
    missing = {"code", "name", "parent_code"} - set(header)
    if missing:
        raise UnitImportError([f"missing column(s): {', '.join(sorted(missing))}"])
    quota_columns = {h: None if h == "quota" else h.removeprefix("quota_") for h in header if h.startswith("quota")}
    problems: list[str] = []
    result: list[UnitRow] = []
    for line, raw in rows:
        code, name = normalize(raw.get("code") or ""), normalize(raw.get("name") or "")
        quotas: dict[str | None, int] = {}
        for column, phase in quota_columns.items():
            value = normalize(raw.get(column) or "").replace(".", "").replace(",", "")
            if value and not value.isdigit():
                problems.append(f"row {line}: {column} must be a whole number, not {raw.get(column)!r}")
            elif value:
                quotas[phase] = int(value)
        if not CODE.match(code):
            problems.append(f"row {line}: bad code {code!r}")
        elif not name or len(name) > 300:
            problems.append(f"row {line}: the name is empty or longer than 300 characters")
        else:
            bloc = normalize(raw.get("bloc") or "") or None
            result.append(UnitRow(line, code, name, normalize(raw.get("parent_code") or "") or None,
                                  normalize(raw.get("kind") or "")[:64], bloc, quotas))  # fmt: skip
    if problems:
        raise UnitImportError(problems)
    return result


def read_phases(path: Path) -> list[PhaseRow]:
    header, rows = read_table(path)
    missing = {"code", "name", "start", "end"} - set(header)
    if missing:
        raise UnitImportError([f"missing column(s): {', '.join(sorted(missing))}"])
    problems: list[str] = []
    result: list[PhaseRow] = []
    for line, raw in rows:
        code, name = normalize(raw.get("code") or ""), normalize(raw.get("name") or "")
        try:
            start, end = _day(raw.get("start") or ""), _day(raw.get("end") or "")
        except ValueError:
            problems.append(f"row {line}: start and end must be dates like 2022-01-08 or 08/01/2022")
            continue
        if not CODE.match(code) or not name:
            problems.append(f"row {line}: a phase needs a code and a name")
        elif end < start:
            problems.append(f"row {line}: the phase ends before it starts")
        else:
            result.append(PhaseRow(line, code, name, start, end))
    if problems:
        raise UnitImportError(problems)
    return result


def _day(text: str) -> date:
    text = text.strip()
    if "/" in text:
        day, month, year = (int(p) for p in text.split("/"))
        return date(year, month, day)
    return date.fromisoformat(text)


def write_units(path: Path, rows: Sequence[dict[str, Any]], phase_codes: Sequence[str]) -> None:
    """The units in the import format, to .csv or .xlsx."""
    header = [*UNIT_COLUMNS, *(f"quota_{code}" for code in phase_codes)]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "units"
        sheet.append(header)
        for row in rows:
            sheet.append([row.get(h) for h in header])
        book.save(path)
        return
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
