"""After the bot stops (or dies) and starts again, the worker's next message continues where they were."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import col, select

from storage.models import Initiative
from tests.conftest import build_app, close_app, make_settings, register
from tests.fake_telegram import FakeTelegram
from tests.flows import BEFORE, TITLE
from tests.tgclient import TgUser


async def test_the_form_continues_after_a_restart(fake: FakeTelegram, db_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{db_path}", fake)
    app = await build_app(fake, settings)
    user = app.user()
    await register(user)
    await user.send("/new")
    await user.send(TITLE)
    await user.click("Giải pháp kỹ thuật")
    await user.click("Khác")
    first = (BEFORE + " ") * 60  # a piece of a long paste (over 3,500 characters): the rest is awaited
    await user.send(first)
    await close_app(app)

    app = await build_app(fake, settings)  # a new process: empty caches, same database
    again = TgUser(fake, app.deliver, user.id)
    replies = await again.send("Phần thứ hai.")  # the last piece
    assert "Bước 5/13" in replies[-1].text  # the language, the step and the first piece came back too
    async with app.db.session() as s:
        row = (await s.exec(select(Initiative).order_by(col(Initiative.id).desc()))).first()
    assert row is not None
    answers = json.loads(row.answers)
    assert answers["title"] == TITLE and answers["before"] == first.strip() + "\nPhần thứ hai."
    await close_app(app)
