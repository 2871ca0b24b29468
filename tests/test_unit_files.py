"""Unit and phase files as people really save them: Vietnamese Excel (Windows-1258, semicolons), UTF-16 "Unicode
Text", UTF-8 with a BOM, a text file named .xlsx, and files with several faults, all reported at once."""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from storage.charsets import UnreadableText, decode_text, detect_separator
from storage.db import Database
from storage.migrate import upgrade
from storage.unit_files import (
    UnitImportError,
    check_units,
    count_units,
    no_units_warning,
    parse_phases,
    parse_units,
    read_phases,
    read_units,
    tree_problems,
)
from storage.units import import_units

TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # grave, acute, tilde, hook above, dot below
NAMES = {
    "EVN": "Công đoàn Điện lực Việt Nam",
    "EVN-NPC": "Công đoàn Tổng Công ty Điện lực miền Bắc",
    "LS": "Liên đoàn Lao động tỉnh Lạng Sơn",
    "LS-TD": "Liên đoàn Lao động huyện Tràng Định",
}


def units_text(sep: str = ",", newline: str = "\r\n") -> str:
    rows = [
        ["code", "name", "parent_code", "quota"],
        ["EVN", NAMES["EVN"], "", "10000"],
        ["EVN-NPC", NAMES["EVN-NPC"], "EVN", "4.000"],  # Vietnamese thousands separator
        ["LS", NAMES["LS"], "", ""],
        ["LS-TD", NAMES["LS-TD"], "LS", "265"],
    ]
    return "".join(sep.join(row) + newline for row in rows)


def cp1258(text: str) -> bytes:
    """Text as Windows writes it in code page 1258: base letters (â, ơ, ư, đ…) precomposed, tone marks as separate
    combining characters, which Python's cp1258 codec does not do by itself."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
            out += (base + "".join(c for c in parts if c in TONES)).encode("cp1258")
    return bytes(out)


def assert_units_read(path: Path, source: str) -> None:
    parsed = parse_units(path)
    assert parsed.problems == []
    assert {row.code: row.name for row in parsed.rows} == NAMES
    for row in parsed.rows:
        assert unicodedata.is_normalized("NFC", row.name), row.name
    rows = {row.code: row for row in parsed.rows}
    assert rows["EVN-NPC"].parent_code == "EVN" and rows["EVN-NPC"].quotas == {None: 4000}
    assert rows["LS"].parent_code is None and rows["LS"].quotas == {}
    assert [row.line for row in parsed.rows] == [2, 3, 4, 5]
    assert parsed.source == source


def test_cp1258_helper_writes_combining_tone_marks() -> None:
    data = cp1258("Điện lực")
    assert data == b"\xd0i\xea\xf2n l\xfd\xf2c"  # Đ, i, ê + COMBINING DOT BELOW, n, l, ư + dot below, c
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_vietnamese_excel_csv_windows_1258_with_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "don_vi.csv"
    path.write_bytes(cp1258(units_text(";")))
    assert_units_read(path, "CSV, Windows-1258, semicolon-separated")


@pytest.mark.parametrize(
    ("codec", "source"),
    [("utf-16", "CSV, UTF-16 LE, tab-separated"), ("utf-16-be", "CSV, UTF-16 BE, tab-separated")],
)
def test_unicode_text_utf16_with_bom_and_tabs(tmp_path: Path, codec: str, source: str) -> None:
    path = tmp_path / "units.txt"
    bom = b"" if codec == "utf-16" else codecs.BOM_UTF16_BE  # Python's "utf-16" writes the machine's BOM itself
    path.write_bytes(bom + units_text("\t").encode(codec))
    if codec == "utf-16" and not path.read_bytes().startswith(codecs.BOM_UTF16_LE):
        pytest.skip("a big-endian machine")
    assert_units_read(path, source)


def test_utf16_without_bom(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(units_text().encode("utf-16-le"))
    assert_units_read(path, "CSV, UTF-16 LE without BOM, comma-separated")


@pytest.mark.parametrize(("codec", "encoding"), [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with BOM")])
def test_utf8_with_and_without_bom(tmp_path: Path, codec: str, encoding: str) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(units_text(";", "\n").encode(codec))
    assert_units_read(path, f"CSV, {encoding}, semicolon-separated")


def test_decomposed_utf8_is_stored_composed(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(unicodedata.normalize("NFD", units_text()).encode("utf-8"))
    assert_units_read(path, "CSV, UTF-8, comma-separated")


def test_windows_1252_is_the_last_resort() -> None:
    data = "code,name,parent_code\nSK,Công ty Škoda,\n".encode("cp1252")  # Š is 0x8A, not in Windows-1258
    decoded = decode_text(data)
    assert decoded.encoding == "Windows-1252" and "Škoda" in decoded.text


def test_binary_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(UnreadableText, match="not a text file"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    path = tmp_path / "units.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x00\x80\x08")
    with pytest.raises(UnitImportError) as err:
        read_units(path)
    assert err.value.problems == [f"units.csv: this is not a text file (it holds NUL bytes); {SAVE_AS_TEXT}"]


SAVE_AS_TEXT = 'save it from Excel as "CSV UTF-8 (Comma delimited) (*.csv)"'


@pytest.mark.parametrize(
    ("line", "separator"),
    [("code,name,parent_code", ","), ("code;name;parent_code", ";"), ("code\tname\tparent_code", "\t"),
     ('code;"name, full";parent_code', ";"), ("code", ",")],
)  # fmt: skip
def test_separator_is_read_from_the_header(line: str, separator: str) -> None:
    assert detect_separator(f"\n{line}\nA,B;C\tD\n") == (separator, False)


def test_excel_sep_line_names_the_separator(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("sep=;\n" + units_text(";", "\n"), encoding="utf-8")
    assert_units_read(path, "CSV, UTF-8, semicolon-separated")  # Excel hides the sep= line: the header is row 1


def test_headers_in_any_case_and_blank_rows_keep_excel_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("Code, Name ,PARENT_CODE,Quota_GD1\nA,Một,,5\n\n,,,\nB,Hai,A,\n", encoding="utf-8")
    parsed = parse_units(path)
    assert parsed.problems == []
    assert [(r.line, r.code, r.quotas) for r in parsed.rows] == [(2, "A", {"GD1": 5}), (5, "B", {})]


def test_a_text_file_named_xlsx_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "units.xlsx"
    path.write_text(units_text(), encoding="utf-8")
    with pytest.raises(UnitImportError) as err:
        read_units(path)
    [problem] = err.value.problems
    assert problem.startswith("units.xlsx is named .xlsx but is not an Excel workbook; if it is a CSV text file")


def test_an_old_xls_workbook_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "units.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(UnitImportError) as err:
        read_units(path)
    assert "Excel 97-2003 workbook (.xls)" in err.value.problems[0] and "Excel Workbook (*.xlsx)" in str(err.value)


def test_a_damaged_workbook_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "units.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"not really a zip archive" * 10)
    with pytest.raises(UnitImportError) as err:
        read_units(path)
    [problem] = err.value.problems
    assert problem.startswith("units.xlsx is not an Excel workbook that can be read (")


def test_xlsx_with_vietnamese_text_blank_rows_and_date_cells(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["code", "name", "start", "end"])
    sheet.append(["GD1", "Giai đoạn 1", date(2022, 1, 8), "31/05/2022"])
    sheet.append([None, None, None, None])
    sheet.append(["GD2", "Giai đoạn 2", "01.06.2022", "2023-09-01"])
    book.save(tmp_path / "phases.xlsx")
    rows = read_phases(tmp_path / "phases.xlsx")
    assert [(r.line, r.code, r.name, r.starts_on, r.ends_on) for r in rows] == [
        (2, "GD1", "Giai đoạn 1", date(2022, 1, 8), date(2022, 5, 31)),
        (4, "GD2", "Giai đoạn 2", date(2022, 6, 1), date(2023, 9, 1)),
    ]


def test_every_bad_row_is_reported_with_its_number_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(
        "code,name,parent_code,quota\n"
        "A,Một,,10\n"
        "B C,Hai,A,5\n"  # row 3: a space in the code
        "D,,A,12 người\n"  # row 4: no name, and a quota that is not a number
        "A,Lại A,,\n"  # row 5: A again
        "E,Năm,A,1.500\n",  # fine
        encoding="utf-8",
    )
    parsed = parse_units(path)
    assert parsed.problems == [
        "row 3: bad code 'B C': use letters A-Z, digits and - _ . only (no spaces or accents), at most 64 characters,"
        " e.g. LS-TD",
        "row 4: the name is empty; write the unit's full name",
        "row 4: quota '12 người' is not a whole number; write digits only, e.g. 1500",
        "row 5: code A already given on row 2; give each unit once",
    ]
    assert [row.code for row in parsed.rows] == ["A", "E"]
    with pytest.raises(UnitImportError) as err:
        read_units(path)
    assert err.value.problems == parsed.problems


def test_unquoted_separator_in_a_name_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("code,name,parent_code\nLS,Liên đoàn Lao động, tỉnh Lạng Sơn,TLD\n", encoding="utf-8")
    problems = parse_units(path).problems
    assert problems[0] == (
        'row 2: 4 values but 3 columns; a value that contains the separator must be in double quotes ("…"), '
        "or save the file again from Excel"
    )


def test_missing_columns_say_what_the_first_row_holds(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("Mã đơn vị,Tên đơn vị\nLS,Lạng Sơn\n", encoding="utf-8")
    with pytest.raises(UnitImportError) as err:
        read_units(path)
    assert err.value.problems == [
        "missing column(s): code, name, parent_code; the first row of units.csv must name the columns code, name, "
        "parent_code (it has: Mã đơn vị, Tên đơn vị)"
    ]


def test_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"\r\n\r\n")
    with pytest.raises(UnitImportError, match=r"units\.csv is empty"):
        read_units(path)


def test_tree_problems_unknown_parents_cycles_and_phases(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(
        "code,name,parent_code,quota_GD9\nA,Một,B,\nB,Hai,A,\nC,Ba,TLD,\nD,Bốn,KHONG-CO,\nE,,A,\nF,Sáu,E,\n",
        encoding="utf-8",
    )
    parsed = parse_units(path)
    problems = tree_problems(parsed, {"TLD": None}, {"GD1"})
    assert problems == [
        "column quota_GD9: there is no phase GD9 (phases: GD1); load the phases first with "
        "`sangkien phases import FILE`, or correct the column name",
        "row 2: A would be its own ancestor (A → B → A); correct its parent_code",
        "row 3: B would be its own ancestor (B → A → B); correct its parent_code",
        "row 5: unknown parent_code KHONG-CO: it is neither a code in this file nor a unit in the database; correct"
        " it, or add that unit (leave it empty for the top unit)",
    ]  # F's parent E has no name (row 6), which is its own problem, not an unknown parent


def test_phase_rows_report_every_fault(tmp_path: Path) -> None:
    path = tmp_path / "phases.csv"
    path.write_bytes(
        cp1258(
            "code;name;start;end\r\n"
            "GD1;Giai đoạn 1;08/01/2022;31/05/2022\r\n"
            ";;31/02/2022;\r\n"
            "GD2;Giai đoạn 2;01/09/2023;01/06/2022\r\n"
            "GD1;Giai đoạn một;2022-01-08;2022-05-31\r\n"
        )
    )
    parsed = parse_phases(path)
    assert parsed.source == "CSV, Windows-1258, semicolon-separated"
    assert parsed.problems == [
        "row 3: bad code '': the code is empty; give every phase a short code, e.g. GD1",
        "row 3: the name is empty; write the phase's name, e.g. Giai đoạn 1",
        "row 3: start '31/02/2022' is not a date; write it like 08/01/2022 (day/month/year) or 2022-01-08",
        "row 3: end is empty and is not a date; write it like 08/01/2022 (day/month/year) or 2022-01-08",
        "row 4: the phase ends before it starts; swap start and end",
        "row 5: code GD1 already given on row 2; give each phase once",
    ]
    assert [(r.code, r.name) for r in parsed.rows] == [("GD1", "Giai đoạn 1")]


@pytest.fixture
async def empty_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    await db.start()
    await upgrade(db.engine)
    yield db
    await db.close()


async def test_count_units_and_the_start_up_warning(empty_db: Database, tmp_path: Path) -> None:
    assert await count_units(empty_db) == 0
    warning = await no_units_warning(empty_db)
    assert warning is not None and "\n" not in warning
    assert "no units" in warning and "sangkien units import FILE" in warning and "sangkien demo load" in warning
    path = tmp_path / "units.csv"
    path.write_bytes(cp1258(units_text(";")))
    parsed = parse_units(path)
    assert await check_units(empty_db, parsed) == []
    assert await import_units(empty_db, parsed.rows) == (4, 0)
    assert await count_units(empty_db) == 4
    assert await no_units_warning(empty_db) is None


async def test_check_units_knows_the_units_already_in_the_database(empty_db: Database, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text("code,name,parent_code\nTLD,Tổng Liên đoàn,\nLS,Lạng Sơn,TLD\n", encoding="utf-8")
    await import_units(empty_db, read_units(first))
    second = tmp_path / "second.csv"
    second.write_text("code,name,parent_code\nLS-TD,Tràng Định,LS\nTLD,Tổng Liên đoàn,LS-TD\n", encoding="utf-8")
    assert await check_units(empty_db, parse_units(second)) == [
        "row 2: LS-TD would be its own ancestor (LS-TD → LS → TLD → LS-TD); correct its parent_code",
        "row 3: TLD would be its own ancestor (TLD → LS-TD → LS → TLD); correct its parent_code",
    ]
