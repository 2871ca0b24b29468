"""A printable QR code (PNG) for an invite link, to pin on a workshop notice board."""

from __future__ import annotations

from io import BytesIO


def qr_png(url: str) -> bytes:
    import segno

    buffer = BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=12, border=4)
    return buffer.getvalue()
