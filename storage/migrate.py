"""Alembic migrations, run from code (no alembic.ini needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import Database, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str = "") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


MIGRATION_LOCK = 7_271_843_512  # a PostgreSQL advisory lock key of our own


class MigrationError(Exception):
    pass


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await migrate(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await migrate(engine, command.downgrade, revision)


async def migrate(engine: AsyncEngine, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command in one transaction.

    On SQLite, batch mode rebuilds tables (copy, drop, rename); with foreign keys enforced, dropping a table that
    other rows refer to fails. So SQLite migrations run on their own connection with foreign keys off, and the
    result is checked with ``PRAGMA foreign_key_check`` before it is committed.
    """

    def run(connection: Any) -> None:
        if connection.dialect.name == "postgresql":  # several workers start at once: one migrates, the rest wait
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        step(cfg, revision)
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise MigrationError(f"the migration would leave {len(broken)} broken reference(s), e.g. {broken[0]}")

    is_sqlite = engine.url.get_backend_name() == "sqlite"
    target = (
        create_engine(engine.url.render_as_string(hide_password=False), foreign_keys=False) if is_sqlite else engine
    )
    try:
        async with target.begin() as conn:
            await conn.run_sync(run)
    finally:
        if target is not engine:
            await target.dispose()


async def open_migrated(url: str, busy_timeout_ms: int = 5000, pool_size: int = 10) -> Database:
    """The database, opened and migrated to the newest schema (closed again if the migration fails)."""
    db = Database(url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size)
    await db.start()
    try:
        await upgrade(db.engine)
    except BaseException:
        await db.close()
        raise
    return db
