"""The XLSX an officer sends to the level above: a summary sheet by unit and a sheet of every initiative."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

Gettext = Callable[[str], str]
# Excel shows these with the reader's own separators; dates day first with a four-digit year, as offices write them
FORMATS: tuple[tuple[type, str], ...] = ((datetime, "dd/mm/yyyy hh:mm"), (date, "dd/mm/yyyy"), (int, "#,##0"))


def _header(sheet: WriteOnlyWorksheet, titles: Sequence[str]) -> None:
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    fmt = next((f for kind, f in FORMATS if isinstance(value, kind) and not isinstance(value, bool)), None)
    if fmt is None:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = fmt
    return cell


def one_sheet(titles: Sequence[str], rows: Iterable[Sequence[Any]], name: str) -> bytes:
    """One sheet with a bold, frozen header row."""
    return _book([(name, titles, rows)])


def workbook(summary_titles: Sequence[str], summary: Iterable[Sequence[Any]], item_titles: Sequence[str],
             items: Iterable[Sequence[Any]], sheet_names: tuple[str, str]) -> bytes:  # fmt: skip
    """Two sheets, written in streaming mode so a large subtree stays cheap in memory."""
    return _book([(sheet_names[0], summary_titles, summary), (sheet_names[1], item_titles, items)])


def _book(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """Sheets with a bold, frozen header row each, written in streaming mode."""
    book = Workbook(write_only=True)
    for name, titles, rows in sheets:
        sheet = book.create_sheet(name[:31])
        sheet.freeze_panes = "A2"
        _header(sheet, titles)
        for row in rows:
            sheet.append([_cell(sheet, value) for value in row])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
