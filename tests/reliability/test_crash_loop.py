"""Crash loop against the real process: SIGKILL at random moments (including the first milliseconds after an
answer and after Submit), restart, keep going; then no acknowledged answer may be lost or applied twice, and
no submission may be left without its review card. See ``tests/reliability/crash_loop.py`` for the definitions.

Size: 8 kills per backend by default; ``RELIABILITY_SCALE=full`` runs 200 (``bench/crash_loop.py``
prints the same figures from the command line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.crash_loop import CrashLoop, Result, scale_kills

TIMEOUT = 3600 if scale_kills() >= 200 else 900


def check(result: Result) -> None:
    print("\n" + result.report())
    assert result.acknowledged > 0, result.report()
    assert result.incomplete == 0, result.report()  # every worker ended with complete, submitted initiatives
    assert result.lost == 0, result.report()
    assert result.doubled == 0, result.report()
    assert result.orphaned == 0, result.report()


@pytest.mark.reliability
@pytest.mark.serial  # its timing is part of what it checks: run alone
@pytest.mark.timeout(TIMEOUT)
async def test_crash_loop_on_sqlite(db_path: Path, tmp_path: Path) -> None:
    loop = CrashLoop(tmp_path, f"sqlite+aiosqlite:///{db_path}", backend="sqlite", kills=scale_kills(), echo=print)
    check(await loop.run())


@pytest.mark.reliability
@pytest.mark.serial  # its timing is part of what it checks: run alone
@pytest.mark.timeout(TIMEOUT)
async def test_crash_loop_on_postgresql_and_redis(pg_url: str, redis_url: str, tmp_path: Path) -> None:
    loop = CrashLoop(tmp_path, pg_url, backend="postgresql+redis", kills=scale_kills(), redis_url=redis_url, echo=print)
    check(await loop.run())
