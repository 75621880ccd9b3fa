"""Shared fixtures: isolated settings and databases (SQLite always; PostgreSQL when
EE_TEST_DATABASE_URL is set, which CI always does), actor identity, and the CLI runner.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("EE_TEST_DATABASE_URL", "")
MARIADB_URL = os.environ.get("EE_TEST_MARIADB_URL", "")
REQUIRE_SERVERS = os.environ.get("EE_TEST_REQUIRE_SERVERS") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip server tests, saying why, when no server is configured; CI forbids that."""
    for marker, url, variable in (("postgres", PG_URL, "EE_TEST_DATABASE_URL"),
                                  ("mariadb", MARIADB_URL, "EE_TEST_MARIADB_URL")):
        if url:
            continue
        if REQUIRE_SERVERS:
            raise pytest.UsageError(f"{variable} is not set but EE_TEST_REQUIRE_SERVERS=1")
        reason = f"{variable} not set: no {marker} server for this run (.ci/run always sets it)"
        for item in items:
            # A test needs the server when it is marked so, or when it asks for the pg_url fixture.
            if marker in item.keywords or (marker == "postgres" and "pg_url" in item.fixturenames):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own state dir, no env file, no stray EE_ settings, fresh caches."""
    for name in list(os.environ):
        if name.startswith("EE_") and not name.startswith("EE_TEST_"):
            monkeypatch.delenv(name, raising=False)
    for name in ("SUDO_USER", "INVOCATION_ID", "CREDENTIALS_DIRECTORY", "STATE_DIRECTORY", "RUNTIME_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("EE_ENV_FILE", str(tmp_path / "empty.env"))
    (tmp_path / "empty.env").write_text("")
    _clear_caches()
    yield tmp_path
    _clear_caches()


def _clear_caches() -> None:
    from emailengine.config import get_settings
    from emailengine.db.engine import dispose_engines

    get_settings.cache_clear()
    dispose_engines()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (search_path) per test, dropped afterwards."""
    if not PG_URL:  # unreachable: the collection hook skips (or, under CI, refuses) such tests
        pytest.fail("pg_url used without EE_TEST_DATABASE_URL")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Parametrised: the same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def use_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point EE_DATABASE_URL at the test database (migrated on first use / by fixture)."""
    monkeypatch.setenv("EE_DATABASE_URL", db_url)
    _clear_caches()
    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import upgrade

    engine = create_engine_for(db_url)
    upgrade(engine, "head")
    engine.dispose()
    return db_url


@pytest.fixture
def engine(use_db: str):
    """The migrated engine of the test database."""
    from emailengine.db.engine import get_engine

    return get_engine(use_db)


@pytest.fixture
def session(engine):
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def cli():
    """Invoke `ee` in-process: cli(args...) -> Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from emailengine.cli import app

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        from emailengine.cli import report_error
        from emailengine.config import get_settings

        get_settings.cache_clear()
        result = runner.invoke(app, list(args), input=input, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            # What `ee` itself does at its edge: one line on stderr and the mapped exit code.
            code, line = report_error(result.exception)
            return CliResult(code, result.stdout, result.stderr + (line or ""), result.exception)
        return CliResult(result.exit_code, result.stdout, result.stderr, result.exception)

    return invoke


class CliResult:
    def __init__(self, exit_code: int, stdout: str, stderr: str, exception: BaseException | None) -> None:
        self.exit_code, self.stdout, self.stderr, self.exception = exit_code, stdout, stderr, exception

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self):
        import json

        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"CliResult(exit={self.exit_code}, stdout={self.stdout[-500:]!r}, stderr={self.stderr[-500:]!r})"


@pytest.fixture
def dns_server(monkeypatch: pytest.MonkeyPatch):
    """A running loopback DNS server; EE_DNS_NAMESERVERS points at it, EE_DNS_TIMEOUT is short."""
    from emailengine.standins.dns_server import DNSTestServer

    server = DNSTestServer().start()
    monkeypatch.setenv("EE_DNS_NAMESERVERS", server.nameserver)
    monkeypatch.setenv("EE_DNS_TIMEOUT", "1")
    _clear_caches()
    yield server
    server.stop()
