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
    monkeypatch.setenv("SANGKIEN_DATA_DIR", str(tmp_path / "data"))  # not the home folder's (bot.settings.data_dir)
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
    assert err.strip() == (
        "sangkien: BOT_TOKEN is not set (put it in the environment or in .env; ZALO_BOT_TOKEN for Zalo)"
    )


def test_bad_setting_is_one_clear_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    assert main(["run"]) == 2
    assert capsys.readouterr().err.startswith("sangkien: configuration error: LOG_LEVEL")


ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [
    [],
    ["run"],
    ["db"],
    ["db", "upgrade"],
    ["db", "backup"],
    ["units"],
    ["units", "import"],
    ["units", "export"],
    ["phases"],
    ["phases", "import"],
    ["demo"],
    ["demo", "load"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "sangkien")
def test_every_help_page_says_what_it_does_and_gives_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sangkien {' '.join(command)}".rstrip())
    assert "example" in out and f"sangkien {' '.join(command)}".rstrip() in out.split("example", 1)[1]
    description = out.split("\n\n")[1]
    assert len(description) > 60, description  # a sentence or more, not the bare usage line
    if command[-1:] in (["import"], ["export"], ["backup"]):
        assert "FILE" in out


def test_db_backup_help_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import BACKUP_EXAMPLE, BACKUP_HELP

    with pytest.raises(SystemExit):
        main(["db", "backup", "--help"])
    out = capsys.readouterr().out
    assert BACKUP_HELP in out and BACKUP_EXAMPLE in out and "--force" in out


def unit_count(env: Path, name: str = "sangkien.db") -> int:
    return int(sqlite3.connect(env / "data" / name).execute("SELECT count(*) FROM unit").fetchone()[0])


def test_units_import_of_a_vietnamese_excel_csv(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_unit_files import NAMES, cp1258, units_text

    (env / "don_vi.csv").write_bytes(cp1258(units_text(";")))
    assert main(["units", "import", "don_vi.csv"]) == 0
    out = capsys.readouterr().out
    assert "4 unit(s) added, 0 updated (read don_vi.csv as CSV, Windows-1258, semicolon-separated)" in out
    conn = sqlite3.connect(env / "data" / "sangkien.db")
    assert dict(conn.execute("SELECT code, name FROM unit").fetchall()) == NAMES


def test_a_file_with_three_faults_reports_all_three_and_imports_nothing(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "units.csv").write_text(
        "code,name,parent_code\n"
        "LS,Liên đoàn Lao động tỉnh Lạng Sơn,\n"
        "LS TD,Liên đoàn Lao động huyện Tràng Định,LS\n"  # row 3: a space in the code
        "LS-CL,,LS\n"  # row 4: no name
        "LS-VL,Liên đoàn Lao động huyện Văn Lãng,L-S\n",  # row 5: no such parent (found with the database)
        encoding="utf-8",
    )
    assert main(["units", "import", "units.csv"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == (
        "sangkien: nothing imported from units.csv (read as CSV, UTF-8, comma-separated); 3 problems to fix, "
        "then import it again:"
    )
    assert [line.split(":")[0] for line in lines[1:]] == ["  row 3", "  row 4", "  row 5"]
    assert "bad code 'LS TD'" in lines[1] and "the name is empty" in lines[2] and "unknown parent_code L-S" in lines[3]
    assert unit_count(env) == 0  # LS was fine, and still nothing was applied


def test_a_text_file_named_xlsx_is_one_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "units.xlsx").write_text(UNITS, encoding="utf-8")
    assert main(["units", "import", "units.xlsx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("sangkien: nothing imported from units.xlsx: units.xlsx is named .xlsx but is not an Excel")


def test_a_missing_file_is_one_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "import", "khong-co.csv"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == "sangkien: nothing imported from khong-co.csv: khong-co.csv: cannot read it (No such file or directory)\n"
    )


def test_phases_import_reports_every_bad_row(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "phases.csv").write_text(
        "code;name;start;end\nGD1;Giai đoạn 1;08/01/2022;31/05/2022\nGD2;;1/6/2022;\n"
        "GD 3;Giai đoạn 3;2024-01-01;2023-01-01\n",
        encoding="utf-8-sig",
    )
    assert main(["phases", "import", "phases.csv"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "(read as CSV, UTF-8 with BOM, semicolon-separated); 4 problems to fix" in err[0]
    assert [line.split(":")[0] for line in err[1:]] == ["  row 3", "  row 3", "  row 4", "  row 4"]
    (env / "phases.csv").write_text("code;name;start;end\nGD1;Giai đoạn 1;08/01/2022;31/05/2022\n", encoding="utf-8")
    assert main(["phases", "import", "phases.csv"]) == 0
    assert "1 phase(s) loaded (read phases.csv as CSV, UTF-8, semicolon-separated)" in capsys.readouterr().out


def test_demo_load_refuses_a_database_that_has_units(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "units.csv").write_text(UNITS, encoding="utf-8")
    assert main(["units", "import", "units.csv"]) == 0
    capsys.readouterr()
    assert main(["demo", "load"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"sangkien: sqlite+aiosqlite:///{env / 'data' / 'sangkien.db'} already has 2"
    )
    assert "DATABASE_URL=sqlite+aiosqlite:///./data/demo.db sangkien demo load" in err
    assert unit_count(env) == 2
    conn = sqlite3.connect(env / "data" / "sangkien.db")
    assert conn.execute("SELECT count(*) FROM initiative").fetchone()[0] == 0


def test_the_env_example_token_is_refused(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / ".env").write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["run"]) == 2
    assert (
        capsys.readouterr().err
        == "sangkien: BOT_TOKEN is not set (put it in the environment or in .env; ZALO_BOT_TOKEN for Zalo)\n"
    )


@pytest.mark.parametrize(
    "token", ["123456789:replace-with-the-token-from-BotFather", "123456:YOUR_TOKEN_HERE", "123456:changeme"]
)
def test_a_placeholder_token_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", token)
    assert main(["run"]) == 2
    assert capsys.readouterr().err == (
        "sangkien: BOT_TOKEN is still a placeholder: put the token @BotFather gave you in BOT_TOKEN in .env\n"
    )


@pytest.mark.parametrize("token", ["123456:ABC def", "abc:DEF", "123456:", "123456:<token>"])
def test_a_malformed_token_is_one_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", token)
    assert main(["run"]) == 2
    assert capsys.readouterr().err.startswith("sangkien: BOT_TOKEN is malformed")


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://sangkien:secret@db.example.org:5432/sangkien", "postgresql+asyncpg://sangkien:secret@db.example.org:5432/sangkien"),
        ("postgres://u:p%40ss@localhost/sk", "postgresql+asyncpg://u:p%40ss@localhost/sk"),
        ("postgresql+asyncpg://u@h/sk", "postgresql+asyncpg://u@h/sk"),
        ("postgresql:///sk", "postgresql+asyncpg:///sk"),  # the local socket
        ("sqlite:///./data/x.db", "sqlite+aiosqlite:///./data/x.db"),
        (" sqlite+aiosqlite:////var/lib/sangkien/sk.db ", "sqlite+aiosqlite:////var/lib/sangkien/sk.db"),
    ],
)  # fmt: skip
def test_database_urls_get_the_async_driver(given: str, used: str) -> None:
    from bot.settings import Settings

    assert Settings(_env_file=None, database_url=given).database_url == used  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "url",
    [
        "data/sangkien.db",
        "mysql://sangkien:hunter2@db/sk",
        "postgresql://sangkien:hunter2@db:port/sk",
        "postgresql+psycopg2://sangkien:hunter2@db/sk",
        "sqlite+aiosqlite://./data/sangkien.db",
        "sangkien:hunter2@db://sk",
    ],
)
def test_a_bad_database_url_is_one_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sangkien: DATABASE_URL ")
    assert "hunter2" not in err and "Traceback" not in err


ZALO_TOKEN = "738499441022218443:TEST-zalo-token-2b7e151628aed2a6"


@pytest.mark.parametrize("url", ["bot.example.org", "bot.example.org:8443", "https://", "https://bot.example.org:x"])
def test_a_bad_public_base_url_is_one_line_even_when_polling(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("ZALO_BOT_TOKEN", ZALO_TOKEN)
    monkeypatch.setenv("PUBLIC_BASE_URL", url)
    assert main(["run"]) == 2
    assert capsys.readouterr().err == (
        "sangkien: PUBLIC_BASE_URL must be an address like https://bot.example.org (with https://)\n"
    )


def test_a_zalo_webhook_secret_under_8_characters_is_refused_before_starting(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.settings import Settings

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://bot.example.org/")
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret7")
    monkeypatch.setenv("BOT_TOKEN", "123456:ABC-def")
    assert Settings(_env_file=None).webhook() == ("https://bot.example.org", "s3cret7")  # Telegram takes 1 to 256
    monkeypatch.setenv("ZALO_BOT_TOKEN", ZALO_TOKEN)
    assert main(["run", "--webhook"]) == 2
    assert capsys.readouterr().err == (
        "sangkien: WEBHOOK_SECRET is too short for Zalo's webhook: 7 characters, Zalo needs 8 to 256 (e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)\n"
    )
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret78")
    assert Settings(_env_file=None).webhook() == ("https://bot.example.org", "s3cret78")


def test_plain_http_for_zalo_is_warned_about_unless_local() -> None:
    from bot.settings import plain_http_warning

    assert "not https://" in (plain_http_warning("http://bot.example.org", zalo_on=True) or "")
    for url, zalo_on in (("http://bot.example.org", False), ("https://bot.example.org", True),
                         ("http://127.0.0.1:8080", True), ("http://localhost:8080", True), (None, True)):  # fmt: skip
        assert plain_http_warning(url, zalo_on) is None, url
