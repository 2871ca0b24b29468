"""``sangkien db backup FILE``: a consistent copy of a database in use, restored and compared with its source."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.cli import main
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Initiative
from storage.writer import Stmt

PAYLOAD = "Giải pháp tiết kiệm điện cho trạm bơm số 3. " * 40  # ~2 KB, so the copy takes a little while


@pytest.fixture
def env(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory, with DATABASE_URL naming the test's migrated SQLite file (units loaded)."""
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "TELEGRAM_API_BASE", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")
    return tmp_path


def one_op(tg_user_id: int) -> list[Stmt]:
    """One worker, their draft, its author row and an event: four rows in one transaction, linked by keys."""
    now = datetime.now(UTC)
    p = {
        "tg": tg_user_id,
        "name": f"Công nhân {tg_user_id}",
        "now": now,
        "answers": PAYLOAD,
        "title": f"SK {tg_user_id}",
    }
    member = "(SELECT id FROM member WHERE tg_user_id = :tg)"
    initiative = f"(SELECT id FROM initiative WHERE author_id = {member})"
    return [
        Stmt(
            "INSERT INTO member (tg_user_id, full_name, language, unit_id, created_at, updated_at, weekly_digest)"
            " VALUES (:tg, :name, 'vi', (SELECT min(id) FROM unit), :now, :now, 0)",
            p,
        ),
        Stmt(
            "INSERT INTO initiative (author_id, unit_id, status, answers, step, pending, editing, title,"
            " has_social_benefit, created_at, updated_at, review_round)"
            f" VALUES ({member}, (SELECT min(id) FROM unit), 'draft', :answers, '', '[]', 0, :title, 0, :now, :now, 0)",
            p,
        ),
        Stmt(
            f"INSERT INTO author (initiative_id, position, full_name, share, member_id) VALUES ({initiative}, 1,"
            f" :name, 100, {member})",
            p,
        ),
        Stmt(
            "INSERT INTO event (at, member_id, initiative_id, kind, detail)"
            f" VALUES (:now, {member}, {initiative}, 'initiative.created', '{{}}')",
            p,
        ),
    ]


async def fill(db: Database, first: int, count: int) -> None:
    for start in range(first, first + count, 100):
        await db.write_all([s for tg in range(start, min(start + 100, first + count)) for s in one_op(tg)])


def table_rows(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}


def check_copy(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
    finally:
        conn.close()
    assert not path.with_name(path.name + "-wal").exists()


async def restore(path: Path) -> Database:
    """Open the copy the way the bot would, as its DATABASE_URL; migrations have nothing left to do."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.start()
    await upgrade(db.engine)
    return db


async def test_backup_of_a_quiet_database_equals_it_table_by_table(
    env: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    await db.start()
    try:
        await fill(db, 1_000, 300)  # committed, much of it still in the WAL: the copy must include it
        assert db_path.with_name(db_path.name + "-wal").stat().st_size > 0
        assert await asyncio.to_thread(main, ["db", "backup", "backups.db"]) == 0
        out = capsys.readouterr().out.strip().splitlines()
        copy = env / "backups.db"
        assert out == [f"backup written to backups.db ({copy.stat().st_size} bytes, 300 initiative(s), integrity ok)"]
        assert [p.name for p in env.iterdir() if p.name.startswith(".backups.db")] == []  # no temporary file left
        check_copy(copy)

        restored = await restore(copy)
        try:
            async with restored.session() as s:
                assert (await s.exec(select(func.count()).select_from(Initiative))).one() == 300
            source, target = sqlite3.connect(db_path), sqlite3.connect(copy)
            expected, got = table_rows(source), table_rows(target)
            assert list(got) == list(expected)
            for name in expected:
                assert got[name] == expected[name], name
            schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
            assert target.execute(schema).fetchall() == source.execute(schema).fetchall()
            source.close()
            target.close()
        finally:
            await restored.close()
    finally:
        await db.close()


async def test_backup_while_writes_continue_is_one_consistent_snapshot(
    env: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    await db.start()
    await fill(db, 1_000, 2_000)  # ~5 MB to copy
    bases = (100_000, 200_000)
    started = dict.fromkeys(bases, 0)
    committed = dict.fromkeys(bases, 0)
    stop = asyncio.Event()

    async def writer(base: int) -> None:  # one op after another: its rows in any snapshot are a prefix
        while not stop.is_set():
            started[base] += 1
            await db.write_all(one_op(base + committed[base]))
            committed[base] += 1

    tasks = [asyncio.create_task(writer(base)) for base in bases]
    try:
        while min(committed.values()) < 20:
            await asyncio.sleep(0.01)
        before = dict(committed)
        assert await asyncio.to_thread(main, ["db", "backup", "copy.db"]) == 0
        after = dict(started)
        while min(committed[b] - after[b] for b in bases) < 20:  # the bot kept writing after the copy
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await db.close()

    copy = env / "copy.db"
    check_copy(copy)
    restored = await restore(copy)
    await restored.close()
    conn = sqlite3.connect(copy)
    in_copy = 0
    for base in bases:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT tg_user_id FROM member WHERE tg_user_id >= ? AND tg_user_id < ?", (base, base + 100_000)
            )
        ]
        k = len(ids)
        assert sorted(ids) == list(range(base, base + k))  # a prefix of what this writer committed
        assert before[base] <= k <= after[base]  # taken between the start and the end of the backup
        for table, key in (("initiative", "author_id"), ("author", "member_id"), ("event", "member_id")):
            n = conn.execute(
                f"SELECT count(*) FROM {table} JOIN member ON member.id = {table}.{key} WHERE tg_user_id >= ?"
                " AND tg_user_id < ?",
                (base, base + 100_000),
            ).fetchone()[0]
            assert n == k, (table, base)  # each op is all there or not at all
        in_copy += k
    assert conn.execute("SELECT count(*) FROM initiative").fetchone()[0] == 2_000 + in_copy
    conn.close()
    assert f"{2_000 + in_copy} initiative(s), integrity ok" in capsys.readouterr().out


async def test_refuses_to_overwrite_without_force(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = env / "old.db"
    existing.write_bytes(b"yesterday's backup")
    assert main(["db", "backup", "old.db"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "sangkien: old.db already exists; add --force to replace it\n"
    assert existing.read_bytes() == b"yesterday's backup"
    assert main(["db", "backup", "--force", "old.db"]) == 0
    assert "backup written to old.db" in capsys.readouterr().out
    check_copy(existing)


def test_postgresql_prints_the_pg_dump_command_without_the_password(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://sangkien:s3cr%40t@db.example.vn:6543/sangkien_prod")
    assert main(["db", "backup", "nightly.dump"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "sangkien: db backup copies SQLite databases only; back up PostgreSQL with pg_dump, e.g.",
        "  PGPASSWORD='<the password from DATABASE_URL>' pg_dump --host db.example.vn --port 6543"
        " --username sangkien --format=custom --file nightly.dump --dbname sangkien_prod",
    ]
    assert "s3cr" not in captured.err
    assert not (env / "nightly.dump").exists()
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1/test")
    assert main(["db", "backup", "b.dump"]) == 2
    assert capsys.readouterr().err.splitlines()[1] == (
        "  pg_dump --host 127.0.0.1 --username postgres --format=custom --file b.dump --dbname test"
    )


@pytest.mark.parametrize(
    ("target", "database", "message"),
    [
        ("copy.db", "missing.db", "sangkien: database file not found: missing.db"),
        ("copy.db", "not a url", "sangkien: DATABASE_URL is not a database URL"),
        ("no/such/folder/copy.db", None, "sangkien: folder not found: no/such/folder"),
        ("LIVE", None, "is the live database itself; choose another file"),
        (".", None, "sangkien: . is a folder; give a file name, e.g. sangkien-backup.db"),
    ],
)
def test_errors_are_one_line_and_status_2(
    env: Path,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: str,
    database: str | None,
    message: str,
) -> None:
    if database:
        monkeypatch.setenv("DATABASE_URL", database if " " in database else f"sqlite+aiosqlite:///{database}")
    assert main(["db", "backup", str(db_path) if target == "LIVE" else target]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_unwritable_folder_is_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("storage.backup.tempfile.mkstemp", refuse)
    assert main(["db", "backup", "copy.db"]) == 2
    assert capsys.readouterr().err == "sangkien: cannot write in the folder .: Permission denied\n"
    assert not (env / "copy.db").exists()


def test_help_says_what_it_does_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["db", "backup", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for words in ("consistent copy", "FILE", "--force", "pg_dump", "exits with status 2", "example:"):
        assert words in text
