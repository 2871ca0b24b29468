"""A local fake of the Telegram Bot API, served over HTTP, strict where the bot depends on Telegram's rules:
real Message objects back, 400 for text over 4096 characters, callback data over 64 bytes, malformed HTML,
and "message is not modified" for an edit that changes nothing."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from aiohttp import web

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Sáng kiến Bot", "username": "sangkien_test_bot"}
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}
JSON_FIELDS = {
    "reply_markup",
    "commands",
    "scope",
    "entities",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "media",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=\"[^\"]*\"|='[^']*')?)*)\s*>")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


class ApiError(Exception):
    def __init__(self, description: str, code: int = 400, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description, self.code, self.parameters = description, code, parameters


def parse_html(text: str) -> str:
    """The plain text Telegram would show, or ApiError as Telegram words it for malformed HTML."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        offset = len(text[:i].encode())
        if ch == "<":
            m = _TAG.match(text, i)
            if not m:
                raise ApiError(
                    f"Bad Request: can't parse entities: Unexpected end of name token at byte offset {offset}"
                )
            closing, name = m[1] == "/", m[2].lower()
            if name not in ALLOWED_TAGS:
                raise ApiError(
                    f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}'
                )
            if closing:
                if not stack or stack[-1] != name:
                    raise ApiError(f"Bad Request: can't parse entities: Unexpected end tag at byte offset {offset}")
                stack.pop()
            else:
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, i)
            if not m:
                raise ApiError(f"Bad Request: can't parse entities: Character entity expected at byte offset {offset}")
            out.append(unescape(m[0]))
            i = m.end()
        else:
            out.append(ch)
            i += 1
    if stack:
        raise ApiError(
            f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Sent:
    """One message as the bot left it (after any edits)."""

    chat_id: int
    message_id: int
    html: str
    text: str
    markup: dict[str, Any] | None
    date: int
    kind: str = "text"
    document: dict[str, Any] | None = None
    edits: int = 0

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        if not self.markup:
            return []
        return self.markup.get("inline_keyboard") or self.markup.get("keyboard") or []

    def button_texts(self) -> list[str]:
        return [b["text"] for row in self.buttons for b in row]


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token"
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: dict[int, dict[int, Sent]] = field(default_factory=dict)
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    admins: dict[int, set[int]] = field(default_factory=dict)  # group id -> user ids who administer it
    kicked: set[int] = field(default_factory=set)  # groups that removed the bot
    fail_next: dict[str, list[ApiError]] = field(default_factory=dict)  # method -> errors to answer first
    broken: dict[str, int] = field(default_factory=dict)  # method -> HTTP status of a proxy's HTML error page
    # Opt-in faults, all off by default:
    blocked: set[int] = field(default_factory=set)  # users who blocked the bot: 403 for their private chat
    flood: Callable[[str, dict[str, Any]], int | None] | None = None  # (method, params) -> retry_after to answer 429
    broken_next: dict[str, int] = field(default_factory=dict)  # method -> how many next calls get a 502 HTML page
    drop_next: dict[str, int] = field(default_factory=dict)  # method -> how many next calls lose their connection
    hold: dict[str, asyncio.Event] = field(default_factory=dict)  # method -> calls wait (logged) until it is set
    webhook: dict[str, Any] | None = None  # the last setWebhook's parameters; getUpdates is refused while it is set
    files: dict[str, bytes] = field(default_factory=dict)  # file id -> content a user sent (getFile, /file/...)

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.fetched_offset = 0

    # -- server ------------------------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/documents/{file_id}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        self.log.append((method, params))
        await self._notify()
        handler = getattr(self, "api_" + method.lower(), None)
        if (gate := self.hold.get(method)) is not None:
            await gate.wait()
        if self.drop_next.get(method):  # the connection closes before any answer: a network error for the bot
            self.drop_next[method] -= 1
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        if self.broken_next.get(method):
            self.broken_next[method] -= 1
            return web.Response(text="<html><body>Bad Gateway</body></html>", status=502, content_type="text/html")
        if method in self.broken:
            return web.Response(text="<html><body>Bad Gateway</body></html>", status=self.broken[method],
                                content_type="text/html")  # fmt: skip
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        try:
            if self.fail_next.get(method):
                raise self.fail_next[method].pop(0)
            if self.flood is not None and (retry_after := self.flood(method, params)) is not None:
                raise ApiError(f"Too Many Requests: retry after {retry_after}", 429, {"retry_after": retry_after})
            result = await handler(params)
        except ApiError as err:
            self.errors.append((method, err.description))
            body = {"ok": False, "error_code": err.code, "description": err.description}
            if err.parameters:
                body["parameters"] = err.parameters
            return web.json_response(body, status=err.code)
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        content = self.files.get(request.match_info["file_id"])
        if request.match_info["token"] != self.token or content is None:
            return web.Response(status=404)
        return web.Response(body=content)

    async def api_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        if file_id not in self.files:
            raise ApiError("Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": "U" + file_id, "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}"}  # fmt: skip

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                params[key] = {"filename": value.filename, "size": len(content), "content": content}
            elif key in JSON_FIELDS:
                params[key] = json.loads(str(value))
            else:
                params[key] = str(value)
        for key, value in list(params.items()):  # aiogram sends files as "attach://<field>"
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.pop(value.removeprefix("attach://"))
        return params

    # -- helpers for tests -------------------------------------------------------------------------------
    def add_chat(self, chat: dict[str, Any]) -> None:
        self.chats[int(chat["id"])] = chat
        self.messages.setdefault(int(chat["id"]), {})

    def push_update(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        """Wait (without sleeping blindly) until ``predicate()`` holds after some API call."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    def in_chat(self, chat_id: int) -> list[Sent]:
        return sorted(self.messages.get(chat_id, {}).values(), key=lambda m: m.message_id)

    # -- the Bot API methods the bot uses ----------------------------------------------------------------
    async def api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        url = (self.webhook or {}).get("url", "")
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    async def api_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def api_setwebhook(self, params: dict[str, Any]) -> bool:
        """Telegram's checks of the URL and the secret token (it does not call the URL here)."""
        url = str(params.get("url") or "")
        port = re.match(r"https://[^/:]+(?::(\d+))?(?:/|$)", url)
        if not url.startswith("https://"):
            raise ApiError("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if port is None or (port[1] or "443") not in ("443", "80", "88", "8443"):
            raise ApiError("Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        if "secret_token" in params and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(params["secret_token"])):
            raise ApiError("Bad Request: secret token contains unallowed characters")
        self.webhook = params
        return True

    async def api_setmycommands(self, params: dict[str, Any]) -> bool:
        for command in params["commands"]:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]) or not 1 <= len(command["description"]) <= 256:
                raise ApiError("Bad Request: BOT_COMMAND_INVALID")
        self.commands[params.get("language_code") or ""] = params["commands"]
        return True

    async def api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                           "delete the webhook first", 409)  # fmt: skip
        offset = int(params.get("offset") or 0)
        self.fetched_offset = max(self.fetched_offset, offset)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            timeout = float(params.get("timeout") or 0)
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._updates)), timeout)
                except TimeoutError:
                    return []
        return self._updates[: int(params.get("limit") or 100)]

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        chat_id = int(chat_id)
        if chat_id in self.kicked:
            raise ApiError("Forbidden: bot was kicked from the supergroup chat", 403)
        if chat_id in self.blocked:
            raise ApiError("Forbidden: bot was blocked by the user", 403)
        chat = self.chats.get(chat_id)
        if chat is None and chat_id > 0:
            raise ApiError("Forbidden: bot can't initiate conversation with a user", 403)
        if chat is None:
            raise ApiError("Bad Request: chat not found")
        return chat

    @staticmethod
    def _check_markup(markup: dict[str, Any] | None) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if "callback_data" in button and not 1 <= len(button["callback_data"].encode()) <= 64:
                    raise ApiError("Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise ApiError("Bad Request: text buttons are unallowed in the inline keyboard")

    @staticmethod
    def _text(params: dict[str, Any], key: str = "text") -> tuple[str, str]:
        html = params.get(key, "")
        plain = parse_html(html) if params.get("parse_mode") == "HTML" else html
        if key == "text" and not plain.strip():
            raise ApiError("Bad Request: message text is empty")
        limit = 4096 if key == "text" else 1024
        if utf16_len(plain) > limit:
            raise ApiError(
                "Bad Request: message is too long" if key == "text" else "Bad Request: message caption is too long"
            )
        return html, plain

    def message_json(self, sent: Sent) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": sent.date,
            "chat": self.chats[sent.chat_id],
            "from": BOT_USER,
        }
        if sent.kind == "text":
            data["text"] = sent.text
        elif sent.kind == "photo":
            data["photo"] = [{**(sent.document or {}), "width": 800, "height": 600}]
        else:
            data["document"] = sent.document
            if sent.text:
                data["caption"] = sent.text
        if sent.markup and "inline_keyboard" in sent.markup:
            data["reply_markup"] = sent.markup
        if sent.edits:
            data["edit_date"] = sent.date
        return data

    def _store(self, chat_id: int, html: str, text: str, markup: dict[str, Any] | None, **extra: Any) -> Sent:
        sent = Sent(chat_id, next(self._message_ids), html, text, markup, int(time.time()), **extra)
        self.messages.setdefault(chat_id, {})[sent.message_id] = sent
        return sent

    async def api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"])
        html, plain = self._text(params)
        self._check_markup(params.get("reply_markup"))
        return self.message_json(self._store(int(chat["id"]), html, plain, params.get("reply_markup")))

    async def api_getchatmember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"])
        user = {"id": int(params["user_id"]), "is_bot": False, "first_name": "?"}
        if int(params["user_id"]) not in self.admins.get(int(chat["id"]), set()):
            return {"status": "member", "user": user}
        rights = (
            "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
            "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
            "can_edit_stories", "can_delete_stories", "can_send_welcome_messages",
        )  # fmt: skip
        return {"status": "administrator", "user": user, **{right: right != "is_anonymous" for right in rights}}

    async def api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"])
        html, plain = self._text(params, "caption")
        doc = {"file_id": str(params.get("photo")), "file_unique_id": f"U{time.time_ns()}"}
        sent = self._store(int(chat["id"]), html, plain, params.get("reply_markup"), kind="photo", document=doc)
        return self.message_json(sent)

    async def api_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"])
        html, plain = self._text(params, "caption")
        self._check_markup(params.get("reply_markup"))
        upload = params.get("document")
        doc = {
            "file_id": f"DOC{next(self._message_ids)}",
            "file_unique_id": f"U{time.time_ns()}",
            "file_name": upload.get("filename") if isinstance(upload, dict) else None,
            "file_size": upload.get("size") if isinstance(upload, dict) else None,
        }
        sent = self._store(int(chat["id"]), html, plain, params.get("reply_markup"), kind="document", document=doc)
        return self.message_json(sent)

    def _existing(self, params: dict[str, Any]) -> Sent:
        if int(params["chat_id"]) in self.blocked:
            raise ApiError("Forbidden: bot was blocked by the user", 403)
        sent = self.messages.get(int(params["chat_id"]), {}).get(int(params["message_id"]))
        if sent is None:
            raise ApiError("Bad Request: message to edit not found")
        return sent

    async def api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._existing(params)
        html, plain = self._text(params)
        markup = params.get("reply_markup")
        self._check_markup(markup)
        if plain == sent.text and markup == sent.markup:
            raise ApiError(
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        sent.html, sent.text, sent.markup, sent.edits = html, plain, markup, sent.edits + 1
        return self.message_json(sent)

    async def api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._existing(params)
        markup = params.get("reply_markup")
        self._check_markup(markup)
        if markup == sent.markup:
            raise ApiError(
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        sent.markup, sent.edits = markup, sent.edits + 1
        return self.message_json(sent)

    async def api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        if len(params.get("text", "")) > 200:
            raise ApiError("Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers.append(params)
        return True

    async def api_deletemessage(self, params: dict[str, Any]) -> bool:
        if self.messages.get(int(params["chat_id"]), {}).pop(int(params["message_id"]), None) is None:
            raise ApiError("Bad Request: message to delete not found")
        return True
