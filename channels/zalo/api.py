"""The Zalo Bot Platform's HTTP API: a handful of JSON calls, so a few lines of aiohttp rather than a client
library (``python-zalo-bot`` is a fork of python-telegram-bot with its own runtime and update model, of which we
would use six endpoints, and it would bring httpx beside aiogram's aiohttp)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

PRODUCTION = "https://bot-api.zaloplatforms.com"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_LIMIT = 2000


class ZaloError(Exception):
    """The platform refused a call (``code`` as its error_code: 400, 401, 403, 408, 409, 429, 5xx)."""

    def __init__(self, method: str, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{method}: {code} {description}")
        self.method, self.code, self.description, self.retry_after = method, code, description, retry_after


class ZaloNetworkError(Exception):
    """The platform could not be reached or answered something that is not its JSON; ``timed_out`` when no answer
    came in time (the call may then have been carried out)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class ZaloApi:
    def __init__(self, token: str, base: str | None = None, *, timeout: float = 30.0) -> None:
        self._url = f"{(base or PRODUCTION).rstrip('/')}/bot{token}"
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(json_serialize=lambda o: json.dumps(o, ensure_ascii=False))
        return self._session

    async def call(self, method: str, payload: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """The call's ``result``; raises ZaloError or ZaloNetworkError (never with the token in the message)."""
        limit = aiohttp.ClientTimeout(total=timeout or self.timeout)
        try:
            async with self._client().post(f"{self._url}/{method}", json=payload or {}, timeout=limit) as response:
                status = response.status
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            message = f"{method}: {type(exc).__name__}: {exc}".replace(self._url, "<api>")
            raise ZaloNetworkError(message, timed_out=isinstance(exc, TimeoutError)) from None
        if not isinstance(body, dict):
            raise ZaloNetworkError(f"{method}: HTTP {status}, not a Bot API answer")
        if body.get("ok"):
            return body.get("result")
        parameters = body.get("parameters") or {}
        retry = parameters.get("retry_after") if isinstance(parameters, dict) else None
        code = int(body.get("error_code") or status)
        raise ZaloError(method, code, str(body.get("description") or "")[:300], int(retry) if retry else None)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
