"""Webhook mode: the real `sangkien run --webhook` process, Telegram's Bot API faked over HTTP, and the test
POSTing updates to the bot's port as Telegram does (with the secret token header)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_bot, create_dispatcher
from bot.metrics import Metrics
from bot.settings import Settings
from bot.webhook import SECRET_HEADER, Health, TelegramWebhook, WebhookServer
from storage.db import Database
from tests.conftest import make_settings
from tests.e2e import START_TIMEOUT, BotProcess, free_port
from tests.fake_telegram import FakeTelegram
from tests.tgclient import TgUser

PUBLIC = "https://bot.example.org/sangkien"
SECRET = "s3cret-Token_for-tests"


class WebhookProcess(BotProcess):
    """`sangkien run --webhook` on a free port; Telegram's deliveries are POSTs from the test."""

    def __init__(self, fake: FakeTelegram, workdir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        defaults = {"WEBHOOK_PORT": str(self.port), "PUBLIC_BASE_URL": PUBLIC, "WEBHOOK_SECRET": SECRET}
        super().__init__(fake, workdir, {**defaults, **env})
        self.base = f"http://127.0.0.1:{self.port}"
        self.delivered: list[dict[str, Any]] = []

    async def spawn(self) -> None:
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--webhook", cwd=self.workdir, env=self.env, stdout=log, stderr=log
        )
        self.starts += 1

    async def start(self) -> None:
        """Start the process and wait until it has called setWebhook and answers /healthz."""
        registered = sum(1 for method, _ in self.fake.log if method == "setWebhook")
        await self.spawn()
        assert self.proc is not None
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while asyncio.get_running_loop().time() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"the bot exited with {self.proc.returncode}:\n{self.log()}")
            if sum(1 for method, _ in self.fake.log if method == "setWebhook") > registered:
                try:
                    status, _ = await self.get("/healthz")
                except aiohttp.ClientError:
                    status = 0
                if status == 200:
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the bot did not start in {START_TIMEOUT} s:\n{self.log()}")

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(self.base + path) as response:
            return response.status, await response.text()

    async def post(self, body: Any, secret: str | None = SECRET, raw: bytes | None = None) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        data = raw if raw is not None else json.dumps(body).encode()
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.base + "/webhook/telegram", data=data, headers=headers) as response,
        ):
            return response.status

    async def deliver(self, update: dict[str, Any], user: TgUser, expect: int) -> None:
        """As Telegram: a new update id, POSTed; the answer comes only after the update is handled."""
        full = {"update_id": self.fake.next_update_id(), **update}
        self.delivered.append(full)
        before = len(user.history)
        assert await self.post(full) == 200
        if expect:  # the handler's replies were sent before the answer; only an outbox message may lag
            await self.fake.wait_for(lambda: len(user.history) >= before + expect, timeout=10)


@pytest.fixture
async def webhook(fake: FakeTelegram, db_path: Path, tmp_path: Path) -> AsyncIterator[WebhookProcess]:
    process = WebhookProcess(fake, tmp_path, {"DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    await process.start()
    yield process
    if process.proc is not None and process.proc.returncode is None:
        await process.kill9()


def count(db_path: Path, sql: str, *params: Any) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def members(db_path: Path, user_id: int) -> int:
    return count(db_path, "SELECT count(*) FROM member WHERE tg_user_id = ?", user_id)


def metric(page: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = "^" + re.escape(name + (f"{{{wanted}}}" if wanted else "")) + r" (\S+)$"
    found = re.search(pattern, page, re.MULTILINE)
    assert found, f"no {name} {labels} in:\n{page}"
    return float(found[1])


async def reach_unit_choice(user: TgUser) -> None:
    await user.send("/start", expect=2)
    await user.click(user.last.button_texts()[0])  # the suggested name
    await user.send("cấp nước")  # the units that match, as buttons


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_handled(
    fake: FakeTelegram, webhook: WebhookProcess, db_path: Path
) -> None:
    user = TgUser(fake, webhook.deliver, 555_001)
    start = {
        "update_id": fake.next_update_id(),
        "message": {"message_id": 1, "date": 1, "chat": user.chat, "from": user.user, "text": "/start",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}]},
    }  # fmt: skip
    assert await webhook.post(start, secret=None) == 403
    assert await webhook.post(start, secret="s3cret-Token_for-test") == 403  # one character short
    assert await webhook.post(start, secret=SECRET + "x") == 403
    assert await webhook.post(None, raw=b"not json") == 400
    assert await webhook.post({"message": "no update_id"}) == 400
    assert user.history == []
    assert count(db_path, "SELECT count(*) FROM handled_update") == 0
    assert count(db_path, "SELECT count(*) FROM fsm_record") == 0
    _, page = await webhook.get("/metrics")
    assert metric(page, "sangkien_updates_total", channel="telegram", outcome="forbidden") == 3
    assert metric(page, "sangkien_updates_total", channel="telegram", outcome="invalid") == 2
    assert metric(page, "sangkien_updates_total", channel="telegram", outcome="handled") == 0

    assert await webhook.post(start) == 200  # the same update with the right secret is handled
    assert len(user.history) == 2


async def test_set_webhook_registers_the_public_url_the_secret_and_the_updates_used(
    fake: FakeTelegram, webhook: WebhookProcess, db_path: Path
) -> None:
    calls = [params for method, params in fake.log if method == "setWebhook"]
    assert len(calls) == 1
    params = calls[0]
    assert params["url"] == PUBLIC + "/webhook/telegram"
    assert params["secret_token"] == SECRET
    assert params.get("drop_pending_updates") in ("false", False)
    settings = make_settings(f"sqlite+aiosqlite:///{db_path}", fake)
    expected = create_dispatcher(settings, Database(settings.database_url)).resolve_used_update_types()
    assert sorted(params["allowed_updates"]) == sorted(expected)
    assert {"message", "callback_query"} <= set(expected)
    assert not any(method == "getUpdates" for method, _ in fake.log)  # no polling in webhook mode


async def test_the_same_delivery_twice_is_handled_once(
    fake: FakeTelegram, webhook: WebhookProcess, db_path: Path
) -> None:
    user = TgUser(fake, webhook.deliver, 555_002)
    await user.send("/start", expect=2)
    await user.click(user.last.button_texts()[0])  # the name
    shown = len(user.history)
    assert await webhook.post(webhook.delivered[-1]) == 200  # Telegram retries the name answer
    assert len(user.history) == shown  # asked for the unit once

    await user.send("cấp nước")
    await user.click(user.last.button_texts()[0])  # the unit: now a member
    assert "Cảm ơn" in user.last.text
    shown = len(user.history)
    assert await webhook.post(webhook.delivered[-1]) == 200  # and retries the button press
    assert await webhook.post(webhook.delivered[-1]) == 200
    assert len(user.history) == shown
    assert members(db_path, user.id) == 1
    _, page = await webhook.get("/metrics")
    assert metric(page, "sangkien_updates_total", channel="telegram", outcome="duplicate") == 3
    assert metric(page, "sangkien_updates_total", channel="telegram", outcome="handled") == 4


async def test_a_kill_9_between_receipt_and_answer_then_the_redelivery_is_handled_once(
    fake: FakeTelegram, webhook: WebhookProcess, db_path: Path
) -> None:
    user = TgUser(fake, webhook.deliver, 555_003)
    await reach_unit_choice(user)

    async def die_during(method: str, deliver: Any) -> dict[str, Any]:
        """Deliver, let the bot get as far as calling ``method``, kill -9 it there, restart it."""
        gate = fake.hold[method] = asyncio.Event()
        calls = sum(1 for m, _ in fake.log if m == method)
        pending = asyncio.create_task(deliver())
        await fake.wait_for(lambda: sum(1 for m, _ in fake.log if m == method) > calls)
        await webhook.kill9()
        with pytest.raises(aiohttp.ClientError):  # Telegram heard no answer, so it will deliver again
            await pending
        del fake.hold[method]
        gate.set()
        await webhook.start()
        return webhook.delivered[-1]

    # 1. killed before the commit (the button's answerCallbackQuery comes first): nothing was done
    update = await die_during("answerCallbackQuery", lambda: user.click(user.last.button_texts()[0]))
    assert members(db_path, user.id) == 0
    thanks = sum("Cảm ơn" in m.text for m in user.history)
    assert await webhook.post(update) == 200
    assert members(db_path, user.id) == 1
    assert sum("Cảm ơn" in m.text for m in user.history) == thanks + 1

    # 2. killed after the commit, before the reply reached the user: the redelivery changes nothing
    drafts = count(db_path, "SELECT count(*) FROM initiative")
    update = await die_during("sendMessage", lambda: user.send("/new"))
    assert count(db_path, "SELECT count(*) FROM initiative") == drafts + 1
    shown = len(user.history)
    assert await webhook.post(update) == 200
    assert count(db_path, "SELECT count(*) FROM initiative") == drafts + 1
    assert len(user.history) == shown  # the lost reply is the price; the next message shows where they are
    key = f"tg:{fake.token.split(':')[0]}:{update['update_id']}"
    assert count(db_path, "SELECT count(*) FROM handled_update WHERE key = ?", key) == 1
    _, page = await webhook.get("/metrics")
    assert metric(page, "sangkien_updates_total", channel="telegram", outcome="duplicate") == 1


async def test_healthz_and_metrics_on_postgresql_and_redis(
    fake: FakeTelegram, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    webhook = WebhookProcess(fake, tmp_path, {"DATABASE_URL": pg_url, "REDIS_URL": redis_url})
    await webhook.start()
    try:
        status, body = await webhook.get("/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok", "redis": "ok"})

        flooded: list[str] = []

        def flood_once(method: str, params: dict[str, Any]) -> int | None:
            if method == "sendMessage" and not flooded:
                flooded.append(method)
                return 1  # a 429 "retry after 1": the bot waits and sends again
            return None

        fake.flood = flood_once
        user = TgUser(fake, webhook.deliver, 555_004)
        await user.send("/start", expect=2)
        await user.click(user.last.button_texts()[0])
        assert await webhook.post(webhook.delivered[-1]) == 200
        assert await webhook.post(webhook.delivered[-1], secret="wrong") == 403

        status, page = await webhook.get("/metrics")
        assert status == 200
        assert metric(page, "sangkien_updates_total", channel="telegram", outcome="handled") == 2
        assert metric(page, "sangkien_updates_total", channel="telegram", outcome="duplicate") == 1
        assert metric(page, "sangkien_updates_total", channel="telegram", outcome="forbidden") == 1
        assert metric(page, "sangkien_updates_total", channel="telegram", outcome="error") == 0
        assert metric(page, "sangkien_update_handling_seconds_count", channel="telegram") == 3
        assert metric(page, "sangkien_update_handling_seconds_bucket", channel="telegram", le="+Inf") == 3
        assert metric(page, "sangkien_update_handling_seconds_sum", channel="telegram") >= 1.0  # the 429's wait
        assert metric(page, "sangkien_api_retries_total", reason="retry_after") == 1
        assert metric(page, "sangkien_api_retries_total", reason="network") == 0
        assert metric(page, "sangkien_outbox_pending") == 0
        assert "# TYPE sangkien_update_handling_seconds histogram" in page
    finally:
        await webhook.kill9()


async def test_a_refused_set_webhook_or_missing_settings_exit_2_with_one_line(
    fake: FakeTelegram, db_path: Path, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{db_path}", "PUBLIC_BASE_URL": "http://bot.example.org"}
    webhook = WebhookProcess(fake, tmp_path, env)
    await webhook.spawn()
    assert webhook.proc is not None
    assert await asyncio.wait_for(webhook.proc.wait(), START_TIMEOUT) == 2
    output = webhook.log()
    assert "Traceback" not in output
    refused = [line for line in output.splitlines() if "setWebhook" in line]
    assert refused == [
        "sangkien: setWebhook failed for http://bot.example.org/webhook/telegram: Bad Request: bad webhook: An "
        "HTTPS URL must be provided for webhook; check PUBLIC_BASE_URL (Telegram must reach it over HTTPS on port "
        "443, 80, 88 or 8443)"
    ]
    with socket.socket() as sock:  # the port was let go
        sock.bind(("127.0.0.1", webhook.port))

    for missing, says in (("WEBHOOK_SECRET", "WEBHOOK_SECRET is not set"), ("PUBLIC_BASE_URL", "PUBLIC_BASE_URL is")):
        env = {**webhook.env}
        env.pop(missing)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--webhook", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode == 2
        assert (out, err.decode().count("\n")) == (b"", 1) and err.decode().startswith("sangkien: " + says)


async def test_sigterm_stops_accepting_and_finishes_the_delivery_in_flight(
    fake: FakeTelegram, webhook: WebhookProcess
) -> None:
    user = TgUser(fake, webhook.deliver, 555_005)
    gate = fake.hold["sendMessage"] = asyncio.Event()
    in_flight = asyncio.create_task(user.send("/start", expect=2))
    await fake.wait_for(lambda: any(method == "sendMessage" for method, _ in fake.log))
    assert webhook.proc is not None
    webhook.proc.send_signal(15)
    await asyncio.sleep(0.5)
    with pytest.raises(aiohttp.ClientConnectionError):  # no new deliveries
        await webhook.get("/healthz")
    assert not in_flight.done()
    del fake.hold["sendMessage"]
    gate.set()
    await asyncio.wait_for(in_flight, 10)  # answered 200 after it was handled
    assert len(user.history) == 2
    assert await asyncio.wait_for(webhook.proc.wait(), 10) == 0
    assert "stopping: no new deliveries; finishing 1 in flight" in webhook.log()


# -- in-process: the channel's answers when handling fails, the health check, the proxy ---------------------
POST = {"path": "/webhook/telegram", "headers": {SECRET_HEADER: SECRET}}


def private_text(update_id: int, text: str) -> dict[str, Any]:
    chat = {"id": 1, "type": "private", "first_name": "An"}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1, "chat": chat, "text": text}}


def serve_router(router: Router, **channel_options: Any) -> tuple[Bot, TelegramWebhook, WebhookServer]:
    """The Telegram webhook in process, feeding ``router`` only."""
    dp = Dispatcher()
    dp.include_router(router)
    bot = Bot("123456:TEST-token")
    metrics = Metrics()
    channel = TelegramWebhook(dp, bot, SECRET, metrics, **channel_options)
    server = WebhookServer([channel], Health(Database("sqlite+aiosqlite:///:memory:")), metrics,
                           host="127.0.0.1", port=0, grace=1)  # fmt: skip
    return bot, channel, server


async def test_a_failing_handler_is_answered_500_until_it_succeeds_or_is_given_up() -> None:
    attempts: list[int] = []
    router = Router()

    @router.message()
    async def flaky(message: Message) -> None:
        attempts.append(message.message_id)
        if message.text == "always" or len(attempts) == 1:
            raise RuntimeError("the database went away")

    bot, _channel, server = serve_router(router, give_up_after=3)
    update, post = private_text, POST

    async with TestClient(TestServer(server.application())) as client:
        assert (await client.post(**post, json=update(1, "hi"))).status == 500  # Telegram will retry
        assert (await client.post(**post, json=update(1, "hi"))).status == 200
        statuses = [(await client.post(**post, json=update(2, "always"))).status for _ in range(3)]
        assert statuses == [500, 500, 200]  # a handler that always fails is given up, not retried for ever
        assert (await client.post(**post, data=b"\xff\xfe")).status == 400
        page = await (await client.get("/metrics")).text()
    assert metric(page, "sangkien_updates_total", channel="telegram", outcome="error") == 4
    assert metric(page, "sangkien_updates_total", channel="telegram", outcome="handled") == 1
    assert metric(page, "sangkien_updates_total", channel="telegram", outcome="invalid") == 1
    await bot.session.close()


async def test_a_handler_that_never_returns_is_stopped_and_answered_500(caplog: pytest.LogCaptureFixture) -> None:
    """A stuck handler (e.g. waiting on a lock for ever) must not keep Telegram's connection, and the update, for
    ever: it is stopped after the handler timeout and answered 500, so Telegram delivers it again."""
    router = Router()
    calls: list[str] = []

    @router.message()
    async def stuck(message: Message) -> None:
        calls.append(message.text or "")
        if message.text == "stuck":
            await asyncio.Event().wait()

    bot, channel, server = serve_router(router)
    channel.handler_timeout = 0.3
    update, post = private_text, POST

    async with TestClient(TestServer(server.application())) as client:
        async with asyncio.timeout(5):
            assert (await client.post(**post, json=update(7, "stuck"))).status == 500
            assert (await client.post(**post, json=update(8, "next"))).status == 200
    assert calls == ["stuck", "next"]
    assert "telegram update 7 took more than 0 s and was stopped" in caplog.text
    await bot.session.close()


async def test_healthz_is_503_when_redis_does_not_answer(db_path: Path) -> None:
    from redis.asyncio import Redis

    db = Database(f"sqlite+aiosqlite:///{db_path}")
    await db.start()
    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        healthy, body = await Health(db, redis, timeout=2).check()
        assert (healthy, body) == (False, {"status": "unavailable", "database": "ok", "redis": "unreachable"})
        assert await Health(db).check() == (True, {"status": "ok", "database": "ok"})
    finally:
        await redis.aclose()
        await db.close()


async def test_telegram_proxy_carries_the_bot_api_calls(fake: FakeTelegram) -> None:
    """An HTTP proxy (CONNECT) in front of the fake Bot API: every call of the bot goes through it."""
    tunnels: list[str] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        method, target, _ = head.split(" ", 2)
        assert method == "CONNECT"
        tunnels.append(target)
        host, port = target.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = make_settings("sqlite+aiosqlite:///:memory:", fake, telegram_proxy=f"http://127.0.0.1:{port}")
    bot = create_bot(settings)
    try:
        assert (await bot.get_me()).username == "sangkien_test_bot"
    finally:
        await bot.session.close()
        server.close()
    assert tunnels == [fake.base_url.removeprefix("http://")]

    socks = create_bot(make_settings("sqlite+aiosqlite:///:memory:", fake, telegram_proxy="socks5://u:p@10.0.0.1:1080"))
    assert socks.session.proxy == "socks5://u:p@10.0.0.1:1080"  # type: ignore[attr-defined]
    await socks.session.close()
    for bad in ("ftp://proxy:21", "socks5://no-port", "proxy.example.org:3128"):
        with pytest.raises(ValueError, match="TELEGRAM_PROXY must be"):
            Settings(_env_file=None, telegram_proxy=bad)  # type: ignore[call-arg]
