"""The first hour of the person who deploys the bot, as separate ``sangkien`` processes: quick answers (no aiogram
unless the bot runs), one clear line for each mistake, and no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.test_unit_files import cp1258, units_text

ROOT = Path(__file__).resolve().parent.parent


def sangkien(cwd: Path, *args: str, importtime: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
    flags = ["-X", "importtime"] if importtime else []
    # the default database in cwd/data, not in the home folder (a temporary folder is not a checkout)
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "SANGKIEN_DATA_DIR": str(cwd / "data"), **env}
    return subprocess.run(
        [sys.executable, *flags, "-m", "bot.cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def imported(stderr: str) -> set[str]:
    """The modules named in ``-X importtime`` output."""
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_help_imports_neither_aiogram_nor_the_settings(tmp_path: Path) -> None:
    result = sangkien(tmp_path, "--help", importtime=True)
    assert result.returncode == 0 and "sangkien units import examples/units.csv" in result.stdout
    modules = imported(result.stderr)
    assert "bot.cli" in modules or "argparse" in modules  # the output is what the test reads
    heavy = {m for m in modules if m.split(".")[0] in {"aiogram", "pydantic_settings", "sqlalchemy", "alembic"}}
    assert not heavy, sorted(heavy)[:10]


def test_units_import_does_not_import_aiogram(tmp_path: Path) -> None:
    (tmp_path / "don_vi.csv").write_bytes(cp1258(units_text(";")))
    result = sangkien(tmp_path, "units", "import", "don_vi.csv", importtime=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "4 unit(s) added" in result.stdout
    modules = imported(result.stderr)
    assert "storage.unit_files" in modules
    assert not {m for m in modules if m.split(".")[0] == "aiogram"}


def test_the_first_hour(tmp_path: Path) -> None:
    """cp .env.example .env; sangkien run; sangkien units import …; sangkien demo load: each mistake is one line."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    run = sangkien(tmp_path, "run")
    assert (run.returncode, run.stderr) == (
        2,
        "sangkien: BOT_TOKEN is not set (put it in the environment or in .env; ZALO_BOT_TOKEN for Zalo)\n",
    )

    (tmp_path / "units.xlsx").write_bytes(cp1258(units_text(";")))  # saved as CSV, named .xlsx
    fake = sangkien(tmp_path, "units", "import", "units.xlsx")
    assert fake.returncode == 2 and fake.stderr.count("\n") == 1 and "rename it to .csv" in fake.stderr

    (tmp_path / "units.xlsx").rename(tmp_path / "units.csv")
    loaded = sangkien(tmp_path, "units", "import", "units.csv")
    assert loaded.returncode == 0, loaded.stderr
    assert "4 unit(s) added, 0 updated (read units.csv as CSV, Windows-1258, semicolon-separated)" in loaded.stdout

    demo = sangkien(tmp_path, "demo", "load")
    assert demo.returncode == 2 and demo.stderr.count("\n") == 1, demo.stderr
    assert "DATABASE_URL=sqlite+aiosqlite:///./data/demo.db sangkien demo load" in demo.stderr

    bad_url = sangkien(tmp_path, "db", "upgrade", DATABASE_URL="postgresql://sangkien:hunter2@db:port/sk")
    assert bad_url.returncode == 2 and bad_url.stderr.count("\n") == 1
    assert bad_url.stderr.startswith("sangkien: DATABASE_URL cannot be read (is the port a number?); write it like")
    assert "hunter2" not in bad_url.stderr
    for result in (run, fake, loaded, demo, bad_url):
        assert "Traceback" not in result.stderr


async def test_the_first_admin_who_writes_is_told_to_load_units(tmp_path: Path) -> None:
    """A bot started on an empty database: an administrator hears what to run; anyone else gets the usual answer."""
    from storage.unit_files import count_units
    from tests.conftest import build_app, close_app, make_settings
    from tests.fake_telegram import FakeTelegram

    fake = FakeTelegram()
    await fake.start()
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", fake, admin_ids=[5001])
    app = await build_app(fake, settings)
    try:
        assert await count_units(app.db) == 0
        admin = app.user(5001)
        replies = await admin.send("/start")
        assert "sangkien units import" in replies[-1].text and "sangkien demo load" in replies[-1].text
        stranger = app.user(5002)
        replies = await stranger.send("/start")
        assert "sangkien units import" not in " ".join(r.text for r in replies)
    finally:
        await close_app(app)
        await fake.stop()


async def test_profile_shows_the_telegram_id_even_before_registering(tmp_path: Path) -> None:
    """Whoever sets the bot up needs their own id for ADMIN_IDS (docs/DEPLOY.md says /profile shows it)."""
    from tests.conftest import build_app, close_app, make_settings, register
    from tests.fake_telegram import FakeTelegram

    fake = FakeTelegram()
    await fake.start()
    app = await build_app(fake, make_settings(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", fake), units=True)
    try:
        person = app.user(777_123)
        replies = await person.send("/profile")
        assert "777123" in replies[-1].text and "ADMIN_IDS" in replies[-1].text
        await register(person)
        replies = await person.send("/profile")
        assert "777123" in replies[-1].text
    finally:
        await close_app(app)
        await fake.stop()
