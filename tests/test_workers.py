"""Several workers serve one bot: two real `sangkien run --webhook` processes on PostgreSQL and Redis, one
conversation whose updates alternate between them, some delivered twice and to both, one worker killed midway;
and `--workers 2` sharing one port."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from storage.db import Database
from storage.migrate import upgrade
from storage.unit_files import read_units
from storage.units import import_units
from tests.conftest import UNITS_CSV, register
from tests.e2e import free_port
from tests.fake_telegram import FakeTelegram
from tests.flows import BEFORE, PLACE, SOLUTION, TITLE, fill_to_preview
from tests.test_webhook import WebhookProcess
from tests.tgclient import TgUser


async def with_units(url: str) -> None:
    db = Database(url)
    await db.start()
    await upgrade(db.engine)
    await import_units(db, read_units(UNITS_CSV))
    await db.close()


class Alternating:
    """Telegram's deliveries spread over the workers in turn; every ``twice``-th update is delivered a second
    time, to both workers at once (a retry racing the first delivery)."""

    def __init__(self, fake: FakeTelegram, workers: list[WebhookProcess], twice: int = 3) -> None:
        self.fake, self.workers, self.twice = fake, workers, twice
        self.sent = 0
        self.keys: list[int] = []

    def alive(self) -> list[WebhookProcess]:
        return [w for w in self.workers if w.proc is not None and w.proc.returncode is None]

    async def deliver(self, update: dict[str, Any], user: TgUser, expect: int) -> None:
        full = {"update_id": self.fake.next_update_id(), **update}
        self.keys.append(full["update_id"])
        workers = self.alive()
        first = workers[self.sent % len(workers)]
        self.sent += 1
        before = len(user.history)
        duplicate = self.sent % self.twice == 0 and self.sent > 6  # in the form, where every answer writes
        if duplicate:
            statuses = await asyncio.gather(*(w.post(full) for w in [first, *workers]))
        else:
            statuses = [await first.post(full)]
        assert set(statuses) == {200}
        if expect:
            await self.fake.wait_for(lambda: len(user.history) >= before + expect, timeout=15)


async def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def test_two_workers_alternate_take_duplicates_and_survive_one_killed(
    fake: FakeTelegram, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    await with_units(pg_url)
    env = {"DATABASE_URL": pg_url, "REDIS_URL": redis_url}
    workers = [WebhookProcess(fake, tmp_path / f"w{i}", env) for i in (1, 2)]
    for worker in workers:
        worker.workdir.mkdir()
        worker.log_path = worker.workdir / "bot.log"
    await asyncio.gather(*(w.start() for w in workers))  # both migrate at once: one waits for the other
    spread = Alternating(fake, workers)
    try:
        user = TgUser(fake, spread.deliver, 777_001)
        await register(user)
        await user.send("/new")
        await user.send(TITLE)
        await user.click("Giải pháp kỹ thuật", expect=0)
        await user.click("Sản xuất, vận hành")
        await user.send(BEFORE)
        await workers[0].kill9()  # one worker dies midway; the other carries on
        await user.send(SOLUTION)
        await user.send(PLACE)
        await user.send("15/03/2022")
        await user.send("14 triệu/năm")
        replies = await user.click("Gửi duyệt")
        assert "SK-" in replies[-1].text
        texts = [m.text for m in user.history]
        assert len(texts) == len(set(texts)), "a duplicate delivery was answered twice"
    finally:
        for worker in workers:
            if worker.proc is not None and worker.proc.returncode is None:
                await worker.kill9()

    rows = await query(pg_url, "SELECT i.status, i.title, i.answers FROM initiative i JOIN member m "
                               "ON m.id = i.author_id WHERE m.tg_user_id = $1", 777_001)  # fmt: skip
    assert [(r["status"], r["title"]) for r in rows] == [("submitted", TITLE)]
    answers = rows[0]["answers"]
    for text in (BEFORE, SOLUTION, PLACE):
        assert answers.count(text) == 1  # each answer applied once, none appended twice
    handled = await query(pg_url, "SELECT key FROM handled_update")
    assert len(handled) == len({r["key"] for r in handled})
    submitted = await query(pg_url, "SELECT count(*) AS n FROM event WHERE kind = 'initiative.submitted'")
    assert submitted[0]["n"] == 1


async def test_workers_2_share_one_port_and_stop_together(
    fake: FakeTelegram, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    await with_units(pg_url)
    port = free_port()
    env = {"DATABASE_URL": pg_url, "REDIS_URL": redis_url, "WEBHOOK_PORT": str(port)}
    process = WebhookProcess(fake, tmp_path, env)
    process.port, process.base = port, f"http://127.0.0.1:{port}"
    log = process.log_path.open("ab")
    process.proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--webhook",
        "--workers",
        "2",
        cwd=tmp_path,
        env=process.env,
        stdout=log,
        stderr=log,
    )
    try:
        await fake.wait_for(lambda: sum(1 for m, _ in fake.log if m == "setWebhook") >= 2, timeout=60)
        await asyncio.sleep(0.5)  # both listening
        statuses = [(await process.get("/healthz"))[0] for _ in range(10)]
        assert statuses == [200] * 10
        user = TgUser(fake, process.deliver, 777_002)
        await register(user)
        await fill_to_preview(user)
        assert "Gửi duyệt" in " ".join(user.last.button_texts())
        assert process.log().count("worker") >= 2
        process.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.proc.wait(), 30) == 0
    finally:
        if process.proc.returncode is None:
            process.proc.kill()


async def test_workers_refuse_sqlite_and_long_polling(tmp_path: Path) -> None:
    from bot.cli import main

    base = ["run", "--workers", "2"]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        patch.setenv("BOT_TOKEN", "123456:TEST-token")
        patch.setenv("PUBLIC_BASE_URL", "https://bot.example.org")
        patch.setenv("WEBHOOK_SECRET", "s3cret-Token_for-tests")
        assert main(base) == 2  # long polling
        assert main([*base, "--webhook"]) == 2  # SQLite
        patch.setenv("DATABASE_URL", "postgresql://127.0.0.1/x")
        assert main([*base, "--webhook"]) == 2  # no Redis
