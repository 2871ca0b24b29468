"""The ``sangkien`` command: ``run``, ``db upgrade``, ``db backup FILE``, ``units import FILE``…"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from pydantic import ValidationError

from bot.settings import Settings
from storage.db import DatabaseUnavailable

EXIT_CONFIG = 2

BACKUP_HELP = """\
Write a consistent copy of the database to FILE while the bot keeps running.

SQLite: the copy is one snapshot of the database, taken with SQLite's online backup API from a separate
read-only connection, so the bot's writes are neither blocked nor half-copied. It is written to a temporary file
in FILE's folder, checked (PRAGMA integrity_check and foreign_key_check) and then renamed to FILE, so FILE is
never a partial copy. An existing FILE is kept unless --force is given. On success one line gives the path, the
size and the number of initiatives in the copy. To restore, stop the bot and point DATABASE_URL at the copy.

PostgreSQL: nothing is copied. The command prints the pg_dump command to run instead, built from DATABASE_URL
(the password is never printed: set PGPASSWORD yourself), and exits with status 2, because no backup was made.

Exit status: 0 the copy is written and verified; 2 nothing was written (FILE exists, the folder is missing or
not writable, the database file is missing, the copy fails its check, or the database is PostgreSQL)."""

BACKUP_EXAMPLE = """\
example:
  sangkien db backup backups/sangkien-$(date +%F).db
  sangkien db backup --force backups/latest.db"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sangkien", description="Sáng kiến Bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot with long polling")
    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply the database migrations")
    backup = db.add_parser(
        "backup",
        help="write a consistent copy of the SQLite database while the bot runs (PostgreSQL: shows pg_dump)",
        description=BACKUP_HELP,
        epilog=BACKUP_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    backup.add_argument(
        "file", metavar="FILE", type=Path, help="the copy to write, e.g. backups/sangkien-2024-05-01.db"
    )
    backup.add_argument("--force", action="store_true", help="replace FILE if it already exists")
    units = sub.add_parser("units", help="the union units").add_subparsers(dest="action", required=True)
    imp = units.add_parser(
        "import", help="load or update units from CSV or XLSX (code,name,parent_code[,kind,bloc,quota…])"
    )
    imp.add_argument("file", type=Path)
    exp = units.add_parser("export", help="write the units and their quotas to CSV or XLSX, in the import format")
    exp.add_argument("file", type=Path)
    phases = sub.add_parser("phases", help="programme phases").add_subparsers(dest="action", required=True)
    pimp = phases.add_parser("import", help="load or update phases from CSV or XLSX (code,name,start,end)")
    pimp.add_argument("file", type=Path)
    demo = sub.add_parser("demo", help="demonstration data").add_subparsers(dest="action", required=True)
    demo.add_parser("load", help="load units, quotas and initiatives built from the programme's published figures")
    return parser


async def _db_upgrade(settings: Settings) -> str:
    from bot.runner import open_database

    db = await open_database(settings)
    await db.close()
    return f"database {db.safe_url} is up to date"


async def _demo(settings: Settings) -> str:
    from bot.runner import open_database
    from storage.demo import load_demo

    db = await open_database(settings)
    try:
        count = await load_demo(db)
    finally:
        await db.close()
    return f"demo loaded: {count} initiatives; see it with /progress TLD (as a bot admin, ADMIN_IDS)"


async def _files(settings: Settings, command: str, action: str, file: Path) -> str:
    from bot.runner import open_database
    from storage.unit_files import read_phases, read_units
    from storage.units import export_units, import_phases, import_units

    rows = read_units(file) if (command, action) == ("units", "import") else None
    phase_rows = read_phases(file) if command == "phases" else None
    db = await open_database(settings)
    try:
        if rows is not None:
            added, updated = await import_units(db, rows)
            return f"{added} unit(s) added, {updated} updated"
        if phase_rows is not None:
            return f"{await import_phases(db, phase_rows)} phase(s) loaded"
        return f"{await export_units(db, file)} unit(s) written to {file}"
    finally:
        await db.close()


def _db_backup(settings: Settings, file: Path, force: bool) -> int:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from storage.backup import BackupError, backup_sqlite, pg_dump_command

    try:
        is_sqlite = make_url(settings.database_url).drivername.startswith("sqlite")
    except ArgumentError as exc:
        print(f"sangkien: DATABASE_URL is not a database URL: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not is_sqlite:
        print(
            "sangkien: db backup copies SQLite databases only; back up PostgreSQL with pg_dump, e.g.\n"
            f"  {pg_dump_command(settings.database_url, file)}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        result = backup_sqlite(settings.database_url, file, force=force, busy_timeout_ms=settings.busy_timeout_ms)
    except BackupError as exc:
        print(f"sangkien: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(result.summary())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        print(f"sangkien: configuration error: {problems}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if (args.command, getattr(args, "action", None)) == ("db", "backup"):
        return _db_backup(settings, args.file, args.force)  # needs neither the bot nor the migrations
    from bot.runner import run_polling
    from storage.demo import DemoAlreadyLoaded
    from storage.unit_files import UnitImportError

    try:
        if args.command == "run":
            asyncio.run(run_polling(settings))
        elif args.command == "db":
            print(asyncio.run(_db_upgrade(settings)))
        elif args.command == "demo":
            print(asyncio.run(_demo(settings)))
        else:
            print(asyncio.run(_files(settings, args.command, args.action, args.file)))
    except (ValueError, DatabaseUnavailable, DemoAlreadyLoaded) as exc:
        print(f"sangkien: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except UnitImportError as exc:
        print("sangkien: nothing imported:\n  " + "\n  ".join(exc.problems), file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"sangkien: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except TelegramUnauthorizedError:
        print("sangkien: Telegram refused BOT_TOKEN (unauthorized); check the token", file=sys.stderr)
        return EXIT_CONFIG
    except TelegramNetworkError as exc:
        print(f"sangkien: cannot reach the Telegram Bot API: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
