"""Public links to generated files, for channels that take a URL instead of an upload (Zalo's ``sendPhoto``).

``FileLinks.link`` stores the bytes (``storage.files``) and returns
``{PUBLIC_BASE_URL}/files/{token}/{name}``; ``FileLinks.add_routes`` puts ``GET``/``HEAD /files/{token}/{name}``
on the webhook server's aiohttp application. The token is the secret (192 random bits); the name must match
too, so a link cut short or edited is refused. Unknown, expired and mismatched links all get the same 404.
"""

from __future__ import annotations

import mimetypes
import unicodedata
from datetime import timedelta
from urllib.parse import quote

from aiohttp import web

from storage.db import Database
from storage.files import get_file, prune_files, put_file, safe_name
from storage.models import utcnow

ROUTE = "/files/{token}/{name}"
DEFAULT_TTL = timedelta(days=7)
MAX_AGE = 3600
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})  # not SVG: it can carry script

_FALLBACK_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".csv": "text/csv",
    ".pdf": "application/pdf",
}


def mime_for(name: str) -> str:
    """The content type for a file name: the usual types of what the bot generates first (the same on every
    host, whatever its mime.types says), then ``mimetypes``, then ``application/octet-stream``."""
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot >= 0 else ""
    if ext in _FALLBACK_TYPES:
        return _FALLBACK_TYPES[ext]
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def _ascii_fallback(name: str) -> str:
    """A plain-ASCII filename for clients that ignore ``filename*``: "Tiến độ.xlsx" -> "Tien do.xlsx"."""
    name = name.replace("đ", "d").replace("Đ", "D")
    stripped = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    return "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in stripped)


def content_disposition(content_type: str, name: str) -> str:
    """``inline`` for raster images, ``attachment`` otherwise; the name as RFC 6266/5987 ``filename*``."""
    kind = "inline" if content_type.split(";")[0].strip().lower() in INLINE_TYPES else "attachment"
    return f"{kind}; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def _not_found() -> web.Response:
    return web.Response(status=404, text="Not Found", headers={"Cache-Control": "no-store"})


class FileLinks:
    """Makes public links to generated files and serves them. Create one per process, at start-up."""

    def __init__(self, db: Database, base_url: str, ttl: timedelta = DEFAULT_TTL) -> None:
        self.db, self.base_url, self.ttl = db, base_url.rstrip("/"), ttl

    async def link(self, data: bytes, name: str, content_type: str) -> str:
        """Store the file for ``ttl`` and return its public URL. Raises ValueError for data over 20 MB."""
        token = await put_file(self.db, data, name, content_type, self.ttl)
        return f"{self.base_url}/files/{token}/{quote(safe_name(name), safe='')}"

    async def prune(self) -> int:
        """Delete the expired files; returns how many."""
        return await prune_files(self.db)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(ROUTE, self.serve, allow_head=True)

    async def serve(self, request: web.Request) -> web.Response:
        now = utcnow()
        stored = await get_file(self.db, request.match_info["token"], now)
        name = unicodedata.normalize("NFC", request.match_info["name"])
        if stored is None or name != stored.name:
            return _not_found()
        remaining = int((stored.expires_at - now).total_seconds())
        return web.Response(
            body=stored.data,
            headers={
                "Content-Type": stored.content_type,
                "Content-Disposition": content_disposition(stored.content_type, stored.name),
                "Cache-Control": f"private, max-age={max(0, min(MAX_AGE, remaining))}",
                "X-Content-Type-Options": "nosniff",
                "X-Robots-Tag": "noindex, nofollow",
                "Referrer-Policy": "no-referrer",
            },
        )
