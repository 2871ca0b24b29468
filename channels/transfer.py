"""An attachment sent on one channel, shown on the other.

A Telegram file is known by its file id, which only the Telegram bot can read; a Zalo photo by its URL, which
Telegram may not be able to fetch. So for a chat of the other channel the bytes are fetched here (the Telegram file
through the Telegram bot, the Zalo photo over HTTP, both at most ``MAX_BYTES``) and sent as an upload: Telegram takes
it as it is, the Zalo session serves it at an expiring link (``bot.files``)."""

from __future__ import annotations

import io
from urllib.parse import unquote, urlsplit

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile

from channels.addresses import channel_of
from channels.routing import bot_of

MAX_BYTES = 20 * 1024 * 1024  # what Telegram's Bot API lets a bot download, and what a served link holds
TIMEOUT = 30


class NotFetched(Exception):
    """The attachment's bytes could not be had; the message says why (for the log)."""


def origin(file_id: str) -> str:
    """The channel an attachment came from: a Zalo photo is kept as its URL, a Telegram file as its file id."""
    return "zalo" if file_id.startswith(("https://", "http://")) else "telegram"


def foreign(file_id: str, chat_id: int) -> bool:
    """Whether the attachment must be fetched to be shown in ``chat_id``."""
    return origin(file_id) != channel_of(chat_id)


async def fetch(bot: Bot, file_id: str, name: str) -> BufferedInputFile:
    """The attachment's bytes as an upload named ``name``; raises NotFetched."""
    if origin(file_id) == "zalo":
        data = await _from_url(file_id)
        name = _url_name(file_id) or name
    else:
        telegram = bot_of(bot, "telegram")
        if telegram is None:
            raise NotFetched("the Telegram channel is not configured here")
        data = await _from_telegram(telegram, file_id)
    return BufferedInputFile(data, filename=name)


async def _from_telegram(bot: Bot, file_id: str) -> bytes:
    try:
        file = await bot.get_file(file_id)
        if (file.file_size or 0) > MAX_BYTES or not file.file_path:
            raise NotFetched(f"Telegram file of {file.file_size} bytes is too big to fetch")
        buffer = io.BytesIO()
        await bot.download_file(file.file_path, destination=buffer, timeout=TIMEOUT)
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as exc:
        raise NotFetched(f"Telegram file: {exc}") from None
    return buffer.getvalue()


async def _from_url(url: str) -> bytes:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http,
            http.get(url) as response,
        ):
            if response.status != 200:
                raise NotFetched(f"{url} answered {response.status}")
            if (response.content_length or 0) > MAX_BYTES:
                raise NotFetched(f"{url} is larger than {MAX_BYTES} bytes")
            data = bytearray()
            async for chunk in response.content.iter_chunked(65536):
                data += chunk
                if len(data) > MAX_BYTES:
                    raise NotFetched(f"{url} is larger than {MAX_BYTES} bytes")
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise NotFetched(f"{url}: {exc}") from None
    return bytes(data)


def _url_name(url: str) -> str:
    """The last part of the URL's path when it looks like a file name ("anh.jpg"), else ""."""
    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return last if "." in last.strip(".") and len(last) <= 100 else ""
