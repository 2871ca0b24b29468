"""The fake Zalo Bot Platform itself, over real HTTP: the rules a bot depends on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.fake_zalo import SECRET_HEADER, FakeZalo
from tests.zaloclient import ZaloUser, choices

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
SECRET = "s3cret-Token_for-tests"


@pytest.fixture
async def fake() -> AsyncIterator[FakeZalo]:
    server = FakeZalo()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[web.Application], Awaitable[str]]]:
    """Serve a small aiohttp app on a random local port; returns its base URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def call(
    http: aiohttp.ClientSession, fake: FakeZalo, method: str, token: str | None = None, **params: Any
) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{fake.base}/bot{token or fake.token}/{method}", json=params) as response:
        return response.status, await response.json()


async def test_get_me_token_and_unknown_method(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, fake, "getMe")
    assert status == 200 and body["ok"] is True
    assert body["result"]["id"] == fake.bot_id and isinstance(body["result"]["id"], str)
    assert body["result"]["account_name"] == "bot.sangkien"
    async with http.get(f"{fake.api_url}/getMe") as response:  # GET works too
        assert response.status == 200 and (await response.json())["result"]["display_name"] == "Sáng kiến Bot"
    assert await call(http, fake, "getMe", token="nope:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    status, body = await call(http, fake, "sendVoice")
    assert status == 404 and body["ok"] is False and body["error_code"] == 404


async def test_get_updates_one_at_a_time_then_408(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    user = fake.add_user(name="Trần Thị Bình")
    first, second = fake.text_update(user, "xin chào"), fake.text_update(user, "sáng kiến")
    fake.push(first)
    fake.push(second)
    status, body = await call(http, fake, "getUpdates", timeout=1)
    assert status == 200 and body["result"] == first  # one update, a dict
    update = body["result"]
    assert update["event_name"] == "message.text.received"
    message = update["message"]
    assert message["chat"] == {"id": user, "chat_type": "PRIVATE"} and message["from"]["id"] == user
    assert message["from"]["display_name"] == "Trần Thị Bình" and message["from"]["is_bot"] is False
    assert isinstance(message["message_id"], str) and len(message["message_id"]) == 32
    assert isinstance(user, str) and len(user) == 20
    assert abs(message["date"] - time.time() * 1000) < 60_000  # milliseconds
    async with http.get(f"{fake.api_url}/getUpdates", params={"timeout": "1"}) as response:
        assert (await response.json())["result"]["message"]["text"] == "sáng kiến"
    started = time.monotonic()
    status, body = await call(http, fake, "getUpdates", timeout=1)
    assert 0.8 < time.monotonic() - started < 3
    assert (status, body) == (408, {"ok": False, "error_code": 408, "description": "Request timeout"})


async def test_long_poll_wakes_on_a_new_update(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    user = fake.add_user()
    poll = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await fake.wait_for(lambda: any(method == "getUpdates" for method, _ in fake.log), 5)
    started = time.monotonic()
    fake.push(fake.sticker_update(user))
    status, body = await poll
    assert time.monotonic() - started < 2
    assert status == 200 and body["result"]["event_name"] == "message.sticker.received"
    assert body["result"]["message"]["sticker"]


async def test_update_builders(fake: FakeZalo) -> None:
    user = fake.add_user()
    group = fake.add_group()
    image = fake.image_update(group, "https://x.example/a.png", caption="ảnh", sender=user)["message"]
    assert image["chat"] == {"id": group, "chat_type": "GROUP"} and image["from"]["id"] == user
    assert image["photo_url"] == "https://x.example/a.png" and image["text"] == "ảnh"
    unsupported = fake.unsupported_update(user)
    assert unsupported["event_name"] == "message.unsupported.received"
    assert not {"text", "photo_url", "sticker"} & unsupported["message"].keys()
    with pytest.raises(ValueError):
        fake.text_update(group, "ai gửi?")
    assert fake.text_update(user, "a")["message"]["message_id"] != fake.text_update(user, "a")["message"]["message_id"]


async def test_send_message_rules(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    user = fake.add_user()
    status, body = await call(http, fake, "sendMessage", chat_id=user, text="chào")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")  # has not written yet
    fake.push(fake.text_update(user, "xin chào"))
    status, body = await call(http, fake, "sendMessage", chat_id=user, text="ơ" * 2000)
    assert status == 200 and isinstance(body["result"]["message_id"], str) and body["result"]["date"] > 10**12
    status, body = await call(http, fake, "sendMessage", chat_id=user, text="ơ" * 2001)
    assert (status, body["description"]) == (400, "Bad Request: text must be between 1 and 2000 characters")
    status, _ = await call(http, fake, "sendMessage", chat_id=user, text="")
    assert status == 400
    status, body = await call(http, fake, "sendMessage", chat_id="0123456789abcdef0123", text="chào")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    status, _ = await call(http, fake, "sendMessage", chat_id=12345, text="chào")  # ids are strings
    assert status == 400
    await call(http, fake, "sendMessage", chat_id=user, text="<b>Đậm</b>")
    assert [s.has_markup for s in fake.in_chat(user)] == [False, True]
    assert fake.sent[-1].seq == 2 and fake.sent[-1].chat_id == user


async def test_blocked_user_gets_403(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    user = fake.add_user()
    fake.push(fake.text_update(user, "hi"))
    fake.block(user)
    status, body = await call(http, fake, "sendMessage", chat_id=user, text="chào")
    assert (status, body["description"]) == (403, "Forbidden: user blocked the bot")
    fake.unblock(user)
    assert (await call(http, fake, "sendMessage", chat_id=user, text="chào"))[0] == 200


async def test_webhook_pushes_with_secret_and_retries(
    fake: FakeZalo, http: aiohttp.ClientSession, serve: Callable[[web.Application], Awaitable[str]]
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    answers = [500]

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(status=answers.pop(0) if answers else 200)

    app = web.Application()
    app.router.add_post("/zalo", hook)
    url = await serve(app) + "/zalo"
    user = fake.add_user()
    queued = fake.text_update(user, "trước webhook")
    fake.push(queued)

    status, body = await call(http, fake, "setWebhook", url="http://bot.example.vn/zalo", secret_token=SECRET)
    assert status == 400  # plain http only for a local receiver
    status, body = await call(http, fake, "setWebhook", url=url, secret_token="short")
    assert status == 400
    status, body = await call(http, fake, "setWebhook", url=url, secret_token=SECRET)
    assert status == 200 and body["result"]["url"] == url

    await fake.wait_for(lambda: fake.delivered == [queued], 5)
    assert fake.webhook_attempts == [(url, 500), (url, 200)]
    assert received == [(SECRET, queued), (SECRET, queued)]

    later = fake.text_update(user, "sau webhook")
    await fake.deliver(later, timeout=5)
    assert received[-1] == (SECRET, later)

    status, body = await call(http, fake, "getUpdates", timeout=1)
    assert (status, body["description"]) == (409, "Conflict: webhook is active")
    status, body = await call(http, fake, "getWebhookInfo")
    assert body["result"]["url"] == url and body["result"]["updated_at"] > 10**12
    await call(http, fake, "deleteWebhook")
    assert (await call(http, fake, "getWebhookInfo"))[1]["result"]["url"] == ""
    fake.push(fake.text_update(user, "lại polling"))
    status, body = await call(http, fake, "getUpdates", timeout=1)
    assert status == 200 and body["result"]["message"]["text"] == "lại polling"


async def test_webhook_connection_error_is_retried_in_order(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    fake.webhook_retry_delay, fake.webhook_max_attempts = 0.01, 3
    user = fake.add_user()
    await call(http, fake, "setWebhook", url="http://127.0.0.1:9/zalo", secret_token=SECRET)  # nobody listens
    first, second = fake.text_update(user, "1"), fake.text_update(user, "2")
    fake.push(first)
    fake.push(second)
    await fake.wait_for(lambda: len(fake.webhook_dropped) == 2, 5)
    assert fake.webhook_dropped == [first, second]
    assert fake.webhook_attempts == [("http://127.0.0.1:9/zalo", None)] * 6


async def test_send_photo_downloads_the_url(
    fake: FakeZalo, http: aiohttp.ClientSession, serve: Callable[[web.Application], Awaitable[str]]
) -> None:
    async def png(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    app = web.Application()
    app.router.add_get("/chart.png", png)
    files = await serve(app)
    user = fake.add_user()
    fake.push(fake.text_update(user, "báo cáo"))

    status, body = await call(http, fake, "sendPhoto", chat_id=user, photo=f"{files}/chart.png", caption="Biểu đồ")
    assert status == 200 and isinstance(body["result"]["message_id"], str)
    sent = fake.in_chat(user)[-1]
    assert (sent.kind, sent.photo_bytes, sent.photo_content_type, sent.caption) == (
        "photo",
        PNG,
        "image/png",
        "Biểu đồ",
    )
    assert sent.photo_url == f"{files}/chart.png"

    status, body = await call(http, fake, "sendPhoto", chat_id=user, photo=f"{files}/missing.png")
    assert (status, body["description"]) == (400, "Bad Request: cannot fetch photo")
    status, _ = await call(http, fake, "sendPhoto", chat_id=user, photo="/tmp/chart.png")
    assert status == 400
    status, _ = await call(http, fake, "sendPhoto", chat_id=user, photo=f"{files}/chart.png", caption="x" * 2001)
    assert status == 400
    assert len(fake.in_chat(user)) == 1


async def test_sticker_and_chat_action(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    user = fake.add_user()
    fake.push(fake.text_update(user, "hi"))
    assert (await call(http, fake, "sendChatAction", chat_id=user, action="typing"))[1]["ok"] is True
    assert fake.chat_actions == [(user, "typing")]
    status, body = await call(http, fake, "sendSticker", chat_id=user, sticker_id="abc123")
    assert status == 200 and body["ok"] is True
    assert (fake.sent[-1].kind, fake.sent[-1].sticker_id) == ("sticker", "abc123")


async def test_fail_next_429_carries_retry_after(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    user = fake.add_user()
    fake.push(fake.text_update(user, "hi"))
    fake.fail_next("sendMessage", 429, "Too Many Requests")
    fake.fail_next("sendMessage", 500, "Internal Server Error")
    status, body = await call(http, fake, "sendMessage", chat_id=user, text="a")
    assert status == 429 and body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests",
        "parameters": {"retry_after": 1},
    }
    assert (await call(http, fake, "sendMessage", chat_id=user, text="a"))[0] == 500
    assert (await call(http, fake, "sendMessage", chat_id=user, text="a"))[0] == 200
    assert len(fake.sent) == 1


async def echo_bot(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    """A tiny long-polling bot: answers every text with a numbered menu, and stickers with two messages."""
    while True:
        status, body = await call(http, fake, "getUpdates", timeout=1)
        if status != 200:
            continue
        message = body["result"]["message"]
        chat = message["chat"]["id"]
        if "text" in message:
            text = f"{message['from']['display_name']}: {message['text']}\nChọn:\n1. Gửi sáng kiến\n 2.  Xem tiến độ"
            await call(http, fake, "sendMessage", chat_id=chat, text=text)
        else:
            for part in ("Xin lỗi,", "chỉ đọc được chữ."):
                await call(http, fake, "sendMessage", chat_id=chat, text=part)


async def test_zalo_user_against_a_polling_bot(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    bot = asyncio.create_task(echo_bot(fake, http))
    try:
        an = ZaloUser(fake, name="Lê Văn An")
        replies = await an.send("xin chào", timeout=5)
        assert len(replies) == 1 and replies[0].text.startswith("Lê Văn An: xin chào")
        assert choices(replies[0]) == ["Gửi sáng kiến", "Xem tiến độ"] and an.last is replies[0]
        assert [s.text for s in await an.send_sticker(expect=2, timeout=5)] == ["Xin lỗi,", "chỉ đọc được chữ."]
        assert (await an.choose("Xem tiến độ", timeout=5))[0].text.startswith("Lê Văn An: 2\n")

        group = fake.add_group(title="Tổ sản xuất")
        in_group = an.in_group(group)
        replies = await in_group.send("trong nhóm", timeout=5)
        assert replies[0].chat_id == group and in_group.last_update is not None
        assert in_group.last_update["message"]["from"]["id"] == an.id
        assert len(an.history) == 4 and len(in_group.history) == 1

        await fake.deliver(in_group.last_update, timeout=5)  # the same update again
        await fake.wait_for(lambda: len(in_group.history) == 2, 5)
        assert in_group.history[0].text == in_group.history[1].text
        with pytest.raises(AssertionError, match="expected 3"):
            await an.send_unsupported(expect=3, timeout=0.5)
    finally:
        bot.cancel()
        await asyncio.gather(bot, return_exceptions=True)
