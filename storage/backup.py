"""``sangkien db backup FILE``: a consistent copy of the database while the bot keeps running.

SQLite: SQLite's online backup API copies the database from a separate read-only connection in a single step,
that is inside one read transaction. In WAL mode a read transaction is a snapshot that does not block the bot's
writers, so the copy is exactly the database as it was at one commit, whatever is written meanwhile (a step-wise
backup would restart each time another connection writes, and might never finish on a busy bot). The copy goes to
a temporary file in the target's folder; it is switched to a self-contained rollback-journal file, checked with
``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``, flushed to disk, and only then renamed into place, so
FILE is either absent, the previous file (``--force``), or a whole verified copy.

PostgreSQL: nothing is copied; :func:`pg_dump_command` builds the ``pg_dump`` command to use instead.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup cannot be made; the message is one line for the person running the command."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    initiatives: int | None  # None: the database has no initiative table (not migrated)

    def summary(self) -> str:
        counted = "no initiative table" if self.initiatives is None else f"{self.initiatives} initiative(s)"
        return f"backup written to {self.path} ({self.size} bytes, {counted}, integrity ok)"


def pg_dump_command(database_url: str, file: Path | str) -> str:
    """The ``pg_dump`` command for DATABASE_URL, writing FILE; a password is shown as a PGPASSWORD placeholder."""
    url = make_url(database_url)
    host = url.host or url.query.get("host")
    args = ["pg_dump"]
    if isinstance(host, str) and host:
        args += ["--host", host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    args += ["--format=custom", "--file", str(file)]
    if url.database:
        args += ["--dbname", url.database]
    command = shlex.join(args)
    if url.password:
        command = "PGPASSWORD='<the password from DATABASE_URL>' " + command
    return command


def sqlite_file(database_url: str) -> Path:
    """The database file named by a SQLite DATABASE_URL; BackupError when there is no file to copy."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        raise BackupError(f"not a SQLite database: {url.render_as_string(hide_password=True)}")
    if not url.database or url.database == ":memory:" or url.database.startswith("file::memory:"):
        raise BackupError("the database is in memory: there is no file to back up")
    path = Path(url.database)
    if not path.is_file():
        raise BackupError(f"database file not found: {path}")
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return a.resolve() == b.resolve()


def _check_target(source: Path, target: Path, force: bool) -> None:
    live = [source, *(source.with_name(source.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]
    if any(_same_file(target, path) for path in live):
        raise BackupError(f"{target} is the live database itself; choose another file")
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give a file name, e.g. {target / 'sangkien-backup.db'}")
    if not target.parent.is_dir():
        raise BackupError(f"folder not found: {target.parent}")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; add --force to replace it")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise BackupError(f"cannot write in the folder {target.parent}: permission denied")


def _copy(source: Path, tmp: Path, busy_timeout_ms: int) -> int | None:
    """Copy SOURCE into the empty file TMP in one read transaction, make TMP self-contained, verify it."""
    src = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True, timeout=busy_timeout_ms / 1000)
    try:
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            src.backup(dst)  # pages=-1: the whole database in one step, one snapshot of the source
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"the copy fails integrity_check: {'; '.join(map(str, problems[:3]))}")
            if dst.execute("PRAGMA foreign_key_check").fetchone() is not None:
                raise BackupError("the copy fails foreign_key_check: the source database has dangling references")
            has_table = dst.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'initiative'")
            if has_table.fetchone() is None:
                return None
            return int(dst.execute("SELECT count(*) FROM initiative").fetchone()[0])
        finally:
            dst.close()
    finally:
        src.close()


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError:
        if not directory:  # some file systems cannot fsync a folder; the file itself is on disk
            raise
    finally:
        os.close(fd)


def _install(tmp: Path, target: Path, force: bool) -> None:
    """Rename TMP to TARGET atomically; without FORCE never replace a file that appeared meanwhile."""
    if force:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic and never overwrites
    except FileExistsError:
        raise BackupError(f"{target} already exists; add --force to replace it") from None
    except OSError:  # the file system has no hard links
        if target.exists():
            raise BackupError(f"{target} already exists; add --force to replace it") from None
        os.replace(tmp, target)
    else:
        tmp.unlink()


def backup_sqlite(database_url: str, target: Path, *, force: bool = False, busy_timeout_ms: int = 5000) -> BackupResult:
    """Copy the SQLite database of DATABASE_URL to TARGET while it may be in use; BackupError with one line."""
    source = sqlite_file(database_url)
    target = Path(target)
    _check_target(source, target, force)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise BackupError(f"cannot write in the folder {target.parent}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(name)
    with contextlib.suppress(OSError):  # the copy is as readable as the database, no more
        os.chmod(tmp, source.stat().st_mode & 0o777)
    try:
        try:
            initiatives = _copy(source, tmp, busy_timeout_ms)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot back up {source}: {exc}") from exc
        _fsync(tmp)
        _install(tmp, target, force)
        _fsync(target.parent, directory=True)
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        for leftover in (tmp, *(tmp.with_name(tmp.name + suffix) for suffix in ("-journal", "-wal", "-shm"))):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return BackupResult(target, target.stat().st_size, initiatives)
