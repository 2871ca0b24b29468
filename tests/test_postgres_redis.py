"""The deployment for a whole sector: PostgreSQL for storage, Redis for conversation state and per-user locks.
These tests use the real services; without them they skip (and fail under CI=true)."""

from __future__ import annotations

import asyncio
import json

from aiogram.fsm.storage.redis import RedisStorage
from sqlmodel import select

from bot.app import create_storage
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Event, Initiative
from storage.writer import Stmt
from tests.conftest import build_app, close_app, make_settings, register
from tests.fake_telegram import FakeTelegram
from tests.flows import TITLE, fill_to_preview
from tests.tgclient import TgUser


async def test_whole_flow_on_postgresql(fake: FakeTelegram, pg_url: str) -> None:
    app = await build_app(fake, make_settings(pg_url, fake), units=True)
    assert not app.db.cache.enabled  # several workers may share PostgreSQL: nothing is cached
    try:
        worker = app.user()
        await register(worker)
        await fill_to_preview(worker)
        preview = worker.last
        _, button = worker.find_button("Gửi duyệt", preview)
        await asyncio.gather(*(worker.press(preview, button["callback_data"]) for _ in range(3)))
        async with app.db.session() as s:
            rows = (await s.exec(select(Initiative))).all()
            submitted = (await s.exec(select(Event).where(Event.kind == "initiative.submitted"))).all()
        assert [(r.status, r.number, r.benefit_per_year) for r in rows] == [
            ("submitted", f"SK-{rows[0].id:06d}", 14_000_000)
        ]
        assert len(submitted) == 1 and json.loads(rows[0].answers)["title"] == TITLE
    finally:
        await close_app(app)


async def test_compare_and_set_across_workers_on_postgresql(pg_url: str) -> None:
    """Ten processes' worth of writers race to move one row: exactly one wins."""
    workers = [Database(pg_url) for _ in range(10)]
    for db in workers:
        await db.start()
    await upgrade(workers[0].engine)
    await workers[0].write(
        Stmt("CREATE TABLE race (id INT PRIMARY KEY, status TEXT)"), Stmt("INSERT INTO race VALUES (1, 'submitted')")
    )
    results = await asyncio.gather(
        *(
            db.write(Stmt("UPDATE race SET status = 'confirmed' WHERE id = 1 AND status = 'submitted'", guard=True))
            for db in workers
        )
    )
    assert sum(r.applied for r in results) == 1
    for db in workers:
        await db.close()


async def test_conversation_state_lives_in_redis_across_restarts(fake: FakeTelegram, db_path, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(f"sqlite+aiosqlite:///{db_path}", fake, redis_url=redis_url)
    storage, _ = create_storage(settings, Database(settings.database_url))
    assert isinstance(storage, RedisStorage)
    await storage.close()
    app = await build_app(fake, settings)
    user = app.user()
    await register(user)
    await user.send("/new")
    await user.send(TITLE)
    await close_app(app)

    app = await build_app(fake, settings)  # another worker process, same Redis
    again = TgUser(fake, app.deliver, user.id)
    await again.click("Giải pháp kỹ thuật")  # ticked in place, on the keyboard of type and field
    replies = await again.click("Sản xuất, vận hành")
    assert "Bước 4/13" in replies[-1].text
    await close_app(app)


async def test_many_members_deciding_at_once_on_postgresql(fake: FakeTelegram, pg_url: str) -> None:
    from tests.test_review import race

    app = await build_app(fake, make_settings(pg_url, fake), units=True)
    try:
        await race(app)
    finally:
        await close_app(app)
