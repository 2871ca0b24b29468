"""``sangkien run --webhook --workers N``: N worker processes on one port (SO_REUSEPORT: the kernel spreads the
connections), sharing PostgreSQL and Redis; this parent only starts them, restarts one that dies, and passes
SIGTERM/SIGINT on. Each worker is a whole ``sangkien run --webhook``: migrations (run under a lock, once),
setWebhook (the same call from each, harmless), its own outbox sender and scheduler (a job runs once per slot).
Several hosts behind a load balancer work the same way, one ``sangkien run --webhook`` (or ``--workers``) each."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

log = logging.getLogger(__name__)
RESTART_AFTER = 1.0  # seconds before a worker that died is started again
WORKER_ENV = "SANGKIEN_WORKER"  # set in a worker: its number, and that its port is shared


def needs(database_url: str, redis_url: str | None) -> str | None:
    """Why several workers cannot share this setup, or None when they can."""
    if database_url.startswith("sqlite"):
        return "--workers needs PostgreSQL (DATABASE_URL=postgresql://…): one process owns a SQLite database"
    if not redis_url:
        return "--workers needs REDIS_URL: the workers share conversation state, locks and pacing through Redis"
    return None


def supervise(count: int, argv: list[str]) -> int:
    """Run ``count`` workers of ``argv`` until SIGTERM/SIGINT; returns 0 when they all stopped cleanly."""
    stopping = False
    workers: dict[int, subprocess.Popen[bytes]] = {}

    def start(number: int) -> None:
        env = {**os.environ, WORKER_ENV: str(number)}
        workers[number] = subprocess.Popen([sys.executable, "-m", "bot.cli", *argv], env=env)
        log.info("worker %d started (pid %d)", number, workers[number].pid)

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in workers.values():
            if process.poll() is None:
                process.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for number in range(1, count + 1):
        start(number)
    status = 0
    while workers:
        time.sleep(0.2)
        for number, process in list(workers.items()):
            code = process.poll()
            if code is None:
                continue
            del workers[number]
            if stopping:
                status = status or code
            elif code == 2:  # a configuration problem: restarting would fail the same way
                log.error("worker %d exited with status 2 (a configuration problem): stopping", number)
                stop(signal.SIGTERM, None)
                status = 2
            else:
                log.warning("worker %d exited with status %s: starting it again in %.0f s", number, code,
                            RESTART_AFTER)  # fmt: skip
                time.sleep(RESTART_AFTER)
                start(number)
    log.info("all workers stopped")
    return status
