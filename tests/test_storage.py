"""Storage: group commit, compare-and-set, the SQLite settings, unit import, FSM persistence."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import text
from sqlmodel import select

from storage.db import Database
from storage.fsm import SqlStorage
from storage.models import Unit
from storage.unit_files import UnitImportError, read_units
from storage.units import import_units, search_units
from storage.writer import Stmt


@pytest.fixture
async def db(db_path: Path):  # type: ignore[no-untyped-def]
    database = Database(f"sqlite+aiosqlite:///{db_path}")
    await database.start()
    yield database
    await database.close()


async def test_sqlite_is_configured_for_safety(db: Database, db_path: Path) -> None:
    async with db.engine.connect() as conn:
        pragmas = {
            p: (await conn.execute(text(f"PRAGMA {p}"))).scalar()
            for p in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 5000, "foreign_keys": 1}


async def test_concurrent_writes_share_commits_and_all_land(db: Database, db_path: Path) -> None:
    await db.write(Stmt("CREATE TABLE counter (n INTEGER)"), Stmt("INSERT INTO counter VALUES (0)"))
    await asyncio.gather(*(db.write(Stmt("UPDATE counter SET n = n + 1")) for _ in range(500)))
    assert sqlite3.connect(db_path).execute("SELECT n FROM counter").fetchone() == (500,)
    assert db.writer.batches < 500 / 2  # several answers shared one commit


async def test_a_failing_op_fails_alone(db: Database, db_path: Path) -> None:
    await db.write(Stmt("CREATE TABLE t (v INTEGER UNIQUE)"))
    ops = [db.write(Stmt("INSERT INTO t VALUES (:v)", {"v": v})) for v in (1, 2, 2, 3)]
    results = await asyncio.gather(*ops, return_exceptions=True)
    assert [isinstance(r, Exception) for r in results] == [False, False, True, False]
    assert sorted(sqlite3.connect(db_path).execute("SELECT v FROM t").fetchall()) == [(1,), (2,), (3,)]


async def test_guarded_op_is_undone_as_a_whole(db: Database, db_path: Path) -> None:
    await db.write(
        Stmt("CREATE TABLE s (id INTEGER, status TEXT)"),
        Stmt("CREATE TABLE log (m TEXT)"),
        Stmt("INSERT INTO s VALUES (1, 'draft')"),
    )

    def submit() -> tuple[Stmt, Stmt]:
        return (
            Stmt("UPDATE s SET status = 'submitted' WHERE id = 1 AND status = 'draft'", guard=True),
            Stmt("INSERT INTO log VALUES ('submitted')"),
        )

    results = await asyncio.gather(*(db.write(*submit()) for _ in range(10)))
    assert [r.applied for r in results].count(True) == 1
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM log").fetchone() == (1,)


async def test_unit_search_ignores_case_diacritics_and_d(db: Database) -> None:
    assert [u.code for u in await search_units(db, "DIEN LUC")] == ["EVN"]
    assert [u.code for u in await search_units(db, "lạng sơn cấp")] == ["LS-NUOC"]
    assert [u.code for u in await search_units(db, "ls-td")] == ["LS-TD"]  # by code
    assert await search_units(db, "100%") == []


async def test_unit_import_updates_in_place(db: Database, tmp_path: Path) -> None:
    csv = tmp_path / "u.csv"
    csv.write_text("code,name,parent_code\nLS-NUOC,CĐCS Cấp nước Lạng Sơn (đổi tên),LS\nLS-X,Đơn vị mới,LS-NUOC\n")
    assert await import_units(db, read_units(csv)) == (1, 1)
    async with db.session() as s:
        units = {u.code: u for u in (await s.exec(select(Unit))).all()}
    assert units["LS-NUOC"].name == "CĐCS Cấp nước Lạng Sơn (đổi tên)"
    assert units["LS-X"].parent_id == units["LS-NUOC"].id


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ("code,name,parent_code\n,Không mã,\n", "row 2: bad code"),
        ("code,name,parent_code\nA,,\n", "row 2: the name is empty"),
        ("code,name,parent_code\nA,Một,\nA,Hai,\n", "row 3: code A already given on row 2"),
        ("code,name,parent_code\nA,Một,NOPE\n", "row 2: unknown parent_code NOPE"),
        ("code,name,parent_code\nA,Một,B\nB,Hai,A\n", "row 2: A would be its own ancestor"),
        ("code,name\nA,Một\n", "missing column(s): parent_code"),
    ],
)
async def test_bad_unit_files_are_refused_whole(db: Database, tmp_path: Path, rows: str, problem: str) -> None:
    csv = tmp_path / "u.csv"
    csv.write_text(rows)
    with pytest.raises(UnitImportError) as err:
        await import_units(db, read_units(csv))
    assert any(p.startswith(problem) for p in err.value.problems), err.value.problems
    async with db.session() as s:
        assert (await s.exec(select(Unit).where(Unit.code == "A"))).first() is None


async def test_fsm_state_survives_a_new_process(db_path: Path) -> None:
    key = StorageKey(bot_id=1, chat_id=2, user_id=2)
    first = Database(f"sqlite+aiosqlite:///{db_path}")
    await first.start()
    storage = SqlStorage(first)
    await storage.set_state(key, "Drafting:filling")
    await storage.set_data(key, {"draft": 7})
    await first.close()
    second = Database(f"sqlite+aiosqlite:///{db_path}")  # empty cache: reads the database
    await second.start()
    storage = SqlStorage(second)
    assert (await storage.get_state(key), await storage.get_data(key)) == ("Drafting:filling", {"draft": 7})
    await storage.set_state(key, None)
    await storage.set_data(key, {})
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM fsm_record").fetchone() == (0,)
    await second.close()


async def test_postgresql_keeps_the_configured_pool_open(pg_url: str) -> None:
    """Under load every update in flight holds a connection for a moment: the pool keeps DATABASE_POOL_SIZE of them
    open (no new server process per update) and lends as many again at a peak."""
    from bot.settings import Settings

    assert Settings(bot_token="1:x", _env_file=None).database_pool_size == 10
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Settings(bot_token="1:x", database_pool_size=0, _env_file=None)
    db = Database(pg_url, pool_size=3)
    await db.start()
    try:

        async def read() -> None:
            async with db.read_engine.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(0.2)"))

        await asyncio.gather(*(read() for _ in range(6)))  # 3 kept + 3 lent at the peak, none waiting
        pool = db.engine.sync_engine.pool
        assert pool.size() == 3 and pool.checkedin() == 3  # type: ignore[attr-defined]
    finally:
        await db.close()
