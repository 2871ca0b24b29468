"""Crash loop at full size from the command line: the real ``sangkien run`` process killed with SIGKILL at random
moments while simulated workers keep answering, then the figures.

    python -m bench.crash_loop --kills 200 --backend sqlite
    python -m bench.crash_loop --kills 200 --backend postgres   # PostgreSQL + Redis

PostgreSQL: a fresh database is created on TEST_POSTGRES_URL's server and dropped afterwards. Redis: the
database of TEST_REDIS_URL (default 15, as the tests use) is emptied before and after. Exit status 1 when an
answer was lost or applied twice or a submission was orphaned."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import uuid
from pathlib import Path


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crash_loop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--settle", type=float, default=45.0, help="seconds the last process gets to post cards")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (database, bot.log)")
    parser.add_argument(
        "--clear-stale-locks", action="store_true", help="Redis: delete killed processes' locks, not let them lapse"
    )
    args = parser.parse_args(argv)

    from tests.conftest import PG_ADMIN_URL, REDIS_TEST_URL
    from tests.reliability.crash_loop import CrashLoop

    workdir = Path(tempfile.mkdtemp(prefix="crash-loop-"))
    admin = redis = None
    name = ""
    try:
        if args.backend == "sqlite":
            url, backend, redis_url = f"sqlite+aiosqlite:///{workdir / 'sangkien.db'}", "sqlite", None
        else:
            import asyncpg
            from redis.asyncio import Redis

            admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
            name = f"sangkien_crash_{uuid.uuid4().hex[:12]}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
            url, backend, redis_url = f"{base}/{name}", "postgresql+redis", REDIS_TEST_URL
            redis = Redis.from_url(REDIS_TEST_URL)
            await redis.flushdb()
        loop = CrashLoop(workdir, url, backend=backend, kills=args.kills, workers=args.workers, seed=args.seed,
                         redis_url=redis_url, settle_s=args.settle,
                         clear_stale_locks=args.clear_stale_locks, echo=lambda s: print(s, flush=True))  # fmt: skip
        result = await loop.run()
        print(result.report(), flush=True)
        if args.keep:
            print(f"working folder kept: {workdir}")
        return 1 if result.lost or result.doubled or result.orphaned or result.incomplete else 0
    finally:
        if redis is not None:
            await redis.flushdb()
            await redis.aclose()
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
