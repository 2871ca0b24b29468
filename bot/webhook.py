"""Webhook mode: one aiohttp server for every channel's webhook, ``/healthz`` and ``/metrics``.

A delivery is answered only after it is handled, like the acknowledging poller confirms an update only after
it is handled: 200 once its effect is committed (or the handled-update record skipped it as a duplicate), 500
when handling failed, so the platform delivers it again (the record makes that harmless), 400 when the body
is not an update, 403 when the secret token is wrong or missing (nothing is handled).

A channel is an object with a ``name``, a ``path`` and a ``handle(request)``; Telegram's is at
``/webhook/telegram``. Another platform (Zalo at ``/webhook/zalo``) is one more channel in the server's list.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
from aiogram.types import TelegramObject, Update
from aiohttp import web

from bot.files import FileLinks
from bot.metrics import CONTENT_TYPE, Metrics
from bot.workers import WORKER_ENV
from channels.zalo.api import SECRET_HEADER as ZALO_SECRET_HEADER
from channels.zalo.api import ZaloApi, ZaloError
from channels.zalo.updates import Inbound
from handlers.errors import harmless
from storage.db import Database
from storage.handled import AlreadyHandled

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_PATH = "/webhook/telegram"
ZALO_PATH = "/webhook/zalo"
HANDLED, DUPLICATE, ERROR, FORBIDDEN, INVALID = "handled", "duplicate", "error", "forbidden", "invalid"
GIVE_UP_AFTER = 5  # failed attempts of one update, after which it is answered 200 so the platform stops retrying
HANDLER_TIMEOUT = 90.0  # seconds a delivery may take; then it is stopped and answered 500 (as the poller stops it)
MAX_BODY = 1024 * 1024  # an update is a few kilobytes
HEALTH_TIMEOUT = 3.0


class WebhookRefused(Exception):
    """Webhook mode cannot start (setWebhook refused, the port taken); the message is one line."""


class Channel(Protocol):
    name: str
    path: str

    async def handle(self, request: web.Request) -> web.Response: ...


@dataclass
class WebhookDelivery:
    """What the dispatcher did with one delivery; filled in by ``DeliveryProbe``."""

    reached: bool = False  # the handled-update record let it through to the handlers
    outcome: str | None = None

    def result(self, response: Any) -> str:
        if self.outcome is not None:
            return self.outcome
        if self.reached:
            return HANDLED
        # stopped before the handlers: skipped by the handled-update record (UNHANDLED), or an outer middleware
        # failed and the error handler answered the user
        return DUPLICATE if response is UNHANDLED else ERROR


class DeliveryProbe(BaseMiddleware):
    """The innermost outer middleware: it sees a handler's exception before the error handler turns it into an
    apology, so the webhook can answer 500 and have the update delivered again."""

    async def __call__(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:  # fmt: skip
        delivery: WebhookDelivery | None = data.get("webhook_delivery")
        if delivery is None:
            return await handler(event, data)
        delivery.reached = True
        try:
            return await handler(event, data)
        except AlreadyHandled:
            delivery.outcome = DUPLICATE
            raise
        except Exception as exc:
            if not harmless(exc):
                delivery.outcome = ERROR
            raise


Feed = Callable[[WebhookDelivery], Awaitable[Any]]


class WebhookChannel:
    """A platform's webhook: checks the secret token, feeds the delivery to the dispatcher and answers after it.
    A subclass reads its platform's body into the delivery's key and the call that handles it."""

    name = ""
    path = ""
    secret_header = ""

    def __init__(self, dp: Dispatcher, secret: str, metrics: Metrics, *, give_up_after: int = GIVE_UP_AFTER) -> None:
        self.dp, self.metrics, self.give_up_after = dp, metrics, give_up_after
        self.handler_timeout = HANDLER_TIMEOUT
        self._secret = secret.encode()
        self._failures: OrderedDict[str, int] = OrderedDict()
        if not any(isinstance(m, DeliveryProbe) for m in dp.update.outer_middleware):
            dp.update.outer_middleware(DeliveryProbe())  # registered last, so it is the innermost

    def _authorized(self, request: web.Request) -> bool:
        given = request.headers.get(self.secret_header, "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self._secret)

    def _failed(self, key: str) -> int:
        count = self._failures.pop(key, 0) + 1
        self._failures[key] = count
        while len(self._failures) > 1000:
            self._failures.popitem(last=False)
        return count

    async def read(self, request: web.Request) -> tuple[str, Feed]:
        """The delivery's key and how to handle it; raises ValueError when the body is not an update."""
        raise NotImplementedError

    async def handle(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            self.metrics.updates.inc(self.name, FORBIDDEN)
            log.warning("refused a delivery to %s from %s: wrong or missing secret token", self.path, request.remote)
            return web.Response(status=403, text="Forbidden")
        try:
            key, feed = await self.read(request)
        except ValueError as exc:  # not JSON, not UTF-8, or not an update (pydantic's ValidationError)
            self.metrics.updates.inc(self.name, INVALID)
            log.warning("refused a delivery to %s: not an update (%s)", self.path, type(exc).__name__)
            return web.Response(status=400, text=f"Bad Request: not a {self.name} update")
        delivery = WebhookDelivery()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.handler_timeout):
                outcome = delivery.result(await feed(delivery))
        except TimeoutError:  # stopped: its write, if any, committed whole or not at all; a redelivery is safe
            log.error("%s update %s took more than %.0f s and was stopped", self.name, key, self.handler_timeout)
            outcome = ERROR
        except Exception:
            log.exception("%s update %s could not be handled", self.name, key)
            outcome = ERROR
        self.metrics.latency.observe(time.perf_counter() - started, self.name)
        self.metrics.updates.inc(self.name, outcome)
        if outcome != ERROR:
            self._failures.pop(key, None)
            return web.Response(status=200)
        attempts = self._failed(key)
        if attempts < self.give_up_after:
            log.warning("%s update %s failed (attempt %d); answered 500 so it is delivered again",
                        self.name, key, attempts)  # fmt: skip
            return web.Response(status=500, text="handling failed; deliver it again")
        log.error("%s update %s failed %d times; answered 200 so it is not delivered again", self.name, key, attempts)
        return web.Response(status=200)


class TelegramWebhook(WebhookChannel):
    name = "telegram"
    path = TELEGRAM_PATH
    secret_header = SECRET_HEADER

    def __init__(self, dp: Dispatcher, bot: Bot, secret: str, metrics: Metrics, *,
                 give_up_after: int = GIVE_UP_AFTER) -> None:  # fmt: skip
        super().__init__(dp, secret, metrics, give_up_after=give_up_after)
        self.bot = bot

    async def read(self, request: web.Request) -> tuple[str, Feed]:
        raw = await request.json(loads=self.bot.session.json_loads)
        update = Update.model_validate(raw, context={"bot": self.bot})

        async def feed(delivery: WebhookDelivery) -> Any:
            return await self.dp.feed_update(self.bot, update, webhook_delivery=delivery)

        return str(update.update_id), feed

    async def register(self, base_url: str, secret: str) -> str:
        """setWebhook at ``base_url`` + this channel's path; raises WebhookRefused with a one-line reason."""
        url = base_url + self.path
        allowed = self.dp.resolve_used_update_types()
        try:
            await self.bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=allowed, drop_pending_updates=False
            )
        except (TelegramUnauthorizedError, TelegramNetworkError):
            raise  # the command says these itself: a wrong token, or the Bot API out of reach
        except TelegramAPIError as exc:
            raise WebhookRefused(
                f"setWebhook failed for {url}: {exc.message}; check PUBLIC_BASE_URL (Telegram must reach it over "
                "HTTPS on port 443, 80, 88 or 8443)"
            ) from None
        except ClientDecodeError:
            raise WebhookRefused(
                f"setWebhook failed for {url}: the Bot API answered with something that is not JSON (a proxy's "
                "error page?); check TELEGRAM_API_BASE and TELEGRAM_PROXY"
            ) from None
        return url


class ZaloWebhook(WebhookChannel):
    """Zalo's channel: the same answers as Telegram's; its body is one update (or ``{"ok", "result": update}``)."""

    name = "zalo"
    path = ZALO_PATH
    secret_header = ZALO_SECRET_HEADER

    def __init__(self, dp: Dispatcher, inbound: Inbound, api: ZaloApi, secret: str, metrics: Metrics, *,
                 give_up_after: int = GIVE_UP_AFTER) -> None:  # fmt: skip
        super().__init__(dp, secret, metrics, give_up_after=give_up_after)
        self.inbound, self.api = inbound, api

    async def read(self, request: web.Request) -> tuple[str, Feed]:
        raw = await request.json()
        key = self.inbound.key(raw)  # NotAnUpdate is a ValueError

        async def feed(delivery: WebhookDelivery) -> Any:
            return await self.inbound.feed(raw, webhook_delivery=delivery)

        return key, feed

    async def register(self, base_url: str, secret: str) -> str:
        url = base_url + self.path
        try:
            await self.api.call("setWebhook", {"url": url, "secret_token": secret})
        except ZaloError as exc:
            raise WebhookRefused(
                f"Zalo's setWebhook failed for {url}: {exc.code} {exc.description}; check PUBLIC_BASE_URL (HTTPS) and "
                "WEBHOOK_SECRET (8 to 256 characters)"
            ) from None
        return url


class Health:
    """``/healthz``: the database answers ``SELECT 1``; Redis answers ``PING`` when it is configured."""

    def __init__(self, db: Database, redis: Any = None, timeout: float = HEALTH_TIMEOUT) -> None:
        self.db, self.redis, self.timeout = db, redis, timeout  # redis: a redis.asyncio client, or None

    async def _database(self) -> None:
        await self.db.check()

    async def _redis(self) -> None:
        await self.redis.ping()

    async def _probe(self, what: str, check: Callable[[], Awaitable[None]]) -> str:
        try:
            await asyncio.wait_for(check(), self.timeout)
        except Exception as exc:
            log.warning("health check: %s is unreachable (%s: %s)", what, type(exc).__name__, exc)
            return "unreachable"
        return "ok"

    async def check(self) -> tuple[bool, dict[str, str]]:
        checks = {"database": await self._probe("the database", self._database)}
        if self.redis is not None:
            checks["redis"] = await self._probe("Redis", self._redis)
        healthy = all(value == "ok" for value in checks.values())
        return healthy, {"status": "ok" if healthy else "unavailable", **checks}


class WebhookServer:
    """The channels' webhooks, ``/healthz`` and ``/metrics`` on one port. ``stop`` stops accepting, lets the
    deliveries in flight finish (up to ``grace`` seconds) and closes."""

    def __init__(
        self,
        channels: Sequence[Channel],
        health: Health,
        metrics: Metrics,
        *,
        host: str,
        port: int,
        grace: float,
        files: FileLinks | None = None,
    ) -> None:
        self.channels, self.health, self.metrics, self.files = channels, health, metrics, files
        self.host, self.port, self.grace = host, port, grace
        self.in_flight = 0
        self._runner: web.AppRunner | None = None

    def _counted(self, handle: Callable[[web.Request], Awaitable[web.Response]]) -> Any:
        async def counted(request: web.Request) -> web.Response:
            self.in_flight += 1
            try:
                return await handle(request)
            finally:
                self.in_flight -= 1

        return counted

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        for channel in self.channels:
            app.router.add_post(channel.path, self._counted(channel.handle))
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_page)
        if self.files is not None:
            self.files.add_routes(app)
        return app

    async def healthz(self, request: web.Request) -> web.Response:
        healthy, body = await self.health.check()
        return web.json_response(body, status=200 if healthy else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        return web.Response(body=(await self.metrics.render()).encode(), headers={"Content-Type": CONTENT_TYPE})

    async def start(self) -> None:
        runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=self.grace)
        await runner.setup()
        shared = bool(os.environ.get(WORKER_ENV))  # one of --workers N: the port is shared (SO_REUSEPORT)
        site = web.TCPSite(runner, self.host, self.port, reuse_port=shared or None)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise WebhookRefused(
                f"cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); change WEBHOOK_HOST or WEBHOOK_PORT"
            ) from None
        self._runner = runner
        paths = "".join(f"{channel.name} at {channel.path}; " for channel in self.channels)
        files = "; files at /files/" if self.files is not None else ""
        log.info("listening on http://%s:%s: %s/healthz and /metrics%s", self.host, self.port, paths, files)

    async def stop(self) -> None:
        """Stop accepting, finish the deliveries in flight (up to ``grace`` seconds), close."""
        if self._runner is None:
            return
        log.info("stopping: no new deliveries; finishing %d in flight", self.in_flight)
        await self._runner.cleanup()
        self._runner = None
