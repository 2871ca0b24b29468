"""The XLSX an officer sends to the level above: a summary sheet by unit and a sheet of every initiative."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

Gettext = Callable[[str], str]


def _header(sheet: WriteOnlyWorksheet, titles: Sequence[str]) -> None:
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)


def workbook(summary_titles: Sequence[str], summary: Iterable[Sequence[Any]], item_titles: Sequence[str],
             items: Iterable[Sequence[Any]], sheet_names: tuple[str, str]) -> bytes:  # fmt: skip
    """Two sheets, written in streaming mode so a large subtree stays cheap in memory."""
    book = Workbook(write_only=True)
    for name, titles, rows in ((sheet_names[0], summary_titles, summary), (sheet_names[1], item_titles, items)):
        sheet = book.create_sheet(name[:31])
        sheet.freeze_panes = "A2"
        _header(sheet, titles)
        for row in rows:
            sheet.append(list(row))
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
