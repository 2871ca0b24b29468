"""The event log: every change, with who made it, when, and what."""

from __future__ import annotations

import json
from typing import Any

from storage.models import utcnow
from storage.writer import Stmt


def event_stmt(
    kind: str,
    detail: dict[str, Any],
    *,
    member_id: Any = None,
    initiative_id: Any = None,
    member_sql: str | None = None,
    initiative_sql: str | None = None,
    **sql_params: Any,
) -> Stmt:
    """An event-log insert; ``*_sql`` names the actor or initiative by a sub-select when its id is not yet known."""
    actor = f"({member_sql})" if member_sql else ":member_id"
    target = f"({initiative_sql})" if initiative_sql else ":iid"
    return Stmt(
        "INSERT INTO event (at, member_id, initiative_id, kind, detail) "
        f"VALUES (:at, {actor}, {target}, :kind, :detail)",
        {
            "at": utcnow(),
            "member_id": member_id,
            "iid": initiative_id,
            "kind": kind,
            "detail": json.dumps(detail, ensure_ascii=False, default=str),
            **sql_params,
        },
    )
