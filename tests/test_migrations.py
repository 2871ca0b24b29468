"""Migrations run on databases that already hold data, up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.db import Database
from storage.migrate import downgrade, upgrade


async def fill_first_schema(db: Database) -> None:
    """A member with a submitted initiative and its events, as a 0001 database in use would hold."""
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO member (id, tg_user_id, full_name, language, created_at, updated_at) "
                "VALUES (1, 1, 'A', 'vi', '2026-01-01', '2026-01-01')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO initiative (id, author_id, status, answers, step, pending, editing, "
                "has_social_benefit, created_at, updated_at) VALUES (1, 1, 'submitted', '{}', '', "
                "'[]', false, false, '2026-01-01', '2026-01-01')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO event (at, member_id, initiative_id, kind, detail) "
                "VALUES ('2026-01-01', 1, 1, 'initiative.submitted', '{}')"
            )
        )


async def round_trip(db: Database) -> None:
    await upgrade(db.engine, "0001")
    await fill_first_schema(db)
    await upgrade(db.engine)
    async with db.engine.connect() as conn:
        row = (await conn.execute(text("SELECT review_round, status FROM initiative"))).one()
    assert tuple(row) == (0, "submitted")
    await downgrade(db.engine, "0001")
    await upgrade(db.engine)
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM event"))).scalar() == 1


async def test_sqlite_migrations_keep_data_up_and_down(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await db.start()
    await round_trip(db)
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1  # the bot's connections enforce them
    await db.close()


async def test_postgresql_migrations_keep_data_up_and_down(pg_url: str) -> None:
    db = Database(pg_url)
    await db.start()
    await round_trip(db)
    await db.close()


async def test_models_and_migrations_agree(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401  (registers the tables)

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    await db.start()
    await upgrade(db.engine)
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), SQLModel.metadata))
    await db.close()
    assert diff == [], "a model changed without a migration: write one with alembic revision --autogenerate"
