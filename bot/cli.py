"""The ``sangkien`` command: ``run``, ``db upgrade``, ``db backup FILE``, ``units import FILE``…

Only argparse is imported up front, so ``--help`` answers at once. The settings (pydantic-settings), the database
(SQLAlchemy, Alembic) and aiogram are imported inside the commands that need them; only ``run`` imports aiogram."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.db import Database

EXIT_CONFIG = 2
RAW = argparse.RawDescriptionHelpFormatter

MAIN_HELP = """\
Sáng kiến Bot: a Telegram and Zalo bot where trade-union members write up and register their initiatives (sáng kiến),
and support teams review them. Settings come from the environment or from .env in the working directory
(BOT_TOKEN, DATABASE_URL, …; see .env.example). Run `sangkien COMMAND --help` for each command."""

MAIN_EXAMPLE = """\
example, the first hour:
  cp .env.example .env                     # put the token from @BotFather in BOT_TOKEN
  sangkien units import examples/units.csv # your units (code,name,parent_code), or: sangkien demo load
  sangkien run                             # migrate the database and start the bot

exit status: 0 done; 2 a configuration, file or database problem (one line on stderr says which)"""

RUN_HELP = """\
Apply the database migrations, register the command menu (Vietnamese and English) and answer Telegram and/or
Zalo with long polling until SIGINT (Ctrl-C) or SIGTERM; the updates in flight are finished before it exits with
status 0. Needs BOT_TOKEN (Telegram), ZALO_BOT_TOKEN (Zalo), or both. With PUBLIC_BASE_URL it also serves the
charts and files Zalo links to, on WEBHOOK_HOST:WEBHOOK_PORT. Without units in the database nobody can
register: the log says so at start.
With --webhook, the platforms deliver the updates over HTTPS instead (through your reverse proxy); each delivery
is answered only after it is handled."""

RUN_EXAMPLE = """\
example:
  sangkien run
  PUBLIC_BASE_URL=https://bot.example.org WEBHOOK_SECRET=… sangkien run --webhook
  DATABASE_URL=postgresql://sangkien:secret@db.example.org/sangkien REDIS_URL=redis://127.0.0.1:6379/0 sangkien run"""

DB_HELP = "Database maintenance: apply the migrations, or copy the database while the bot runs."

DB_EXAMPLE = """\
example:
  sangkien db upgrade
  sangkien db backup backups/sangkien.db"""

UPGRADE_HELP = """\
Create the database if needed (the SQLite folder too) and apply the Alembic migrations, then exit.
`sangkien run` does this by itself; use it to prepare a database or to check that DATABASE_URL works."""

UPGRADE_EXAMPLE = """\
example:
  sangkien db upgrade
  DATABASE_URL=sqlite+aiosqlite:///./data/demo.db sangkien db upgrade"""

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

UNITS_HELP = "The union units (the tree of công đoàn and their quotas): load them from a file, or write them out."

UNITS_EXAMPLE = """\
example:
  sangkien units import examples/units.csv
  sangkien units export units.xlsx"""

FILE_FORMATS = """\
The file may be .xlsx (first sheet) or .csv as Excel, LibreOffice or Notepad save it: UTF-8 (with or without
BOM), UTF-16, Windows-1258 or Windows-1252, separated by commas, semicolons or tabs. The first row names the
columns. Every problem is reported at once, each bad row with its row number as Excel shows it (the header is row
1) and how to fix it; when there is any problem nothing is imported (exit status 2)."""

UNITS_IMPORT_HELP = f"""\
Load or update the unit tree from FILE. Columns: code, name, parent_code (empty for the top unit), and optionally
kind (e.g. province, district, grassroots), bloc (emulation bloc, khối thi đua), quota (the whole programme) and
quota_<PHASE CODE> per phase (e.g. quota_GD1; load the phases first). A unit is matched by its code: a code
already in the database is updated, a new one is added; a parent may be in the file or already in the database.
Unknown parents, codes given twice and cycles are refused.

{FILE_FORMATS}"""

UNITS_IMPORT_EXAMPLE = """\
example file (units.csv):
  code,name,parent_code,kind,quota
  LS,Liên đoàn Lao động tỉnh Lạng Sơn,,province,4100
  LS-TD,Liên đoàn Lao động huyện Tràng Định,LS,district,265

example:
  sangkien units import units.csv
  sangkien units import "Danh sach don vi.xlsx\""""

UNITS_EXPORT_HELP = """\
Write every unit with its quotas to FILE in the import format (code, name, parent_code, kind, bloc, quota,
quota_<PHASE>…), as .xlsx or as .csv (UTF-8 with BOM, which Excel opens correctly), by FILE's extension. Edit it
and load it back with `sangkien units import`."""

UNITS_EXPORT_EXAMPLE = """\
example:
  sangkien units export units.xlsx
  sangkien units export backups/units.csv"""

PHASES_HELP = "The programme phases (giai đoạn), with which quotas and progress are counted."

PHASES_EXAMPLE = """\
example:
  sangkien phases import phases.csv"""

PHASES_IMPORT_HELP = f"""\
Load or update the programme phases from FILE. Columns: code, name, start, end; dates as 08/01/2022
(day/month/year) or 2022-01-08. A phase is matched by its code. Load the phases before units with quota_<PHASE>
columns.

{FILE_FORMATS}"""

PHASES_IMPORT_EXAMPLE = """\
example file (phases.csv):
  code,name,start,end
  GD1,Giai đoạn 1,08/01/2022,31/05/2022
  GD2,Giai đoạn 2,01/06/2022,01/09/2023

example:
  sangkien phases import phases.csv"""

DEMO_HELP = "Demonstration data, to see the bot's reports working before your own units are loaded."

DEMO_EXAMPLE = """\
example:
  DATABASE_URL=sqlite+aiosqlite:///./data/demo.db sangkien demo load"""

DEMO_LOAD_HELP = """\
Load units, quotas, two phases and about 28,600 initiatives built from the programme's published figures into
an empty database. A database that already has units is refused (the demo would be merged into your tree): give
the demo its own database with DATABASE_URL. Then put your Telegram id in ADMIN_IDS, start the bot with the same
DATABASE_URL and send it /progress TLD."""

DEMO_LOAD_EXAMPLE = """\
example:
  DATABASE_URL=sqlite+aiosqlite:///./data/demo.db sangkien demo load
  DATABASE_URL=sqlite+aiosqlite:///./data/demo.db ADMIN_IDS=123456789 sangkien run"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sangkien", description=MAIN_HELP, epilog=MAIN_EXAMPLE, formatter_class=RAW)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run the bot (long polling, or --webhook)",
        description=RUN_HELP,
        epilog=RUN_EXAMPLE,
        formatter_class=RAW,
    )
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates by webhook instead: serve WEBHOOK_HOST:WEBHOOK_PORT (default 127.0.0.1:8080) with "
        "/webhook/telegram, /healthz and /metrics, and register PUBLIC_BASE_URL/webhook/telegram with setWebhook "
        "(needs PUBLIC_BASE_URL and WEBHOOK_SECRET; a refused setWebhook exits with status 2)",
    )
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="with --webhook: N worker processes on the same port (needs PostgreSQL and REDIS_URL); a worker that "
        "dies is started again",
    )
    db = sub.add_parser("db", help="database maintenance", description=DB_HELP, epilog=DB_EXAMPLE, formatter_class=RAW)
    db_sub = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_sub.add_parser(
        "upgrade",
        help="apply the database migrations",
        description=UPGRADE_HELP,
        epilog=UPGRADE_EXAMPLE,
        formatter_class=RAW,
    )
    backup = db_sub.add_parser(
        "backup",
        help="write a consistent copy of the SQLite database while the bot runs (PostgreSQL: shows pg_dump)",
        description=BACKUP_HELP,
        epilog=BACKUP_EXAMPLE,
        formatter_class=RAW,
    )
    backup.add_argument(
        "file", metavar="FILE", type=Path, help="the copy to write, e.g. backups/sangkien-2024-05-01.db"
    )
    backup.add_argument("--force", action="store_true", help="replace FILE if it already exists")
    units = sub.add_parser(
        "units", help="the union units", description=UNITS_HELP, epilog=UNITS_EXAMPLE, formatter_class=RAW
    )
    units_sub = units.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = units_sub.add_parser(
        "import",
        help="load or update units from CSV or XLSX (code,name,parent_code[,kind,bloc,quota…])",
        description=UNITS_IMPORT_HELP,
        epilog=UNITS_IMPORT_EXAMPLE,
        formatter_class=RAW,
    )
    imp.add_argument("file", metavar="FILE", type=Path, help="the .csv or .xlsx file to load")
    exp = units_sub.add_parser(
        "export",
        help="write the units and their quotas to CSV or XLSX, in the import format",
        description=UNITS_EXPORT_HELP,
        epilog=UNITS_EXPORT_EXAMPLE,
        formatter_class=RAW,
    )
    exp.add_argument("file", metavar="FILE", type=Path, help="the .csv or .xlsx file to write (replaced if it exists)")
    phases = sub.add_parser(
        "phases", help="programme phases", description=PHASES_HELP, epilog=PHASES_EXAMPLE, formatter_class=RAW
    )
    phases_sub = phases.add_subparsers(dest="action", required=True, metavar="ACTION")
    pimp = phases_sub.add_parser(
        "import",
        help="load or update phases from CSV or XLSX (code,name,start,end)",
        description=PHASES_IMPORT_HELP,
        epilog=PHASES_IMPORT_EXAMPLE,
        formatter_class=RAW,
    )
    pimp.add_argument("file", metavar="FILE", type=Path, help="the .csv or .xlsx file to load")
    demo = sub.add_parser(
        "demo", help="demonstration data", description=DEMO_HELP, epilog=DEMO_EXAMPLE, formatter_class=RAW
    )
    demo_sub = demo.add_subparsers(dest="action", required=True, metavar="ACTION")
    demo_sub.add_parser(
        "load",
        help="load units, quotas and initiatives built from the programme's published figures",
        description=DEMO_LOAD_HELP,
        epilog=DEMO_LOAD_EXAMPLE,
        formatter_class=RAW,
    )
    return parser


class Refused(Exception):
    """A command that cannot go on; the message is what to print after ``sangkien: ``."""


def _load_settings() -> Settings:
    from pydantic import ValidationError
    from pydantic_settings.exceptions import SettingsError

    from bot.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        # "DATABASE_URL is not a database URL; …" names its variable itself; "LOG_LEVEL: Input should be …" not
        problems, named = [], True
        for error in exc.errors():
            name, message = "_".join(map(str, error["loc"])).upper(), error["msg"].removeprefix("Value error, ")
            named = named and message.startswith(name)
            problems.append(message if message.startswith(name) else f"{name}: {message}")
        raise Refused(("" if named else "configuration error: ") + "; ".join(problems)) from None
    except UnicodeDecodeError:
        raise Refused("configuration error: .env is not UTF-8 text; save it as UTF-8") from None
    except SettingsError as exc:
        raise Refused(f"configuration error: {exc}") from None


async def _open(settings: Settings) -> Database:
    """The database, migrated (without importing aiogram, as ``bot.runner`` would)."""
    from storage.migrate import open_migrated

    return await open_migrated(settings.database_url, settings.busy_timeout_ms, settings.database_pool_size)


async def _db_upgrade(settings: Settings) -> str:
    db = await _open(settings)
    await db.close()
    return f"database {db.safe_url} is up to date"


async def _demo(settings: Settings) -> str:
    from storage.demo import DemoRefused, check_fresh, load_demo

    db = await _open(settings)
    try:
        await check_fresh(db)
        count = await load_demo(db)
    except DemoRefused as exc:
        raise Refused(str(exc)) from None
    finally:
        await db.close()
    return f"demo loaded: {count} initiatives; see it with /progress TLD (as a bot admin, ADMIN_IDS)"


async def _units_import(settings: Settings, file: Path) -> str:
    from storage.unit_files import UnitImportError, check_units, parse_units
    from storage.units import import_units

    parsed = parse_units(file)  # a file that is no table at all fails here, before the database is opened
    db = await _open(settings)
    try:
        problems = await check_units(db, parsed)
        if problems:
            raise UnitImportError(problems, parsed.source)
        added, updated = await import_units(db, parsed.rows)
    finally:
        await db.close()
    return f"{added} unit(s) added, {updated} updated (read {file.name} as {parsed.source})"


async def _phases_import(settings: Settings, file: Path) -> str:
    from storage.unit_files import UnitImportError, parse_phases
    from storage.units import import_phases

    parsed = parse_phases(file)
    if parsed.problems:
        raise UnitImportError(parsed.problems, parsed.source)
    db = await _open(settings)
    try:
        count = await import_phases(db, parsed.rows)
    finally:
        await db.close()
    return f"{count} phase(s) loaded (read {file.name} as {parsed.source})"


async def _units_export(settings: Settings, file: Path) -> str:
    from storage.units import export_units

    db = await _open(settings)
    try:
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


def _run(settings: Settings, webhook: bool = False) -> None:
    import asyncio

    settings.check_channels()  # a token for at least one channel, checked before aiogram is imported
    if webhook:
        settings.webhook()  # PUBLIC_BASE_URL and WEBHOOK_SECRET

    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    from bot.runner import run_polling, run_webhook
    from bot.webhook import WebhookRefused
    from channels.zalo.api import ZaloError, ZaloNetworkError

    try:
        asyncio.run(run_webhook(settings) if webhook else run_polling(settings))
    except WebhookRefused as exc:
        raise Refused(str(exc)) from None
    except TelegramUnauthorizedError:
        raise Refused("Telegram refused BOT_TOKEN (unauthorized); check the token") from None
    except TelegramNetworkError as exc:
        raise Refused(f"cannot reach the Telegram Bot API: {exc}") from None
    except ZaloNetworkError as exc:
        raise Refused(f"cannot reach the Zalo Bot API: {exc}") from None
    except ZaloError as exc:
        if exc.code == 401:
            raise Refused("Zalo refused ZALO_BOT_TOKEN (unauthorized); check the token") from None
        raise Refused(f"the Zalo Bot API refused {exc}") from None


def _run_workers(settings: Settings, args: argparse.Namespace) -> None:
    from bot.workers import needs, supervise

    if not args.webhook:
        raise Refused("--workers needs --webhook: long polling is one process per bot")
    if args.workers > 64:
        raise Refused("--workers: at most 64")
    settings.check_channels()
    settings.webhook()
    if problem := needs(settings.database_url, settings.redis_url):
        raise Refused(problem)
    status = supervise(args.workers, ["run", "--webhook"])
    if status:
        raise SystemExit(status)


def _command(settings: Settings, args: argparse.Namespace) -> str | None:
    """Run the command; returns what to print, or None when it printed for itself."""
    import asyncio

    match args.command, getattr(args, "action", None):
        case "run", _ if args.workers > 1:
            _run_workers(settings, args)
            return None
        case "run", _:
            _run(settings, args.webhook)
            return None
        case "db", "upgrade":
            return asyncio.run(_db_upgrade(settings))
        case "demo", "load":
            return asyncio.run(_demo(settings))
        case "units", "import":
            return asyncio.run(_units_import(settings, args.file))
        case "units", "export":
            return asyncio.run(_units_export(settings, args.file))
        case "phases", "import":
            return asyncio.run(_phases_import(settings, args.file))
    raise AssertionError(f"unknown command {args.command} {getattr(args, 'action', '')}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _load_settings()
    except Refused as exc:
        print(f"sangkien: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    import logging

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if (args.command, getattr(args, "action", None)) == ("db", "backup"):
        return _db_backup(settings, args.file, args.force)  # needs neither the bot nor the migrations
    from storage.db import DatabaseUnavailable
    from storage.migrate import MigrationError
    from storage.unit_files import UnitImportError

    try:
        output = _command(settings, args)
    except UnitImportError as exc:
        read_as = f" (read as {exc.source})" if exc.source else ""
        if len(exc.problems) == 1:
            print(f"sangkien: nothing imported from {args.file}{read_as}: {exc.problems[0]}", file=sys.stderr)
        else:
            print(
                f"sangkien: nothing imported from {args.file}{read_as}; {len(exc.problems)} problems to fix, "
                "then import it again:\n  " + "\n  ".join(exc.problems),
                file=sys.stderr,
            )
        return EXIT_CONFIG
    except (Refused, ValueError, DatabaseUnavailable, MigrationError, OSError) as exc:
        print(f"sangkien: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0
    if output is not None:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
