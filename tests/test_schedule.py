"""Scheduled jobs (reminders, digests, pruning) run once per schedule, however many workers fire them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.runner import once
from storage.db import Database
from storage.migrate import open_migrated

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


async def fire_together(db_a: Database, db_b: Database) -> list[str]:
    """Two workers' schedulers fire the same job at the same minute; returns who ran it."""
    ran: list[str] = []

    def job(name: str) -> Any:
        async def run(**_: Any) -> None:
            ran.append(name)

        return run

    await asyncio.gather(once("reminders", job("a"), db_a, TZ)(), once("reminders", job("b"), db_b, TZ)())
    return ran


async def check_once(url: str) -> None:
    first = await open_migrated(url)
    second = await open_migrated(url)  # another worker: its own connections, the same database
    try:
        ran = await fire_together(first, second)
        assert len(ran) == 1
        assert len(await fire_together(first, second)) == 0  # the same minute again: already run
    finally:
        await first.close()
        await second.close()


async def test_two_workers_run_a_scheduled_job_once_on_sqlite(tmp_path: Path) -> None:
    await check_once(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")


async def test_two_workers_run_a_scheduled_job_once_on_postgresql(pg_url: str) -> None:
    await check_once(pg_url)
