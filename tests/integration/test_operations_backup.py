"""The backup script (systemd/ee-backup.sh, run by ee-backup.service) dumps a real PostgreSQL
database in custom format with retention, and the documented restore (DEPLOY.md) brings it back."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.fakes.tools import require_tools

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "systemd" / "ee-backup.sh"
PG_URL = os.environ.get("EE_TEST_DATABASE_URL", "")


@pytest.fixture
def databases():
    """Two fresh PostgreSQL databases (source and restore target), dropped afterwards."""
    require_tools("pg_dump", "pg_restore", package="postgresql-client")
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    names = [f"ee_backup_{uuid.uuid4().hex[:10]}", f"ee_restore_{uuid.uuid4().hex[:10]}"]
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = sa.engine.make_url(PG_URL)
    yield [base.set(database=name).render_as_string(hide_password=False) for name in names]
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _populate(url: str) -> dict[str, int]:
    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import upgrade

    engine = create_engine_for(url)
    upgrade(engine, "head")
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO ips (address, family, hostname, vmta, pool, host, state, state_since, warmup_day,"
            " daily_quota, hourly_quota, retire_requested, created_at) VALUES "
            "('198.51.100.10', 4, 'mta10.example.net', 'vmta-10', 'main', '', 'ACTIVE', now(), 0, 50000, 0, false, now()),"
            "('198.51.100.11', 4, 'mta11.example.net', 'vmta-11', 'main', '', 'WARMING', now(), 3, 800, 0, false, now())"))
        connection.execute(sa.text(
            "INSERT INTO suppressions (email, cause, reason, source_ip, first_at, last_at) VALUES "
            "('gone@example.org', 'hard', 'bad-mailbox', '198.51.100.10', now(), now())"))
    counts = _counts(engine)
    engine.dispose()
    return counts


def _counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("ips", "suppressions", "alembic_version")} | {
            "revision": connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()}


def _run_backup(url: str, backup_dir: Path, keep: int = 3) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "EE_DATABASE_URL": url, "EE_BACKUP_DIR": str(backup_dir),
           "EE_BACKUP_KEEP": str(keep)}
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.postgres
def test_dump_and_documented_restore_round_trip(databases, tmp_path):
    source, target = databases
    before = _populate(source)
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    for old in ("ee-20250101T000000Z.dump", "ee-20250102T000000Z.dump", "ee-20250103T000000Z.dump"):
        (backup_dir / old).write_bytes(b"old")  # older dumps beyond retention
    (backup_dir / "unrelated.txt").write_text("kept")

    result = _run_backup(source, backup_dir, keep=3)
    assert result.returncode == 0, result.stderr
    dumps = sorted(p.name for p in backup_dir.glob("ee-*.dump"))
    assert len(dumps) == 3 and dumps[0] == "ee-20250102T000000Z.dump"  # newest 3 kept, oldest removed
    assert (backup_dir / "unrelated.txt").exists()
    assert not list(backup_dir.glob(".*partial"))
    newest = backup_dir / dumps[-1]
    assert newest.read_bytes()[:5] == b"PGDMP"  # pg_dump custom format
    assert oct(newest.stat().st_mode & 0o777) == "0o600"

    # DEPLOY.md "Restore": pg_restore --clean --if-exists --no-owner into an empty database.
    restore = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error",
                              f"--dbname={_libpq(target)}", str(newest)], capture_output=True, text=True, timeout=120)
    assert restore.returncode == 0, restore.stderr
    from emailengine.db.engine import create_engine_for, ensure_schema

    engine = create_engine_for(target)
    ensure_schema(engine)  # the restored database is at this code's head: usable at once
    assert _counts(engine) == before
    engine.dispose()


def test_backup_refuses_missing_or_sqlite_urls(tmp_path):
    env = {"PATH": os.environ["PATH"], "EE_BACKUP_DIR": str(tmp_path)}
    missing = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and "EE_DATABASE_URL is not set" in missing.stderr
    sqlite = subprocess.run(["sh", str(SCRIPT)], env={**env, "EE_DATABASE_URL": "sqlite:////x.db"},
                            capture_output=True, text=True)
    assert sqlite.returncode == 2 and "SQLite" in sqlite.stderr
    bad_keep = subprocess.run(["sh", str(SCRIPT)], env={**env, "EE_DATABASE_URL": "postgresql://x/y",
                                                        "EE_BACKUP_KEEP": "two"}, capture_output=True, text=True)
    assert bad_keep.returncode == 2
    assert not list(tmp_path.glob("*.dump*")) and not list(tmp_path.glob(".*partial"))
