"""Prometheus metrics in the text exposition format, written by hand (a few counters, one histogram and gauges
read at scrape time), and the Bot API session middleware that counts the calls Telegram asked to retry."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import Response, TelegramMethod

from storage.db import Database
from storage.outbox import count_pending

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# handling an update: a reply is tens of milliseconds; an export or a chart a few seconds
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OUTCOMES = ("handled", "duplicate", "error", "forbidden", "invalid")
RETRY_REASONS = ("retry_after", "network", "server")

Labels = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Iterable[str], values: Iterable[str], extra: str = "") -> str:
    parts = [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) else str(int(value))


class Counter:
    def __init__(self, name: str, help_text: str, labels: Labels = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, labels
        self.values: dict[Labels, float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def get(self, *labels: str) -> float:
        return self.values.get(labels, 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        for labels, value in sorted(self.values.items()):
            lines.append(f"{self.name}{_labels(self.label_names, labels)} {_number(value)}")
        return lines


class Histogram:
    def __init__(self, name: str, help_text: str, labels: Labels = (), buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.name, self.help, self.label_names, self.buckets = name, help_text, labels, buckets
        self.counts: dict[Labels, list[int]] = {}  # per bucket, not cumulative; the last one is +Inf
        self.sums: dict[Labels, float] = {}

    def observe(self, value: float, *labels: str) -> None:
        counts = self.counts.setdefault(labels, [0] * (len(self.buckets) + 1))
        index = next((i for i, bound in enumerate(self.buckets) if value <= bound), len(self.buckets))
        counts[index] += 1
        self.sums[labels] = self.sums.get(labels, 0.0) + value

    def count(self, *labels: str) -> int:
        return sum(self.counts.get(labels, ()))

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for labels, counts in sorted(self.counts.items()):
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                le = f'le="{_number(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.label_names, labels, le)} {running}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, labels)} {_number(self.sums[labels])}")
            lines.append(f"{self.name}_count{_labels(self.label_names, labels)} {running}")
        return lines


class Gauge:
    """A value read when the metrics are scraped."""

    def __init__(self, name: str, help_text: str, read: Callable[[], Awaitable[float]]) -> None:
        self.name, self.help, self.read = name, help_text, read

    async def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} gauge"]
        try:
            value = await self.read()
        except Exception:  # an unreachable database leaves the value out; /healthz says why
            return lines
        return [*lines, f"{self.name} {_number(value)}"]


class Metrics:
    def __init__(self, channels: Iterable[str] = ("telegram",)) -> None:
        self.updates = Counter(
            "sangkien_updates_total",
            "Webhook deliveries by channel and outcome: handled, duplicate (already handled, skipped), error "
            "(answered 500 so the platform retries), forbidden (wrong secret), invalid (not an update).",
            ("channel", "outcome"),
        )
        self.latency = Histogram(
            "sangkien_update_handling_seconds",
            "Time from receiving a webhook delivery to answering it (handled, duplicate or error).",
            ("channel",),
        )
        self.api_retries = Counter(
            "sangkien_api_retries_total",
            "Bot API calls that failed in a way that is retried: 429 flood control (retry_after), network "
            "errors (network), Telegram's 5xx (server).",
            ("reason",),
        )
        self.gauges: list[Gauge] = []
        for channel in channels:
            for outcome in OUTCOMES:
                self.updates.inc(channel, outcome, amount=0)
        for reason in RETRY_REASONS:
            self.api_retries.inc(reason, amount=0)

    def watch_outbox(self, db: Database) -> None:
        async def pending() -> float:
            return float(await count_pending(db))

        self.gauges.append(
            Gauge("sangkien_outbox_pending", "Outbox items (cards, notices) not yet delivered or given up.", pending)
        )

    async def render(self) -> str:
        lines = [*self.updates.render(), *self.latency.render(), *self.api_retries.render()]
        for gauge in self.gauges:
            lines.extend(await gauge.render())
        return "\n".join(lines) + "\n"


class ApiRetryCounter(BaseRequestMiddleware):
    """Counts Bot API calls that fail with an error the bot retries (the group pacing retries a 429, the
    outbox sender a 429, a network error or a 5xx). Register it after ``GroupPacing`` so each attempt counts."""

    def __init__(self, metrics: Metrics) -> None:
        self.counter = metrics.api_retries

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:  # fmt: skip
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter:
            self.counter.inc("retry_after")
            raise
        except TelegramNetworkError:
            self.counter.inc("network")
            raise
        except TelegramServerError:
            self.counter.inc("server")
            raise
