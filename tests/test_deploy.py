"""The deployment files (Dockerfile, compose.yaml, deploy/) and where the default database lives.

The default SQLite file never depends on the folder a service happens to start in: ``bot.settings.data_dir``
gives SANGKIEN_DATA_DIR, else ``data`` in a checkout of this project (``make run``), else /var/lib/sangkien when
it may be written, else ``~/.local/share/sangkien``; docs/DEPLOY.md explains the same rule."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot import settings as settings_module
from bot.settings import Settings, data_dir, is_checkout

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def default_database() -> Path:
    """The SQLite file the settings choose when DATABASE_URL is not set."""
    url = make_url(Settings(_env_file=None).database_url)  # type: ignore[call-arg]
    assert url.drivername == "sqlite+aiosqlite" and url.database
    return Path(url.database)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder that is not a checkout; no /var/lib/sangkien; a home folder of its own."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("DATABASE_URL", "SANGKIEN_DATA_DIR", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(settings_module, "SYSTEM_DATA_DIR", tmp_path / "no-such-dir")
    return work


# --- the default database path -----------------------------------------------------------------------------------


def test_in_the_checkout_the_database_is_data_sangkien_db_there(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` keeps working as before: data/sangkien.db in the checkout, now as an absolute path."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("SANGKIEN_DATA_DIR", raising=False)
    assert is_checkout(ROOT)
    path = default_database()
    assert path.is_absolute() and path == ROOT / "data" / "sangkien.db"


def test_outside_a_checkout_the_home_data_folder(elsewhere: Path, tmp_path: Path) -> None:
    path = default_database()
    assert path == tmp_path / "home" / ".local" / "share" / "sangkien" / "sangkien.db"
    assert not (elsewhere / "data").exists()  # nothing relative to where the command started


def test_xdg_data_home_is_respected(elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_database() == tmp_path / "xdg" / "sangkien" / "sangkien.db"


def test_a_writable_var_lib_sangkien_is_the_server_default(
    elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "var-lib-sangkien"
    system.mkdir()
    monkeypatch.setattr(settings_module, "SYSTEM_DATA_DIR", system)
    assert default_database() == system / "sangkien.db"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder, so a read-only one cannot be made")
def test_a_var_lib_sangkien_that_cannot_be_written_is_passed_over(
    elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "var-lib-sangkien"
    system.mkdir(mode=0o555)
    monkeypatch.setattr(settings_module, "SYSTEM_DATA_DIR", system)
    assert default_database() == tmp_path / "home" / ".local" / "share" / "sangkien" / "sangkien.db"


def test_sangkien_data_dir_wins_and_is_made_absolute(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANGKIEN_DATA_DIR", "state")
    assert default_database() == elsewhere / "state" / "sangkien.db"
    monkeypatch.chdir(ROOT)  # even in the checkout
    monkeypatch.setenv("SANGKIEN_DATA_DIR", str(elsewhere / "srv"))
    assert default_database() == elsewhere / "srv" / "sangkien.db"


def test_an_empty_setting_means_not_set(elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`DATABASE_URL=` and `SANGKIEN_DATA_DIR=` left empty in an env file are the defaults, not errors."""
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("SANGKIEN_DATA_DIR", " ")
    assert default_database() == tmp_path / "home" / ".local" / "share" / "sangkien" / "sangkien.db"


def test_database_url_wins_over_the_data_folder(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANGKIEN_DATA_DIR", str(elsewhere / "srv"))
    url = "postgresql+asyncpg://sangkien@db/sangkien"
    assert Settings(_env_file=None, database_url=url).database_url == url  # type: ignore[call-arg]


def test_another_projects_pyproject_is_not_a_checkout(elsewhere: Path) -> None:
    (elsewhere / "pyproject.toml").write_text('[project]\nname = "something-else"\n', encoding="utf-8")
    assert not is_checkout(elsewhere)
    (elsewhere / "pyproject.toml").write_text("not toml [", encoding="utf-8")
    assert not is_checkout(elsewhere)
    assert data_dir() != elsewhere / "data"


# --- the files a deployment uses ---------------------------------------------------------------------------------


def test_the_systemd_unit_has_what_the_guide_says() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(DEPLOY / "sangkien.service", encoding="utf-8")
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["User"] == "sangkien" and service["Group"] == "sangkien"
    assert service["EnvironmentFile"] == "/etc/sangkien/sangkien.env"
    assert service["StateDirectory"] == "sangkien" and service["WorkingDirectory"] == "/var/lib/sangkien"
    assert service["Restart"] == "on-failure"
    assert service["ExecStart"].split()[1:] == ["run"]
    assert service["ExecStart"].startswith("/")  # systemd needs an absolute path
    assert service["KillSignal"] == "SIGTERM"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    text = (DEPLOY / "sangkien.service").read_text(encoding="utf-8")
    assert "Environment=SANGKIEN_DATA_DIR=/var/lib/sangkien" in text
    assert "Environment=LOCALES_DIR=" in text  # an installed package finds its .po files


def test_systemd_knows_every_key_of_the_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify` (no running systemd needed) on a copy whose command exists on this machine."""
    analyze, true = shutil.which("systemd-analyze"), shutil.which("true")
    if analyze is None or true is None:
        pytest.skip("systemd-analyze is not installed")
    text = (DEPLOY / "sangkien.service").read_text(encoding="utf-8")
    (tmp_path / "sangkien.service").write_text(text.replace("/opt/sangkien/venv/bin/sangkien", true), encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(tmp_path / "sangkien.service")], capture_output=True, text=True)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "sangkien.service" in line]
    assert result.returncode == 0 and not complaints, complaints


def test_the_dockerfile_has_what_the_guide_says() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert stages == ["FROM python:3.11-slim AS build", "FROM python:3.11-slim"]
    final = lines[lines.index(stages[-1]) :]
    assert "USER sangkien" in final  # not root
    assert 'ENTRYPOINT ["docker-entrypoint.sh"]' in final and 'CMD ["run"]' in final
    assert 'VOLUME ["/data"]' in final and "WORKDIR /data" in final
    assert any("SANGKIEN_DATA_DIR=/data" in line for line in final)
    assert any("LOCALES_DIR=/opt/sangkien/locales" in line for line in final)
    assert "COPY locales /opt/sangkien/locales" in final
    assert any("pip install ." in line for line in lines)
    entry = (DEPLOY / "docker-entrypoint.sh").read_text(encoding="utf-8")
    assert 'exec sangkien "$@"' in entry
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored and "data/" in ignored and ".git/" in ignored


def test_the_entrypoint_accepts_the_command_with_or_without_sangkien(tmp_path: Path) -> None:
    """`docker compose run --rm bot sangkien units import …` and `… bot units import …` run the same command."""
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no sh to run deploy/docker-entrypoint.sh")
    fake = tmp_path / "sangkien"
    fake.write_text('#!/bin/sh\necho "$@"\n', encoding="utf-8")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"}
    for args in (["sangkien", "units", "import", "/data/units.xlsx"], ["units", "import", "/data/units.xlsx"]):
        out = subprocess.run(
            [shell, str(DEPLOY / "docker-entrypoint.sh"), *args], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout == "units import /data/units.xlsx\n"


def test_compose_keeps_secrets_in_the_env_file() -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    for secret in ("BOT_TOKEN:", "WEBHOOK_SECRET:", "BOT_TOKEN=", "WEBHOOK_SECRET="):
        assert secret not in text
    assert "env_file: .env" in text and "${POSTGRES_PASSWORD:?" in text
    assert "image: postgres:15" in text and "image: redis:7" in text
    assert 'command: ["run", "--webhook"]' in text


def docker_compose_missing() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return "the docker command is not installed"
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return "the docker compose plugin is not installed (`docker compose version` fails)"
    return None


def test_docker_compose_config_accepts_compose_yaml(tmp_path: Path) -> None:
    """`docker compose config` needs no Docker engine; it is skipped only when the tool itself is missing."""
    if reason := docker_compose_missing():
        pytest.skip(reason)
    shutil.copy(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    (tmp_path / ".env").write_text(
        "BOT_TOKEN=123456:ABCdef\nPOSTGRES_PASSWORD=test1234\nPUBLIC_BASE_URL=https://bot.example.org\n"
        "WEBHOOK_SECRET=test-secret\n",
        encoding="utf-8",
    )
    result = subprocess.run(["docker", "compose", "config"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "postgresql+asyncpg://sangkien:test1234@postgres:5432/sangkien" in result.stdout
    assert "service_healthy" in result.stdout
    (tmp_path / ".env").write_text("BOT_TOKEN=123456:ABCdef\n", encoding="utf-8")
    missing = subprocess.run(["docker", "compose", "config"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "POSTGRES_PASSWORD" in missing.stderr


def test_the_nginx_example_passes_nginx_t(tmp_path: Path) -> None:
    """The example, with a throw-away certificate instead of certbot's, inside a minimal nginx.conf."""
    nginx, openssl = shutil.which("nginx"), shutil.which("openssl")
    if nginx is None:
        pytest.skip("nginx is not installed")
    if openssl is None:
        pytest.skip("openssl is not installed (needed for a throw-away certificate)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=bot.example.org",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    site = site.replace("/etc/letsencrypt/live/bot.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/bot.example.org/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    temp = "\n".join(
        f"    {name}_temp_path {tmp_path / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp}\n    include {tmp_path / 'site.conf'};\n}}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
