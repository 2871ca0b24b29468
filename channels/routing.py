"""Every bot reaches every channel: a call addressed to a chat of another channel is made by that channel's bot.

A Telegram support group's decision tells a Zalo author; a Zalo author's submission posts a card to a Telegram
group. The handlers and the outbox send with whichever ``Bot`` they hold; this middleware, the first on each
bot's session, hands the call to the bot of the chat's channel (``channels.addresses``)."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import Response, TelegramMethod

from channels.addresses import channel_of


class ChannelRoute(BaseRequestMiddleware):
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.others: dict[str, Bot] = {}

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:  # fmt: skip
        chat_id = getattr(method, "chat_id", None)
        target = channel_of(chat_id)
        if chat_id is None or target == self.channel:
            return await make_request(bot, method)
        other = self.others.get(target)
        if other is None:
            raise TelegramBadRequest(method=method, message=f"Bad Request: chat not found (no {target} channel here)")
        result: Any = await other(method)
        return result


def connect(bots: list[Bot]) -> None:
    """Let each bot hand another channel's chats to that channel's bot."""
    routes = {route.channel: (route, bot) for bot in bots for route in _routes(bot)}
    for route, _bot in routes.values():
        route.others = {channel: other for channel, (_r, other) in routes.items() if channel != route.channel}


def _routes(bot: Bot) -> list[ChannelRoute]:
    return [mw for mw in bot.session.middleware if isinstance(mw, ChannelRoute)]


def bot_of(bot: Bot, channel: str) -> Bot | None:
    """The bot of ``channel`` as ``bot`` reaches it: ``bot`` itself, the bot of another channel it hands chats
    to, or None when this app has no bot on that channel."""
    for route in _routes(bot):
        return bot if route.channel == channel else route.others.get(channel)
    return bot if channel == "telegram" else None  # a bot without a route is a plain Telegram bot
