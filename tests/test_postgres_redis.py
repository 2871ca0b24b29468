"""The deployment for a whole sector: PostgreSQL for storage, Redis for conversation state and per-user locks.
These tests use the real services; without them they skip (and fail under CI=true)."""

from __future__ import annotations

import asyncio
import json

from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import text
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


async def test_two_workers_changing_one_initiative_at_once_keep_the_tallies_true(pg_url: str) -> None:
    """A decision on one worker and the team's benefit figure on another, at the same moment, many times over:
    the maintained tallies always equal a recount (each counted change locks the initiative's row first)."""
    from storage.progress import counted_change, recount, tallies
    from storage.recognition import set_checked_benefit
    from storage.review import Decision, decide
    from storage.unit_files import read_units
    from storage.units import import_units
    from tests.conftest import UNITS_CSV

    one, two = Database(pg_url), Database(pg_url)
    for db in (one, two):
        await db.start()
    await upgrade(one.engine)
    await import_units(one, read_units(UNITS_CSV))
    await one.write(Stmt("INSERT INTO member (tg_user_id, full_name, language, created_at, updated_at) "
                         "VALUES (1, 'x', 'vi', now(), now())"))  # fmt: skip
    for n in range(12):
        result = await one.write(Stmt(
            "INSERT INTO initiative (author_id, unit_id, status, answers, step, pending, editing, has_social_benefit, "
            "benefit_per_year, review_round, created_at, updated_at) SELECT (SELECT id FROM member), id, 'draft', "
            "'{}', '', '[]', false, false, 4000, 1, now(), now() FROM unit WHERE code = 'LS-NUOC' RETURNING id",
            returning=True))  # fmt: skip
        iid = result.rows[0][0]
        submitted = Stmt("UPDATE initiative SET status = 'submitted' WHERE id = :id", {"id": iid}, guard=True)
        await one.write_all(counted_change(iid, submitted))
        await asyncio.gather(decide(one, iid, 1, Decision.CONFIRM, None, 1),
                             set_checked_benefit(two, 1, iid, 1000 + n, "tính lại"))  # fmt: skip
    async with one.engine.connect() as conn:
        ids = [r[0] for r in await conn.execute(text("SELECT id FROM unit"))]
    one.count_basis = "checked"
    maintained = await tallies(one, ids, None)
    await recount(one)
    recounted = await tallies(one, ids, None)
    for uid in ids:
        a, b = maintained[uid], recounted[uid]
        counts = [{s: c for s, c in t.by_status.items() if c} for t in (a, b)]
        assert (counts[0], a.benefit, a.benefit_checked) == (counts[1], b.benefit, b.benefit_checked), uid
    for db in (one, two):
        await db.close()
