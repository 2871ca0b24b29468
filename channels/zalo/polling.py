"""Long polling of Zalo, which acknowledges an update by handing it over: ``getUpdates`` returns one update and
forgets it, with no offset to confirm later. So each update is written to the inbox (``storage.channels``) before
it is handled and removed once handled; a run that was killed in between handles what its inbox kept when it
starts again, and the handled-update record skips any of it that had committed. For the same reason a stop
waits for the ``getUpdates`` under way (at most ``timeout`` seconds) and keeps what it brings."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiogram.utils.backoff import Backoff, BackoffConfig

from channels.zalo.api import ZaloApi, ZaloError, ZaloNetworkError
from channels.zalo.updates import Inbound, NotAnUpdate, chat_key
from storage.channels import inbox_done, inbox_left, inbox_put

log = logging.getLogger(__name__)
BACKOFF = BackoffConfig(min_delay=1.0, max_delay=30.0, factor=1.5, jitter=0.1)
TIMED_OUT = 408  # getUpdates' answer when nothing came within its timeout


class ZaloPoller:
    def __init__(self, inbound: Inbound, api: ZaloApi, *, timeout: int = 10, handler_timeout: float = 90.0,
                 **data: Any) -> None:  # fmt: skip
        self.inbound, self.api, self.db, self.data = inbound, api, inbound.db, data
        self.timeout, self.handler_timeout = timeout, handler_timeout
        self.running: dict[str, asyncio.Task[None]] = {}
        self._tails: dict[str, asyncio.Task[None]] = {}  # each chat's latest update, which the next one waits for

    async def _handle(self, key: str, raw: Any, before: asyncio.Task[None] | None, journal: bool) -> None:
        try:
            if journal:
                await inbox_put(self.db, key, self.inbound.source, json.dumps(raw, ensure_ascii=False))
            if before is not None:  # the chat's earlier update first: a typed answer is read against its reply
                await asyncio.wait([before])
            await asyncio.wait_for(self.inbound.feed(raw, **self.data), self.handler_timeout)
        except TimeoutError:
            log.warning("Zalo update %s took more than %.0f s and was stopped", key, self.handler_timeout)
        except asyncio.CancelledError:
            raise  # stopped, not handled: it stays in the inbox for the next run
        except Exception:
            log.exception("Zalo update %s could not be handled", key)
        finally:
            self.running.pop(key, None)
        await inbox_done(self.db, key)

    def _start(self, key: str, raw: Any, *, journal: bool) -> None:
        """Handle an update in a task of its own: the next getUpdates does not wait for its inbox row. Updates
        of one chat still run in the order they were fetched."""
        if key in self.running:
            return
        chat = chat_key(raw)
        task = asyncio.create_task(self._handle(key, raw, self._tails.get(chat), journal), name=f"zalo-{key}")
        self.running[key] = self._tails[chat] = task
        task.add_done_callback(lambda done: self._tails.pop(chat) if self._tails.get(chat) is done else None)

    async def _fetch(self, stop: asyncio.Event, backoff: Backoff) -> list[Any] | None:
        request = asyncio.ensure_future(
            self.api.call("getUpdates", {"timeout": self.timeout}, timeout=self.timeout + 15)
        )
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait((request, stopped), return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not request.done():  # stopping: a call under way may still hand over an update, which Zalo then forgets
            try:
                await asyncio.wait_for(asyncio.shield(request), self.timeout + 5)
            except (TimeoutError, ZaloError, ZaloNetworkError):
                request.cancel()
                return None
        try:
            result = request.result()
        except ZaloError as exc:
            if exc.code == TIMED_OUT:
                backoff.reset()
                return []
            log.warning("cannot fetch Zalo updates (%s); retrying in %.1f s", exc, backoff.next_delay)
            await backoff.asleep()
            return None
        except ZaloNetworkError as exc:
            log.warning("cannot reach Zalo (%s); retrying in %.1f s", exc, backoff.next_delay)
            await backoff.asleep()
            return None
        backoff.reset()
        if not result:
            return []
        return list(result) if isinstance(result, list) else [result]

    async def run(self, stop: asyncio.Event) -> None:
        left = await inbox_left(self.db, self.inbound.source)
        if left:
            log.info("handling %d Zalo update(s) an earlier run fetched and did not finish", len(left))
        for key, payload in left:
            self._start(key, json.loads(payload), journal=False)
        backoff = Backoff(config=BACKOFF)
        while not stop.is_set():
            for raw in await self._fetch(stop, backoff) or []:
                try:
                    key = self.inbound.key(raw)
                except NotAnUpdate:
                    log.warning("Zalo sent something that is not an update; skipped")
                    continue
                self._start(key, raw, journal=True)

    async def drain(self, grace: float) -> None:
        """Let the updates in flight finish; any still running after ``grace`` stay in the inbox."""
        if self.running:
            await asyncio.wait(list(self.running.values()), timeout=grace)
