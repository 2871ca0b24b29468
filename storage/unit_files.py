"""The unit tree and programme phases as files (CSV or XLSX), read and written in one format.

Units: ``code, name, parent_code`` and optionally ``kind``, ``bloc``, ``quota`` (whole programme) and
``quota_<PHASE CODE>`` per phase. Phases: ``code, name, start, end``.

A file is read the way Excel, LibreOffice or Notepad saved it: XLSX, or CSV in UTF-8 (with or without BOM),
UTF-16, Windows-1258 or Windows-1252, separated by commas, semicolons or tabs (``storage.charsets``). Every
problem is reported at once, each bad row with its row number (as Excel numbers it: the header is row 1) and how to
fix it; a file with any problem imports nothing. Imports no database or Telegram library at module level."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from forms.text import normalize
from storage.charsets import SAVE_AS, UnreadableText, decode_text, detect_separator, separator_name

if TYPE_CHECKING:
    from storage.db import Database

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
WHOLE_NUMBER = re.compile(r"^(\d+|\d{1,3}([., ]\d{3})+)$")  # 1500, 1.500 (Vietnamese), 1,500, 1 500
UNIT_COLUMNS = ("code", "name", "parent_code", "kind", "bloc", "quota")
UNIT_REQUIRED = ("code", "name", "parent_code")
PHASE_REQUIRED = ("code", "name", "start", "end")
KNOWN_COLUMNS = {*UNIT_COLUMNS, *PHASE_REQUIRED}
MAX_NAME = 300
CODE_RULE = "letters A-Z, digits and - _ . only (no spaces or accents), at most 64 characters"
WORKBOOK_MAGIC = b"PK\x03\x04"  # an .xlsx file is a ZIP archive
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, or a password-protected workbook
_ROW = re.compile(r"^row (\d+):")

R = TypeVar("R")


class UnitImportError(Exception):
    def __init__(self, problems: list[str], source: str = "") -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.source = source  # how the file was read, e.g. "CSV, Windows-1258, semicolon-separated"


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


@dataclass
class Table:
    """A file's header (canonical column names) and its non-empty rows with their row numbers."""

    header: list[str]
    rows: list[tuple[int, dict[str, str]]]
    source: str
    problems: list[str] = field(default_factory=list)  # rows that do not fit the header


@dataclass
class Parsed(Generic[R]):
    """What a file holds: the good rows, and every problem found without the database."""

    rows: list[R]
    problems: list[str]
    source: str
    links: list[tuple[int, str, str | None]] = field(default_factory=list)  # row, code, parent_code (all rows)
    quota_columns: dict[str, str | None] = field(default_factory=dict)  # column -> phase code (None: programme)


def load_table(path: Path) -> Table:
    """The table in a .csv or .xlsx file; raises UnitImportError (one line, with what to do) when the file
    cannot be read as a table at all."""
    try:
        with path.open("rb") as fh:
            start = fh.read(8)
    except OSError as exc:
        raise UnitImportError([f"{path}: cannot read it ({exc.strerror or exc})"]) from None
    if start.startswith(WORKBOOK_MAGIC):
        records, source = _workbook_records(path)
    elif start.startswith(OLE_MAGIC):
        raise UnitImportError([
            f"{path.name} is an Excel 97-2003 workbook (.xls) or a password-protected one; open it in Excel and "
            'save it as "Excel Workbook (*.xlsx)" without a password, or as "CSV UTF-8 (Comma delimited) (*.csv)"'
        ])  # fmt: skip
    elif path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise UnitImportError([
            f"{path.name} is named {path.suffix} but is not an Excel workbook; if it is a CSV text file, rename it "
            "to .csv, otherwise open it in Excel and save it as \"Excel Workbook (*.xlsx)\""
        ])  # fmt: skip
    else:
        records, source = _text_records(path)
    return _table(path, records, source)


def _text_records(path: Path) -> tuple[list[tuple[int, list[str]]], str]:
    try:
        decoded = decode_text(path.read_bytes())
    except UnreadableText as exc:
        raise UnitImportError([f"{path.name}: {exc}"]) from None
    except OSError as exc:
        raise UnitImportError([f"{path}: cannot read it ({exc.strerror or exc})"]) from None
    separator, sep_line = detect_separator(decoded.text)
    text = decoded.text.split("\n", 1)[1] if sep_line else decoded.text
    source = f"CSV, {decoded.encoding}, {separator_name(separator)}-separated"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    records: list[tuple[int, list[str]]] = []
    number = 0
    while True:
        number += 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UnitImportError([f"row {number}: the CSV text is broken here ({exc}); {SAVE_AS}"], source) from None
        records.append((number, record))
    return records, source


def _workbook_records(path: Path) -> tuple[list[tuple[int, list[str]]], str]:
    import warnings

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():  # openpyxl warns about styles and extensions it does not read
            warnings.simplefilter("ignore")
            book = load_workbook(path, read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0]
                title = sheet.title
                rows = [[_cell(v) for v in row] for row in sheet.iter_rows(min_row=1, values_only=True)]
            finally:
                book.close()
    except Exception as exc:  # a ZIP that is no workbook fails in many ways (KeyError, BadZipFile, XML errors…)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnitImportError([
            f"{path.name} is not an Excel workbook that can be read ({reason}); open it in Excel and save it as "
            '"Excel Workbook (*.xlsx)" or as "CSV UTF-8 (Comma delimited) (*.csv)"'
        ]) from None  # fmt: skip
    return list(enumerate(rows, start=1)), f"XLSX, first sheet {title!r}"


def _table(path: Path, records: list[tuple[int, list[str]]], source: str) -> Table:
    filled = [(n, cells) for n, cells in records if any(c.strip() for c in cells)]
    if not filled:
        raise UnitImportError([f"{path.name} is empty; its first row must name the columns"], source)
    header_row, raw_header = filled[0]
    header = [_column(h) for h in raw_header]
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise UnitImportError(
            [f"row {header_row}: column(s) {', '.join(twice)} appear twice in the header; keep one of each"], source
        )
    width = max((i + 1 for i, h in enumerate(header) if h), default=0)
    table = Table([h for h in header if h], [], source)
    for number, cells in filled[1:]:
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            table.problems.append(
                f"row {number}: {width + len(extra)} values but {width} columns; a value that contains the "
                f'separator must be in double quotes ("…"), or save the file again from Excel'
            )
        table.rows.append((number, {h: c for h, c in zip(header, cells, strict=False) if h}))
    return table


def _column(name: str) -> str:
    """The canonical column name: known names in lower case, ``quota_`` + the phase code as written."""
    name = normalize(name)
    lower = name.lower()
    if lower in KNOWN_COLUMNS:
        return lower
    if lower.startswith("quota_"):
        return "quota_" + name[len("quota_") :]
    return name


def read_table(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header and the rows (with their row numbers) of a .csv or .xlsx file."""
    table = load_table(path)
    return table.header, iter(table.rows)


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _require(path: Path, table: Table, required: Sequence[str]) -> None:
    missing = [c for c in required if c not in table.header]
    if missing:
        found = ", ".join(table.header) or "nothing"
        raise UnitImportError(
            [
                f"missing column(s): {', '.join(missing)}; the first row of {path.name} must name the columns "
                f"{', '.join(required)} (it has: {found[:200]})"
            ],
            table.source,
        )


def parse_units(path: Path) -> Parsed[UnitRow]:
    """Every row of a unit file, checked on its own (codes, names, quotas, codes given twice)."""
    table = load_table(path)
    _require(path, table, UNIT_REQUIRED)
    quota_columns = {
        h: None if h == "quota" else h.removeprefix("quota_") for h in table.header if h == "quota" or h[:6] == "quota_"
    }
    parsed: Parsed[UnitRow] = Parsed([], list(table.problems), table.source, quota_columns=quota_columns)
    first_row: dict[str, int] = {}
    for line, raw in table.rows:
        problems: list[str] = []
        code, name = normalize(raw.get("code", "")), normalize(raw.get("name", ""))
        parent = normalize(raw.get("parent_code", "")) or None
        if not code:
            problems.append(f"row {line}: bad code '': the code is empty; give every unit a short code, e.g. LS-TD")
        elif not CODE.match(code):
            problems.append(f"row {line}: bad code {code!r}: use {CODE_RULE}, e.g. LS-TD")
        elif code in first_row:
            problems.append(f"row {line}: code {code} already given on row {first_row[code]}; give each unit once")
        else:
            first_row[code] = line
            parsed.links.append((line, code, parent))
        if not name:
            problems.append(f"row {line}: the name is empty; write the unit's full name")
        elif len(name) > MAX_NAME:
            problems.append(f"row {line}: the name has {len(name)} characters; shorten it to {MAX_NAME} at most")
        quotas: dict[str | None, int] = {}
        for column, phase in quota_columns.items():
            value = normalize(raw.get(column, ""))
            if not value:
                continue
            if WHOLE_NUMBER.match(value):
                quotas[phase] = int(re.sub(r"\D", "", value))
            else:
                problems.append(f"row {line}: {column} {value!r} is not a whole number; write digits only, e.g. 1500")
        if problems:
            parsed.problems.extend(problems)
            continue
        bloc = normalize(raw.get("bloc", "")) or None
        parsed.rows.append(UnitRow(line, code, name, parent, normalize(raw.get("kind", ""))[:64], bloc, quotas))
    parsed.problems = sort_problems(parsed.problems)
    return parsed


def _rows(parsed: Parsed[R]) -> list[R]:
    """The rows, or UnitImportError listing every problem found without the database."""
    if parsed.problems:
        raise UnitImportError(parsed.problems, parsed.source)
    return parsed.rows


def read_units(path: Path) -> list[UnitRow]:
    return _rows(parse_units(path))


def tree_problems(parsed: Parsed[UnitRow], existing: Mapping[str, str | None], phase_codes: set[str]) -> list[str]:
    """What the rows would do to the tree in the database: unknown parents, cycles, quotas of unknown phases.

    ``existing`` maps each unit code in the database to its parent's code."""
    problems: list[str] = []
    for column, phase in parsed.quota_columns.items():
        if phase is not None and phase not in phase_codes:
            known = ", ".join(sorted(phase_codes)) or "none yet"
            problems.append(
                f"column {column}: there is no phase {phase} (phases: {known}); load the phases first with "
                "`sangkien phases import FILE`, or correct the column name"
            )
    parents = dict(existing)
    parents.update({code: parent for _, code, parent in parsed.links})
    for line, code, parent in parsed.links:
        if parent is not None and parent not in parents:
            problems.append(
                f"row {line}: unknown parent_code {parent}: it is neither a code in this file nor a unit in the "
                "database; correct it, or add that unit (leave it empty for the top unit)"
            )
            continue
        cycle = _cycle(code, parents)
        if cycle:
            problems.append(
                f"row {line}: {code} would be its own ancestor ({' → '.join(cycle)}); correct its parent_code"
            )
    return sort_problems(problems)


def _cycle(code: str, parents: Mapping[str, str | None]) -> list[str]:
    """The path from ``code`` back to itself through the parents, or [] when ``code`` is not on a cycle."""
    path, seen = [code], {code}
    current = parents.get(code)
    while current is not None and current not in seen:
        path.append(current)
        seen.add(current)
        current = parents.get(current)
    return [*path, code] if current == code else []


def sort_problems(problems: list[str]) -> list[str]:
    """Problems about the whole file first, then by row number; otherwise in the order found."""

    def key(problem: str) -> int:
        match = _ROW.match(problem)
        return int(match.group(1)) if match else 0

    return sorted(problems, key=key)


async def unit_tree(db: Database) -> tuple[dict[str, str | None], set[str]]:
    """Each unit code in the database with its parent's code, and the phase codes."""
    from sqlalchemy import text

    async with db.read_engine.connect() as conn:
        units = await conn.execute(text("SELECT u.code, p.code FROM unit u LEFT JOIN unit p ON p.id = u.parent_id"))
        tree = {code: parent for code, parent in units}
        phases = {code for (code,) in await conn.execute(text("SELECT code FROM phase"))}
    return tree, phases


async def check_units(db: Database, parsed: Parsed[UnitRow]) -> list[str]:
    """Every problem of a unit file: its own, and what it would do to the tree in the database."""
    tree, phases = await unit_tree(db)
    return sort_problems([*parsed.problems, *tree_problems(parsed, tree, phases)])


async def count_units(db: Database) -> int:
    from sqlalchemy import text

    async with db.read_engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM unit"))).scalar_one())


NO_UNITS = (
    "there are no units in the database %s, so nobody can register yet: load yours with "
    "`sangkien units import FILE` (columns code,name,parent_code; see examples/units.csv), or try the bot with "
    "`sangkien demo load` into a fresh database"
)


async def no_units_warning(db: Database) -> str | None:
    """One log line for the start-up when the database has no units, saying what to run; None when it has some."""
    if await count_units(db):
        return None
    return NO_UNITS % db.safe_url


def parse_phases(path: Path) -> Parsed[PhaseRow]:
    """Every row of a phase file, checked on its own."""
    table = load_table(path)
    _require(path, table, PHASE_REQUIRED)
    parsed: Parsed[PhaseRow] = Parsed([], list(table.problems), table.source)
    first_row: dict[str, int] = {}
    for line, raw in table.rows:
        problems: list[str] = []
        code, name = normalize(raw.get("code", "")), normalize(raw.get("name", ""))
        if not code:
            problems.append(f"row {line}: bad code '': the code is empty; give every phase a short code, e.g. GD1")
        elif not CODE.match(code):
            problems.append(f"row {line}: bad code {code!r}: use {CODE_RULE}, e.g. GD1")
        elif code in first_row:
            problems.append(f"row {line}: code {code} already given on row {first_row[code]}; give each phase once")
        else:
            first_row[code] = line
        if not name:
            problems.append(f"row {line}: the name is empty; write the phase's name, e.g. Giai đoạn 1")
        days: list[date] = []
        for column in ("start", "end"):
            value = normalize(raw.get(column, ""))
            try:
                days.append(_day(value))
            except ValueError:
                shown = repr(value) if value else "is empty and"
                problems.append(
                    f"row {line}: {column} {shown} is not a date; write it like 08/01/2022 (day/month/year) "
                    "or 2022-01-08"
                )
        if len(days) == 2 and days[1] < days[0]:
            problems.append(f"row {line}: the phase ends before it starts; swap start and end")
        if problems:
            parsed.problems.extend(problems)
        else:
            parsed.rows.append(PhaseRow(line, code, name, days[0], days[1]))
    parsed.problems = sort_problems(parsed.problems)
    return parsed


def read_phases(path: Path) -> list[PhaseRow]:
    return _rows(parse_phases(path))


def _day(text: str) -> date:
    """08/01/2022, 8/1/2022, 08.01.2022, 08-01-2022 (day first) or 2022-01-08; a time after it is ignored."""
    text = text.strip().split(" ")[0].split("T")[0]
    parts = re.split(r"[/.\-]", text)
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(text)
    if len(parts[0]) == 4:
        year, month, day = (int(p) for p in parts)
    else:
        day, month, year = (int(p) for p in parts)
    if year < 1000:
        raise ValueError(text)
    return date(year, month, day)


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
    with path.open("w", newline="", encoding="utf-8-sig") as fh:  # the BOM makes Excel read it as UTF-8
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
