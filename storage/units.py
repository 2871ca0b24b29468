"""Units (công đoàn cơ sở and the levels above): search by folded name, CSV import."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, text
from sqlmodel import and_, col, func, or_, select
from sqlmodel.sql.sqltypes import UTCDateTime

from forms.text import fold, normalize
from storage.db import Database
from storage.models import Unit, utcnow

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


async def search_units(db: Database, query: str, limit: int = 8) -> list[Unit]:
    """Units whose name holds every word typed (ignoring case, diacritics and đ/d), or whose code matches."""
    words = fold(query).split()
    if not words:
        return []
    by_name = and_(*[col(Unit.name_folded).contains(word, autoescape=True) for word in words])
    stmt = (
        select(Unit)
        .where(or_(func.lower(Unit.code) == query.strip().lower(), by_name))
        .order_by(func.length(Unit.name), Unit.name)
        .limit(limit)
    )
    async with db.session() as session:
        return list((await session.exec(stmt)).all())


async def unit_by_code(db: Database, code: str) -> Unit | None:
    async with db.session() as session:
        return (await session.exec(select(Unit).where(func.lower(Unit.code) == code.strip().lower()))).first()


async def any_units(db: Database) -> bool:
    async with db.session() as session:
        return (await session.exec(select(Unit.id).limit(1))).first() is not None


async def get_unit(db: Database, unit_id: int | None) -> Unit | None:
    if unit_id is None:
        return None
    async with db.session() as session:
        return await session.get(Unit, unit_id)


@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    name: str
    parent_code: str | None


class UnitImportError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_units_csv(path: Path) -> list[UnitRow]:
    """Rows of ``code,name,parent_code``; every bad row is reported with its line number."""
    problems: list[str] = []
    rows: list[UnitRow] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"code", "name", "parent_code"} - set(reader.fieldnames or [])
        if missing:
            raise UnitImportError([f"missing column(s): {', '.join(sorted(missing))}"])
        for line, raw in enumerate(reader, start=2):
            code, name = normalize(raw["code"] or ""), normalize(raw["name"] or "")
            parent = normalize(raw["parent_code"] or "") or None
            if not CODE.match(code):
                problems.append(f"row {line}: bad code {code!r}")
            elif not name or len(name) > 300:
                problems.append(f"row {line}: the name is empty or longer than 300 characters")
            else:
                rows.append(UnitRow(line, code, name, parent))
    if problems:
        raise UnitImportError(problems)
    return rows


_UPSERT = text(
    "INSERT INTO unit (code, name, name_folded, created_at, updated_at) "
    "VALUES (:code, :name, :folded, :now, :now) ON CONFLICT (code) DO UPDATE "
    "SET name = excluded.name, name_folded = excluded.name_folded, updated_at = excluded.updated_at"
).bindparams(bindparam("now", type_=UTCDateTime()))


async def import_units(db: Database, rows: list[UnitRow]) -> tuple[int, int]:
    """Insert or update every row in one transaction; refuse duplicates, unknown parents and cycles."""
    async with db.session() as session:
        units = (await session.exec(select(Unit))).all()
    existing = {u.code: u.parent_id for u in units}
    ids = {u.id: u.code for u in units}
    problems: list[str] = []
    parents: dict[str, str | None] = {code: ids.get(pid) if pid else None for code, pid in existing.items()}
    seen: dict[str, int] = {}
    for row in rows:
        if row.code in seen:
            problems.append(f"row {row.line}: code {row.code} already given on row {seen[row.code]}")
        seen[row.code] = row.line
        parents[row.code] = row.parent_code
    for row in rows:
        if row.parent_code and row.parent_code not in parents:
            problems.append(f"row {row.line}: unknown parent_code {row.parent_code}")
        elif _has_cycle(row.code, parents):
            problems.append(f"row {row.line}: {row.code} would be its own ancestor")
    if problems:
        raise UnitImportError(problems)
    now = utcnow()
    async with db.engine.begin() as conn:
        for row in rows:
            await conn.execute(
                _UPSERT,
                {"code": row.code, "name": row.name, "folded": fold(row.name), "now": now},
            )
        for row in rows:
            await conn.execute(
                text("UPDATE unit SET parent_id = (SELECT p.id FROM unit p WHERE p.code = :parent) WHERE code = :code"),
                {"parent": row.parent_code, "code": row.code},
            )
    added = sum(1 for row in rows if row.code not in existing)
    return added, len(rows) - added


def _has_cycle(code: str, parents: dict[str, str | None]) -> bool:
    seen = {code}
    current = parents.get(code)
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = parents.get(current)
    return False
