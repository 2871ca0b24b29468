"""Served files: generated images and documents behind unguessable, expiring links, kept in the database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bot.files import FileLinks, content_disposition, mime_for
from storage.db import Database
from storage.files import MAX_BYTES, get_file, prune_files, put_file, safe_name
from storage.handled import Handling, current
from storage.migrate import upgrade
from storage.models import utcnow
from storage.writer import Stmt

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
XLSX = b"PK\x03\x04" + b"\x00spreadsheet" * 100
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BASE = "https://bot.example.org"


@pytest.fixture
async def sqlite_db(db_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{db_path}")
    await database.start()
    yield database
    await database.close()


@pytest.fixture
async def postgresql_db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    await database.start()
    await upgrade(database.engine)
    yield database
    await database.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Database:
    """The migrated database on SQLite, and on PostgreSQL (skipped when it is not reachable, failed under CI)."""
    database: Database = request.getfixturevalue(f"{request.param}_db")
    return database


@pytest.fixture
async def links(db: Database) -> AsyncIterator[tuple[FileLinks, TestClient]]:
    files = FileLinks(db, BASE + "/")
    app = web.Application()
    files.add_routes(app)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield files, client


def path_of(url: str) -> str:
    """The path of a public link, as the platform's servers would request it (still percent-encoded)."""
    return urlsplit(url).path


async def expire(db: Database, token: str) -> None:
    await db.write_unmarked(
        Stmt("UPDATE served_file SET expires_at = :t WHERE token = :token",
             {"t": utcnow() - timedelta(seconds=1), "token": token})
    )  # fmt: skip


def filename_of(disposition: str) -> str | None:
    """The file name a browser saves as: ``filename*`` (RFC 5987) before the plain ``filename``."""
    _, params = parse_content_disposition(disposition)
    return content_disposition_filename(params, "filename")


# storage


async def test_a_stored_file_comes_back_until_it_expires(db: Database) -> None:
    token = await put_file(db, PNG, "chart.png", "image/png", timedelta(hours=1))
    stored = await get_file(db, token)
    assert stored is not None
    assert (stored.data, stored.name, stored.content_type) == (PNG, "chart.png", "image/png")
    assert timedelta(minutes=59) < stored.expires_at - stored.created_at <= timedelta(hours=1)
    assert await get_file(db, token, now=utcnow() + timedelta(minutes=59)) is not None
    assert await get_file(db, token, now=utcnow() + timedelta(hours=1, seconds=1)) is None
    assert await get_file(db, "x" + token[1:] if token[0] != "x" else "y" + token[1:]) is None
    assert await get_file(db, "") is None
    assert await get_file(db, "../../etc/passwd") is None


async def test_prune_deletes_only_expired_files(db: Database) -> None:
    short = await put_file(db, b"a", "a.csv", "text/csv", timedelta(minutes=5))
    also_short = await put_file(db, b"b", "b.csv", "text/csv", timedelta(minutes=10))
    long = await put_file(db, b"c", "c.csv", "text/csv", timedelta(days=7))
    assert await prune_files(db) == 0
    later = utcnow() + timedelta(hours=1)
    assert await prune_files(db, now=later) == 2
    assert await prune_files(db, now=later) == 0
    assert await get_file(db, short) is None and await get_file(db, also_short) is None
    assert await get_file(db, long) is not None


async def test_tokens_are_distinct_and_long(db: Database) -> None:
    tokens = [await put_file(db, b"x", "x.png", "image/png", timedelta(minutes=1)) for _ in range(50)]
    assert len(set(tokens)) == 50
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32,64}", token)  # 24 random bytes: 192 bits


async def test_files_over_20_mb_and_bad_arguments_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="too large"):
        await put_file(db, bytes(MAX_BYTES + 1), "big.png", "image/png", timedelta(hours=1))
    with pytest.raises(ValueError, match="content type"):
        await put_file(db, b"x", "x.png", "image/png\r\nX-Evil: 1", timedelta(hours=1))
    with pytest.raises(ValueError, match="ttl"):
        await put_file(db, b"x", "x.png", "image/png", timedelta(0))
    async with db.read_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM served_file"))).scalar() == 0
    assert await get_file(db, await put_file(db, bytes(MAX_BYTES), "max.png", "image/png", timedelta(hours=1)))


async def test_storing_a_file_is_not_the_effect_of_the_update(db: Database) -> None:
    """A file stored while an update is handled must not mark the update handled: its real write comes later."""
    handling = Handling(source="zalo:1", ident="42")
    reset = current.set(handling)
    try:
        await put_file(db, PNG, "qr.png", "image/png", timedelta(hours=1))
        await prune_files(db)
    finally:
        current.reset(reset)
    assert not handling.recorded
    assert not await db.was_handled(handling.key)


def test_safe_names_are_one_path_segment() -> None:
    assert safe_name("Tiến độ Quý 1.xlsx") == "Tiến độ Quý 1.xlsx"
    assert safe_name("Tie\u0302\u0301n.png") == "Tiến.png"  # decomposed input is stored composed
    assert safe_name("../a/b\\c.png") == "_a_b_c.png"
    assert safe_name("a\r\nb\x00.csv") == "a__b_.csv"
    assert safe_name("  ") == "file"
    long = safe_name("x" * 500 + ".xlsx")
    assert len(long) == 200 and long.endswith(".xlsx")
    for name in ("Tiến độ Quý 1.xlsx", "../a/b.png", "x" * 500 + ".xlsx", "a\tb"):
        assert safe_name(safe_name(name)) == safe_name(name)


def test_mime_types_of_what_the_bot_generates() -> None:
    assert mime_for("chart.png") == "image/png"
    assert mime_for("QR.PNG") == "image/png"
    assert mime_for("Tiến độ Quý 1.xlsx") == XLSX_TYPE
    assert mime_for("Biên bản.docx") == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert mime_for("danh sách.csv") == "text/csv"
    assert mime_for("no extension") == "application/octet-stream"


def test_only_raster_images_are_inline() -> None:
    assert content_disposition("image/png", "a.png").startswith("inline;")
    assert content_disposition("image/svg+xml", "a.svg").startswith("attachment;")
    assert content_disposition("text/html", "a.html").startswith("attachment;")


# the route


async def test_a_png_is_served_inline_with_its_type(links: tuple[FileLinks, TestClient]) -> None:
    files, client = links
    url = await files.link(PNG, "Biểu đồ.png", "image/png")
    assert url.startswith(BASE + "/files/") and "//files" not in url
    assert url.endswith("/Bi%E1%BB%83u%20%C4%91%E1%BB%93.png")
    response = await client.get(path_of(url))
    assert response.status == 200
    assert await response.read() == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert filename_of(response.headers["Content-Disposition"]) == "Biểu đồ.png"
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_spreadsheet_is_an_attachment_with_its_vietnamese_name(links: tuple[FileLinks, TestClient]) -> None:
    files, client = links
    name = "Tiến độ Quý 1.xlsx"
    url = await files.link(XLSX, name, mime_for(name))
    response = await client.get(path_of(url))
    assert response.status == 200
    assert await response.read() == XLSX
    assert response.headers["Content-Type"] == XLSX_TYPE
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert disposition.isascii()
    assert 'filename="Tien do Quy 1.xlsx"' in disposition  # for clients that ignore filename*
    assert filename_of(disposition) == name
    assert response.content_disposition is not None and response.content_disposition.filename == name


async def test_head_answers_without_the_body(links: tuple[FileLinks, TestClient]) -> None:
    files, client = links
    url = await files.link(PNG, "qr.png", "image/png")
    response = await client.head(path_of(url))
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Length"] == str(len(PNG))
    assert await response.read() == b""


async def test_names_with_url_characters_survive_the_link(links: tuple[FileLinks, TestClient]) -> None:
    files, client = links
    url = await files.link(b"data", "50% #1 & ?.csv", "text/csv")
    response = await client.get(path_of(url))
    assert response.status == 200 and await response.read() == b"data"
    assert filename_of(response.headers["Content-Disposition"]) == "50% #1 & _.csv"


async def test_wrong_token_wrong_name_and_expired_files_are_404(
    links: tuple[FileLinks, TestClient], db: Database
) -> None:
    files, client = links
    url = await files.link(PNG, "chart.png", "image/png")
    path = path_of(url)
    token = path.split("/")[2]
    other = ("A" if token[0] != "A" else "B") + token[1:]
    for wrong in (
        f"/files/{other}/chart.png",
        f"/files/{token}/chart.jpg",
        f"/files/{token}/Chart.png",
        f"/files/{token[:-1]}/chart.png",
        "/files/not-a-token/chart.png",
    ):
        response = await client.get(wrong)
        assert response.status == 404, wrong
        assert await response.text() == "Not Found"
        assert "Content-Disposition" not in response.headers
    assert (await client.get(f"/files/{token}")).status == 404
    assert (await client.get(path)).status == 200
    await expire(db, token)
    response = await client.get(path)
    assert response.status == 404
    assert (await client.head(path)).status == 404


async def test_cache_lifetime_never_outlives_the_link(db: Database) -> None:
    files = FileLinks(db, BASE, ttl=timedelta(minutes=10))
    app = web.Application()
    files.add_routes(app)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        url = await files.link(PNG, "qr.png", "image/png")
        response = await client.get(path_of(url))
        assert response.status == 200
        max_age = int(response.headers["Cache-Control"].rsplit("=", 1)[1])
        assert 590 <= max_age <= 600
        assert await files.prune() == 0


def test_file_links_are_not_created_at_import() -> None:
    import bot.files

    assert not any(isinstance(value, FileLinks) for value in vars(bot.files).values())
