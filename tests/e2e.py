"""Runs the real ``sangkien run`` process against the fake Bot API and talks to it as users would."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from tests.fake_telegram import FakeTelegram
from tests.tgclient import TgUser

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port nobody listens on right now (for a process the test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    def __init__(self, fake: FakeTelegram, workdir: Path, env: dict[str, str]) -> None:
        self.fake, self.workdir = fake, workdir
        self.env = {
            **os.environ,
            "BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE": fake.base_url,
            "LOG_LEVEL": "INFO",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = workdir / "bot.log"
        self.starts = 0

    async def start(self) -> None:
        """Start the process and wait until it polls for updates."""
        polls = sum(1 for method, _ in self.fake.log if method == "getUpdates")
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=self.workdir, env=self.env, stdout=log, stderr=log
        )
        self.starts += 1
        polled = self.fake.wait_for(
            lambda: sum(1 for m, _ in self.fake.log if m == "getUpdates") > polls, START_TIMEOUT
        )
        tasks = [asyncio.create_task(polled), asyncio.create_task(self.proc.wait())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        if self.proc.returncode is not None:
            raise AssertionError(f"the bot exited with {self.proc.returncode}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    async def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def deliver(self, update: dict[str, Any], user: TgUser, expect: int) -> None:
        """Queue the update and wait for the replies the user expects to see."""
        before = len(user.history)
        answers = len(self.fake.callback_answers)
        self.fake.push_update(update)
        if expect:
            await self.fake.wait_for(lambda: len(user.history) >= before + expect)
        elif "callback_query" in update:
            await self.fake.wait_for(lambda: len(self.fake.callback_answers) > answers)
