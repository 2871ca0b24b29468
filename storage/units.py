"""Units (công đoàn cơ sở and the levels above): search by folded name, CSV import."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import bindparam, text
from sqlmodel import and_, col, func, or_, select
from sqlmodel.sql.sqltypes import UTCDateTime

from forms.text import fold
from storage.db import Database
from storage.models import Phase, Quota, Unit, utcnow
from storage.progress import recount
from storage.unit_files import PhaseRow, UnitImportError, UnitRow, write_units

SEARCH_CHARS = 200  # a unit's name is at most 300 characters; a search is a part of it
SEARCH_WORDS = 8


def search_words(query: str) -> list[str]:
    """The first few distinct folded words of the query, one-letter words left out when longer ones exist: every
    word is one LIKE, and SQLite limits how many an expression may hold."""
    words = list(dict.fromkeys(fold(query[:SEARCH_CHARS]).split()))
    return ([w for w in words if len(w) >= 2] or words)[:SEARCH_WORDS]


async def search_units(db: Database, query: str, limit: int = 8) -> list[Unit]:
    """Units whose name holds every word typed (ignoring case, diacritics and đ/d), or whose code matches."""
    words = search_words(query)
    if not words:
        return []
    by_name = and_(*[col(Unit.name_folded).contains(word, autoescape=True) for word in words])
    stmt = (
        select(Unit)
        .where(or_(func.lower(Unit.code) == query[:SEARCH_CHARS].strip().lower(), by_name))
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


_UPSERT = text(
    "INSERT INTO unit (code, name, name_folded, kind, bloc, created_at, updated_at) "
    "VALUES (:code, :name, :folded, :kind, :bloc, :now, :now) ON CONFLICT (code) DO UPDATE "
    "SET name = excluded.name, name_folded = excluded.name_folded, kind = excluded.kind, bloc = excluded.bloc, "
    "updated_at = excluded.updated_at"
).bindparams(bindparam("now", type_=UTCDateTime()))
_QUOTA = text(
    "INSERT INTO quota (unit_id, phase_id, amount) "
    "SELECT u.id, (SELECT p.id FROM phase p WHERE p.code = :phase), :amount FROM unit u WHERE u.code = :code"
)


async def phase_codes(db: Database) -> list[str]:
    async with db.session() as session:
        return list((await session.exec(select(Phase.code).order_by(col(Phase.starts_on)))).all())


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
    async with db.session() as session:
        phase_codes = {p.code for p in (await session.exec(select(Phase))).all()}
    for row in rows:
        unknown = [code for code in row.quotas if code is not None and code not in phase_codes]
        if unknown:
            problems.append(f"row {row.line}: unknown phase(s) {', '.join(unknown)} in the quota columns")
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
                {
                    "code": row.code,
                    "name": row.name,
                    "folded": fold(row.name),
                    "kind": row.kind,
                    "bloc": row.bloc,
                    "now": now,
                },
            )
        for row in rows:
            await conn.execute(
                text("UPDATE unit SET parent_id = (SELECT p.id FROM unit p WHERE p.code = :parent) WHERE code = :code"),
                {"parent": row.parent_code, "code": row.code},
            )
            await conn.execute(
                text("DELETE FROM quota WHERE unit_id = (SELECT id FROM unit WHERE code = :code)"), {"code": row.code}
            )
            for phase, amount in row.quotas.items():
                await conn.execute(_QUOTA, {"phase": phase, "amount": amount, "code": row.code})
    await recount(db)  # the tree may have changed shape
    added = sum(1 for row in rows if row.code not in existing)
    return added, len(rows) - added


async def import_phases(db: Database, rows: list[PhaseRow]) -> int:
    async with db.engine.begin() as conn:
        for row in rows:
            await conn.execute(
                text(
                    "INSERT INTO phase (code, name, starts_on, ends_on) VALUES (:code, :name, :start, :end) "
                    "ON CONFLICT (code) DO UPDATE SET name = excluded.name, starts_on = excluded.starts_on, "
                    "ends_on = excluded.ends_on"
                ),
                {"code": row.code, "name": row.name, "start": row.starts_on, "end": row.ends_on},
            )
    return len(rows)


async def export_units(db: Database, path: Path) -> int:
    """Write the whole tree with its quotas in the import format; returns how many units."""
    async with db.session() as session:
        units = (await session.exec(select(Unit).order_by(col(Unit.id)))).all()
        phases = (await session.exec(select(Phase).order_by(col(Phase.starts_on)))).all()
        quotas = (await session.exec(select(Quota))).all()
    code_of = {u.id: u.code for u in units}
    phase_code = {p.id: p.code for p in phases}
    rows: dict[int | None, dict[str, object]] = {
        u.id: {"code": u.code, "name": u.name, "parent_code": code_of.get(u.parent_id), "kind": u.kind, "bloc": u.bloc}
        for u in units
    }
    for q in quotas:
        rows[q.unit_id]["quota" if q.phase_id is None else f"quota_{phase_code[q.phase_id]}"] = q.amount
    write_units(path, list(rows.values()), [p.code for p in phases])
    return len(units)


def _has_cycle(code: str, parents: dict[str, str | None]) -> bool:
    seen = {code}
    current = parents.get(code)
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = parents.get(current)
    return False
