"""The handled-update record: exactly-once effect for updates that may be delivered more than once.

While an update is handled, the first write of its handler also inserts the update's key into
``handled_update``, in the same transaction. If that key is already there (a redelivery after a restart, a
retried webhook, the same update on two workers at once), the whole write is undone and ``AlreadyHandled``
is raised, so the update has no second effect. An update whose handler wrote nothing is recorded afterwards.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import text

from storage.models import utcnow
from storage.writer import Stmt

if TYPE_CHECKING:
    from storage.db import Database

_INSERT = (
    "INSERT INTO handled_update (key, source, seq, at) VALUES (:hkey, :hsource, :hseq, :hat) "
    "ON CONFLICT (key) DO NOTHING"
)


class AlreadyHandled(Exception):
    """The update being handled was already handled (its effect is committed)."""


@dataclass
class Handling:
    """The update being handled in this context; ``recorded`` once its key is committed."""

    source: str  # the channel and bot, e.g. "tg:4242"
    ident: str  # the platform's id of the update, e.g. Telegram's update_id
    seq: int | None = None  # the id as a number where the platform's ids increase
    recorded: bool = False

    @property
    def key(self) -> str:
        return f"{self.source}:{self.ident}"

    def stmt(self, *, guard: bool = True) -> Stmt:
        params = {"hkey": self.key, "hsource": self.source, "hseq": self.seq, "hat": utcnow()}
        return Stmt(_INSERT, params, duplicate=guard)


current: ContextVar[Handling | None] = ContextVar("sangkien_handling", default=None)

HANDLED = text("SELECT 1 FROM handled_update WHERE key = :key")
HIGHEST = text("SELECT max(seq) FROM handled_update WHERE source = :source")


def prune_stmt(keep: timedelta = timedelta(days=7)) -> Stmt:
    """Forget keys older than any platform redelivers (Telegram keeps updates 24 hours)."""
    return Stmt("DELETE FROM handled_update WHERE at < :before", {"before": utcnow() - keep})


async def claim_slot(db: Database, job: str, slot: str) -> bool:
    """True for exactly one caller per (job, slot): several workers firing the same schedule run it once."""
    result = await db.write_unmarked(
        Stmt(_INSERT, {"hkey": f"job:{job}:{slot}", "hsource": "job", "hseq": None, "hat": utcnow()}, guard=True)
    )
    return result.applied
