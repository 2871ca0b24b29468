"""The ``sangkien`` command line, called in-process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main

UNITS = "code,name,parent_code\nLS,Liên đoàn Lao động tỉnh Lạng Sơn,\nLS-TD,LĐLĐ huyện Tràng Định,LS\n"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "DATABASE_URL", "TELEGRAM_API_BASE", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_db_upgrade_creates_the_default_sqlite_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    tables = {r[0] for r in sqlite3.connect(env / "data" / "sangkien.db").execute("SELECT name FROM sqlite_master")}
    assert {"member", "unit", "initiative", "author", "attachment", "event", "fsm_record"} <= tables


def test_units_import_and_reimport(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "units.csv").write_text(UNITS, encoding="utf-8")
    assert main(["units", "import", "units.csv"]) == 0
    assert "2 unit(s) added, 0 updated" in capsys.readouterr().out
    assert main(["units", "import", "units.csv"]) == 0
    assert "0 unit(s) added, 2 updated" in capsys.readouterr().out


def test_units_import_reports_bad_rows_with_their_number(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "units.csv").write_text(UNITS + "LS-X,Đơn vị lạ,KHONG-CO\n", encoding="utf-8")
    assert main(["units", "import", "units.csv"]) == 2
    err = capsys.readouterr().err
    assert "nothing imported" in err and "row 4: unknown parent_code KHONG-CO" in err


def test_missing_token_is_one_clear_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "sangkien: BOT_TOKEN is not set (put it in the environment or in .env)"


def test_bad_setting_is_one_clear_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    assert main(["run"]) == 2
    assert capsys.readouterr().err.startswith("sangkien: configuration error: LOG_LEVEL")
