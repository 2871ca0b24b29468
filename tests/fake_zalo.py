"""A local fake of the Zalo Bot Platform API, served over HTTP, strict where a bot depends on the platform's rules:
string ids everywhere, one update per getUpdates call (408 when none came in time, no offsets), 400 for a text
outside 1–2000 characters or an unknown chat, 403 for a user who blocked the bot, webhook pushes with the secret
header (retried until the bot answers 200), and sendPhoto that really downloads the photo's URL (HTTPS; plain
HTTP only from this machine, as for the webhook)."""

from __future__ import annotations

import asyncio
import copy
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

BOT_ID = "738499441022218443"  # digits, as a real Zalo bot token starts
TOKEN = f"{BOT_ID}:TEST-zalo-token-2b7e151628aed2a6"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_TEXT = 2000
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
DEFAULT_PHOTO_URL = "https://photo.example.vn/anh-sang-kien.jpg"
DEFAULT_STICKER = "a4e2c1b0d9f84e3f"
EVENTS = {
    "text": "message.text.received",
    "image": "message.image.received",
    "sticker": "message.sticker.received",
    "unsupported": "message.unsupported.received",
}
# HTML tags or character entities: the platform shows them literally, so a bot must never send them.
_MARKUP = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>|&(?:#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot|apos|nbsp);")


def _public_or_local(url: Any) -> bool:
    """An HTTPS URL, or a plain HTTP one on this machine (the tests' own servers)."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS)


def new_id() -> str:
    """A fresh user or group id: 20 hex characters, never mistakable for an int."""
    return uuid.uuid4().hex[:20]


def now_ms() -> int:
    return int(time.time() * 1000)


class ApiError(Exception):
    def __init__(self, description: str, code: int = 400, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description, self.code, self.parameters = description, code, parameters


@dataclass
class Sent:
    """One message the bot sent (a text, a photo with its downloaded bytes, or a sticker)."""

    seq: int
    chat_id: str
    text: str = ""
    photo_url: str | None = None
    photo_bytes: bytes | None = None
    photo_content_type: str | None = None
    caption: str | None = None
    at: float = field(default_factory=time.time)
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    kind: str = "text"  # "text" | "photo" | "sticker"
    sticker_id: str | None = None
    parse_mode: str | None = None  # the platform has none; recorded only so that has_markup can catch it

    @property
    def has_markup(self) -> bool:
        """True when the bot sent HTML tags, entities or a parse_mode, which the platform shows as they are."""
        return self.parse_mode is not None or any(_MARKUP.search(s) for s in (self.text, self.caption or ""))

    @property
    def body(self) -> str:
        """What the user reads: the text, or the photo's caption."""
        return self.text or self.caption or ""


@dataclass
class FakeZalo:
    token: str = TOKEN
    bot_id: str = BOT_ID
    sent: list[Sent] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)  # user id -> display name
    groups: dict[str, str] = field(default_factory=dict)  # group id -> title (groups the bot is in)
    known_chats: set[str] = field(default_factory=set)  # chats the bot may write to
    blocked: set[str] = field(default_factory=set)  # users who blocked the bot: 403 for their private chat
    chat_actions: list[tuple[str, str]] = field(default_factory=list)  # (chat id, action)
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (method, params) of every call
    errors: list[tuple[str, int, str]] = field(default_factory=list)  # (method, code, description) answered
    webhook: dict[str, Any] | None = None  # {"url", "secret_token", "updated_at"} while a webhook is set
    webhook_attempts: list[tuple[str, int | None]] = field(default_factory=list)  # (url, status; None: no answer)
    webhook_dropped: list[dict[str, Any]] = field(default_factory=list)  # updates given up after max attempts
    delivered: list[dict[str, Any]] = field(default_factory=list)  # updates the bot took (getUpdates or 200)
    webhook_retry_delay: float = 0.2
    webhook_max_attempts: int = 20
    webhook_timeout: float = 10.0
    photo_timeout: float = 10.0
    photos: dict[str, bytes] = field(default_factory=dict)  # name -> the bytes of a photo a user sent (host_photo)

    def __post_init__(self) -> None:
        self.base = ""
        self._queue: list[dict[str, Any]] = []  # updates not yet taken, in arrival order
        self._failures: dict[str, list[ApiError | None]] = {}  # lower-case method -> errors to answer first (None:
        # let that call through)
        self._workers: dict[str, asyncio.Task[None]] = {}  # chat id -> the task pushing its updates
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._seq = 0
        self._webhook_updated_at = 0
        self._closing = False

    # -- server ------------------------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/photos/{name}", self._photo)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        self._closing = True  # pending long polls answer at once instead of holding up the shutdown
        await self._notify()
        for task in [*self._workers.values(), *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._workers.values(), *self._tasks, return_exceptions=True)
        self._workers.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _photo(self, request: web.Request) -> web.Response:
        content = self.photos.get(request.match_info["name"])
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content, content_type="image/jpeg")

    def host_photo(self, name: str, content: bytes | None) -> str:
        """The URL of a photo a user sent, as the platform's update gives it; served with ``content`` (None: the
        URL answers 404, as a photo the platform no longer keeps)."""
        if content is not None:
            self.photos[name] = content
        return f"{self.base}/photos/{name}"

    @property
    def api_url(self) -> str:
        """The prefix of every method's URL: ``<base>/bot<token>``."""
        return f"{self.base}/bot{self.token}"

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError("Unauthorized", 401))
        method = request.match_info["method"]
        handler: Callable[[dict[str, Any]], Any] | None = getattr(self, "api_" + method.lower(), None)
        try:
            params = await self._params(request)
        except ValueError:
            return self._error(ApiError("Bad Request: the body is not valid JSON"), method)
        self.log.append((method, params))
        await self._notify()
        try:
            if handler is None:
                raise ApiError("Not Found", 404)
            if self._failures.get(method.lower()) and (failure := self._failures[method.lower()].pop(0)):
                raise failure
            result = await handler(params)
        except ApiError as err:
            return self._error(err, method)
        finally:
            await self._notify()
        return web.json_response({"ok": True, "result": result})

    def _error(self, err: ApiError, method: str = "") -> web.Response:
        self.errors.append((method, err.code, err.description))
        body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
        if err.parameters:
            body["parameters"] = err.parameters
        return web.json_response(body, status=err.code)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        """Query parameters, overridden by a JSON (or form) body."""
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return params
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("the body is not a JSON object")
            params.update(body)
        else:
            params.update({key: str(value) for key, value in (await request.post()).items()})
        return params

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _notify_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self._notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- helpers for tests -------------------------------------------------------------------------------
    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> None:
        """Wait (without sleeping blindly) until ``predicate()`` holds after some API call, push or webhook attempt;
        TimeoutError when it does not within ``timeout`` seconds."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    def in_chat(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def add_user(self, user_id: str | None = None, name: str = "Nguyễn Văn An") -> str:
        """A person (not yet a chat the bot may write to: that needs a message from them)."""
        user_id = user_id or new_id()
        self.users[user_id] = name
        return user_id

    def add_group(self, group_id: str | None = None, title: str = "Công đoàn cơ sở") -> str:
        """A group the bot is a member of."""
        group_id = group_id or new_id()
        self.groups[group_id] = title
        self.known_chats.add(group_id)
        return group_id

    def block(self, user_id: str) -> None:
        self.blocked.add(user_id)

    def unblock(self, user_id: str) -> None:
        self.blocked.discard(user_id)

    def fail_next(
        self,
        method: str,
        code: int,
        description: str,
        times: int = 1,
        retry_after: int | None = None,
        after: int = 0,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with this error, once ``after`` more calls went through
        (``after=1``: the second part of a long text fails); a 429 carries ``parameters.retry_after`` (1 second
        unless given)."""
        if code == 429 and retry_after is None:
            retry_after = 1
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        errors = self._failures.setdefault(method.lower(), [])
        errors.extend([None] * after)
        errors.extend(ApiError(description, code, parameters) for _ in range(times))

    # -- updates -----------------------------------------------------------------------------------------
    def _message(self, event: str, chat: str, sender: str | None, **content: Any) -> dict[str, Any]:
        if chat in self.groups:
            if sender is None:
                raise ValueError(f"a message in group {chat} needs a sender")
            chat_type = "GROUP"
        else:
            if sender not in (None, chat):
                raise ValueError("in a private chat the chat id is the sender's id")
            sender, chat_type = chat, "PRIVATE"
        message = {
            "message_id": uuid.uuid4().hex,
            "date": now_ms(),
            "chat": {"id": chat, "chat_type": chat_type},
            "from": {"id": sender, "display_name": self.users.get(sender, "Người dùng Zalo"), "is_bot": False},
            **{key: value for key, value in content.items() if value is not None},
        }
        return {"event_name": EVENTS[event], "message": message}

    def text_update(self, chat: str, text: str, sender: str | None = None) -> dict[str, Any]:
        """A text from user ``chat`` in their private chat, or from ``sender`` in group ``chat``."""
        return self._message("text", chat, sender, text=text)

    def image_update(
        self, chat: str, photo_url: str = DEFAULT_PHOTO_URL, caption: str | None = None, sender: str | None = None
    ) -> dict[str, Any]:
        return self._message("image", chat, sender, photo_url=photo_url, text=caption)

    def sticker_update(self, chat: str, sticker: str = DEFAULT_STICKER, sender: str | None = None) -> dict[str, Any]:
        return self._message("sticker", chat, sender, sticker=sticker)

    def unsupported_update(self, chat: str, sender: str | None = None) -> dict[str, Any]:
        return self._message("unsupported", chat, sender)

    @staticmethod
    def _chat_of(update: dict[str, Any]) -> str:
        return str(update["message"]["chat"]["id"])

    def push(self, update: dict[str, Any]) -> None:
        """The platform receives ``update`` (a copy of it): getUpdates will return it, or the webhook gets it.
        The sender's private chat (or the group) becomes a chat the bot may write to."""
        update = copy.deepcopy(update)
        chat = update["message"]["chat"]
        sender = update["message"].get("from") or {}
        if chat.get("chat_type") == "GROUP":
            self.groups.setdefault(str(chat["id"]), "")
        elif sender.get("id"):
            self.users.setdefault(str(sender["id"]), str(sender.get("display_name", "")))
        self.known_chats.add(str(chat["id"]))
        self._queue.append(update)
        if self.webhook is not None:
            self._start_worker(self._chat_of(update))
        self._notify_soon()

    async def deliver(self, update: dict[str, Any], timeout: float = 30.0) -> None:
        """Push ``update`` and wait until the bot took it (getUpdates returned it, or the webhook answered 200):
        calling it twice with the same update imitates a redelivery."""
        before = len(self.delivered)
        self.push(update)
        message_id = update["message"]["message_id"]
        await self.wait_for(
            lambda: any(u["message"]["message_id"] == message_id for u in self.delivered[before:]), timeout
        )

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Updates the bot has not taken yet."""
        return list(self._queue)

    # -- webhook pushes ----------------------------------------------------------------------------------
    def _start_worker(self, chat_id: str) -> None:
        if chat_id not in self._workers:
            self._workers[chat_id] = asyncio.get_running_loop().create_task(self._push_chat(chat_id))

    async def _push_chat(self, chat_id: str) -> None:
        """POST this chat's updates to the webhook one by one, in order, retrying each until it is answered 200."""
        try:
            while True:
                update = next((u for u in self._queue if self._chat_of(u) == chat_id), None)
                if update is None or self.webhook is None:
                    return
                for attempt in range(self.webhook_max_attempts):
                    if attempt:
                        await asyncio.sleep(self.webhook_retry_delay)
                    if await self._post(update):
                        self.delivered.append(update)
                        break
                else:
                    self.webhook_dropped.append(update)
                self._queue.remove(update)
                await self._notify()
        finally:
            if self._workers.get(chat_id) is asyncio.current_task():
                del self._workers[chat_id]

    async def _post(self, update: dict[str, Any]) -> bool:
        assert self.webhook is not None and self._session is not None
        url, secret = self.webhook["url"], self.webhook["secret_token"]
        status: int | None = None
        try:
            async with self._session.post(
                url,
                json=update,
                headers={SECRET_HEADER: secret},
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = None
        self.webhook_attempts.append((url, status))
        await self._notify()
        return status == 200

    async def _stop_workers(self) -> None:
        workers = list(self._workers.values())
        self._workers.clear()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    # -- the platform's methods --------------------------------------------------------------------------
    async def api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "account_name": "bot.sangkien",
            "account_type": "BASIC",
            "can_join_groups": True,
            "display_name": "Sáng kiến Bot",
        }

    async def api_getupdates(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.webhook is not None:
            raise ApiError("Conflict: webhook is active", 409)
        try:
            timeout = max(0.0, float(params.get("timeout", 30)))
        except (TypeError, ValueError):
            raise ApiError("Bad Request: timeout must be a number") from None
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(self._poll_ready), timeout)
            except TimeoutError:
                raise ApiError("Request timeout", 408) from None
            if not self._queue or self.webhook is not None:
                raise ApiError("Request timeout", 408)
            update = self._queue.pop(0)
        self.delivered.append(update)
        return update

    def _poll_ready(self) -> bool:
        return self._closing or (bool(self._queue) and self.webhook is None)

    async def api_setwebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        url = params.get("url")
        if not _public_or_local(url):
            raise ApiError("Bad Request: url must be an HTTPS URL")
        secret = params.get("secret_token")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ApiError("Bad Request: secret_token must be between 8 and 256 characters")
        await self._stop_workers()
        self._webhook_updated_at = now_ms()
        self.webhook = {"url": url, "secret_token": secret, "updated_at": self._webhook_updated_at}
        for chat_id in dict.fromkeys(self._chat_of(u) for u in self._queue):
            self._start_worker(chat_id)
        return {"url": url, "updated_at": self._webhook_updated_at}

    async def api_deletewebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        self.webhook = None
        await self._stop_workers()  # what was not answered 200 stays queued for getUpdates
        self._webhook_updated_at = now_ms()
        return {"url": "", "updated_at": self._webhook_updated_at}

    async def api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": (self.webhook or {}).get("url", ""), "updated_at": self._webhook_updated_at}

    def _chat(self, params: dict[str, Any]) -> str:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise ApiError("Bad Request: chat_id must be a non-empty string")
        if chat_id not in self.known_chats:
            raise ApiError("Bad Request: chat not found")
        if chat_id in self.blocked and chat_id not in self.groups:
            raise ApiError("Forbidden: user blocked the bot", 403)
        return chat_id

    def _store(self, chat_id: str, params: dict[str, Any], **fields: Any) -> dict[str, Any]:
        self._seq += 1
        sent = Sent(self._seq, chat_id, parse_mode=params.get("parse_mode"), **fields)
        self.sent.append(sent)
        return {"message_id": sent.message_id, "date": int(sent.at * 1000)}

    async def api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            raise ApiError(f"Bad Request: text must be between 1 and {MAX_TEXT} characters")
        return self._store(chat_id, params, text=text)

    async def api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        caption = params.get("caption")
        if caption is not None and (not isinstance(caption, str) or len(caption) > MAX_TEXT):
            raise ApiError(f"Bad Request: caption must be at most {MAX_TEXT} characters")
        url = params.get("photo")
        if not _public_or_local(url):
            raise ApiError("Bad Request: photo must be an HTTPS URL")
        assert self._session is not None
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=self.photo_timeout)) as response:
                if response.status != 200:
                    raise ApiError("Bad Request: cannot fetch photo")
                content, content_type = await response.read(), response.content_type
        except (aiohttp.ClientError, TimeoutError):
            raise ApiError("Bad Request: cannot fetch photo") from None
        return self._store(
            chat_id,
            params,
            kind="photo",
            photo_url=url,
            photo_bytes=content,
            photo_content_type=content_type,
            caption=caption,
        )

    async def api_sendsticker(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        sticker = params.get("sticker_id")
        if not isinstance(sticker, str) or not sticker:
            raise ApiError("Bad Request: sticker_id is required")
        return self._store(chat_id, params, kind="sticker", sticker_id=sticker)

    async def api_sendchataction(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat(params)
        action = params.get("action")
        if not isinstance(action, str) or not action:
            raise ApiError("Bad Request: action is required")
        self.chat_actions.append((chat_id, action))
        return True
