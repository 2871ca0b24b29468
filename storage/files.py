"""Served files: generated images and documents kept in the database behind an unguessable, expiring token.

A channel that takes a URL instead of an upload (Zalo's ``sendPhoto``) gets a link to one of these; every worker
and host reads the same table, so any of them can answer the request. Storing and pruning are housekeeping
(``write_unmarked``): they never count as the effect of the update being handled.
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import datetime, timedelta

from sqlmodel import col, select

from storage.db import Database
from storage.models import ServedFile, utcnow
from storage.writer import Stmt

MAX_BYTES = 20 * 1024 * 1024
MAX_NAME = 200  # served_file.name
MAX_CONTENT_TYPE = 100  # served_file.content_type
MAX_TOKEN = 64  # served_file.token
_UNSAFE = frozenset('/\\:*?"<>|')


def safe_name(name: str) -> str:
    """The name as stored and put in the link: NFC, one path segment, no control characters, at most 200
    characters (the extension kept); "file" when nothing is left. Applying it twice changes nothing."""
    cleaned = "".join(
        "_" if ch in _UNSAFE or unicodedata.category(ch).startswith("C") else ch
        for ch in unicodedata.normalize("NFC", name)
    )
    cleaned = " ".join(cleaned.split()).strip(". ")
    if len(cleaned) > MAX_NAME:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            cleaned = stem[: MAX_NAME - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            cleaned = cleaned[:MAX_NAME].rstrip(". ")
    return cleaned or "file"


def _check_content_type(content_type: str) -> None:
    if (
        not 0 < len(content_type) <= MAX_CONTENT_TYPE
        or "/" not in content_type
        or not content_type.isascii()
        or any(not ch.isprintable() for ch in content_type)
    ):
        raise ValueError(f"not a content type: {content_type!r}")


async def put_file(db: Database, data: bytes, name: str, content_type: str, ttl: timedelta) -> str:
    """Store the file for ``ttl`` under a new token (192 random bits) and return the token. The name is stored
    as ``safe_name(name)``. Raises ValueError for data over 20 MB, a bad content type or a ttl that is not
    positive."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"file too large to serve: {len(data)} bytes (at most {MAX_BYTES})")
    if ttl <= timedelta(0):
        raise ValueError(f"ttl must be positive: {ttl}")
    _check_content_type(content_type)
    token, now = secrets.token_urlsafe(24), utcnow()
    await db.write_unmarked(
        Stmt(
            "INSERT INTO served_file (token, name, content_type, data, created_at, expires_at) "
            "VALUES (:token, :name, :content_type, :data, :now, :expires)",
            {"token": token, "name": safe_name(name), "content_type": content_type, "data": bytes(data),
             "now": now, "expires": now + ttl},
        )
    )  # fmt: skip
    return token


def _plausible_token(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN and token.isascii() and all(ch.isalnum() or ch in "-_" for ch in token)


async def get_file(db: Database, token: str, now: datetime | None = None) -> ServedFile | None:
    """The file behind the token; None when the token is unknown or the file has expired."""
    if not _plausible_token(token):
        return None
    now = now or utcnow()
    query = select(ServedFile).where(ServedFile.token == token, col(ServedFile.expires_at) > now)
    async with db.session() as session:
        return (await session.exec(query)).first()


async def prune_files(db: Database, now: datetime | None = None) -> int:
    """Delete the expired files; returns how many."""
    result = await db.write_unmarked(
        Stmt("DELETE FROM served_file WHERE expires_at <= :now RETURNING token", {"now": now or utcnow()},
             returning=True)
    )  # fmt: skip
    return len(result.rows)
