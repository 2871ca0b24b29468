"""Web addresses people paste (a unit's guide or video): http or https, a host with a dot, nothing else."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

MAX_URL = 500  # unit.guide_url


def web_address(text: str) -> str | None:
    """The address, trimmed, when a phone can open it: ``http(s)://host.domain/…`` without spaces or
    credentials, at most MAX_URL characters; otherwise None."""
    value = text.strip()
    if not value or len(value) > MAX_URL or any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return None
    host = (parts.hostname or "").strip(".")
    if parts.scheme.lower() not in ("http", "https") or "." not in host or parts.username or parts.password:
        return None
    return value
