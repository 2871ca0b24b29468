"""The facts the preview's eligibility rules (``forms.eligibility``) need from the database: the programme's
phases and the titles of the author's other initiatives."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from forms.eligibility import Facts, Span
from storage.db import Database

_PHASES = text("SELECT name, starts_on, ends_on FROM phase ORDER BY starts_on")
_TITLES = text(
    "SELECT number, title FROM initiative WHERE author_id = :author AND id <> :iid AND title IS NOT NULL "
    "AND number IS NOT NULL AND status NOT IN ('draft', 'deleted') ORDER BY id"
)


def _day(value: object) -> date:
    """A date column as a date: SQLite hands plain SQL its text, PostgreSQL a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def facts_for(db: Database, *, draft_id: int, author_id: int, today: date) -> Facts:
    async with db.read_engine.connect() as conn:
        phases = (await conn.execute(_PHASES)).all()
        titles = (await conn.execute(_TITLES, {"author": author_id, "iid": draft_id})).all()
    return Facts(
        today=today,
        phases=tuple(Span(row[0], _day(row[1]), _day(row[2])) for row in phases),
        own_titles=tuple((row[0], row[1]) for row in titles),
    )
