"""Shared benchmark pieces: an in-process Bot API session, updates built the way polling builds them, and what
the webhook benchmarks share (a free local port, the secret token).

The session does what aiogram's HTTP session does around the network: it serialises the request's reply
markup and parses the answer (a Message as JSON) with the bot in context. Updates are parsed from JSON with
the bot in context, as ``getUpdates`` results are, so ``feed_update`` does not rebuild them."""

from __future__ import annotations

import itertools
import socket
import statistics
import time
from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.types import Message, Update, User

SECRET = "bench-webhook-secret_0123456789"  # WEBHOOK_SECRET of the webhook benchmarks
BOT_JSON = {"id": 4242, "is_bot": True, "first_name": "Sáng kiến Bot", "username": "sangkien_bench_bot"}


class RecordingSession(BaseSession):
    """Answers every call at once; keeps the last message (as Telegram's JSON) sent to each chat."""

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1)
        self.last: dict[int, dict[str, Any]] = {}
        self.calls = 0
        self.edits = 0  # messages changed in place (editMessageText)

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.calls += 1
        if isinstance(method, SendMessage | EditMessageText):
            chat_id = int(method.chat_id or 0)
            edited = method.message_id if isinstance(method, EditMessageText) else None  # an edit keeps its id
            self.edits += edited is not None
            data: dict[str, Any] = {
                "message_id": edited if edited is not None else next(self.ids),
                "date": int(time.time()),
                "from": BOT_JSON,
                "chat": {"id": chat_id, "type": "private"},
                "text": method.text,
            }
            if method.reply_markup is not None:
                markup = method.reply_markup.model_dump(mode="json", exclude_none=True)
                if "inline_keyboard" in markup:
                    data["reply_markup"] = markup
            self.last[chat_id] = data
            return Message.model_validate(data, context={"bot": bot})  # an edit returns the message too
        if method.__api_method__ == "getMe":
            return User.model_validate(BOT_JSON, context={"bot": bot})
        return True

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        return None


_ids = itertools.count(1)


def _user(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": "An", "last_name": "Nguyễn Văn", "language_code": "vi"}


def text_update(bot: Bot, uid: int, text: str) -> Update:
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "text": text,
        "chat": {"id": uid, "type": "private", "first_name": "An"},
        "from": _user(uid),
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return Update.model_validate({"update_id": next(_ids), "message": message}, context={"bot": bot})


def callback_update(bot: Bot, uid: int, message: dict[str, Any] | None, data: str) -> Update:
    message = message or {"message_id": 0, "date": 0, "chat": {"id": uid, "type": "private"}}
    query = {"id": str(next(_ids)), "from": _user(uid), "chat_instance": "b", "message": message, "data": data}
    return Update.model_validate({"update_id": next(_ids), "callback_query": query}, context={"bot": bot})


class Timer:
    def __init__(self) -> None:
        self.samples: list[float] = []
        self.started = 0.0
        self.elapsed = 0.0

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter() - self.started

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.samples)
        return {
            "updates": len(ordered),
            "updates_per_s": len(ordered) / self.elapsed,
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
