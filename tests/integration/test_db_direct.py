"""The pipe's PostgreSQL access without SQLAlchemy (emailengine/db/direct.py), against a real server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emailengine.db.direct import DirectPostgres, libpq_url
from emailengine.db.migrate import SCHEMA_HEAD, upgrade
from emailengine.errors import SchemaOutdated, TemporaryFailure


def test_libpq_url_drops_the_driver_and_keeps_the_rest():
    assert libpq_url("postgresql+psycopg://u:p%40ss@db.example:5433/ee?options=-csearch_path%3Dx") == \
        "postgresql://u:p%40ss@db.example:5433/ee?options=-csearch_path%3Dx"
    assert libpq_url("postgres://localhost/ee") == "postgresql://localhost/ee"
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        libpq_url("sqlite:///ee.db")


@pytest.mark.postgres
def test_schema_check_names_the_revision_and_passes_at_head(pg_url):
    from emailengine.db.engine import create_engine_for

    database = DirectPostgres(pg_url)
    with pytest.raises(SchemaOutdated, match="an empty database"):
        database.check_schema(SCHEMA_HEAD)
    engine = create_engine_for(pg_url)
    upgrade(engine, "0001")
    with pytest.raises(SchemaOutdated, match=f"at 0001, this ee needs {SCHEMA_HEAD}"):
        database.check_schema(SCHEMA_HEAD)
    upgrade(engine, "head")
    database.check_schema(SCHEMA_HEAD)
    engine.dispose()
    database.dispose()


def test_an_unreachable_server_is_a_temporary_failure():
    database = DirectPostgres("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(TemporaryFailure, match="database unreachable"):
        database.check_schema(SCHEMA_HEAD)


@pytest.mark.postgres
def test_transactions_commit_roll_back_and_reconnect_after_dispose(pg_url):
    database = DirectPostgres(pg_url)
    with database.transaction() as cursor:
        cursor.execute("CREATE TABLE direct_probe (n int)")
        cursor.execute("INSERT INTO direct_probe VALUES (1)")
    with pytest.raises(RuntimeError), database.transaction() as cursor:
        cursor.execute("INSERT INTO direct_probe VALUES (2)")
        raise RuntimeError("rolled back")
    database.dispose()  # as after a database error: the next transaction connects again
    with database.transaction() as cursor:
        cursor.execute("SELECT array_agg(n) FROM direct_probe")
        assert cursor.fetchone()[0] == [1]
    database.dispose()


@pytest.mark.postgres
def test_the_pipe_on_postgresql_does_not_import_sqlalchemy(pg_url, tmp_path):
    """SQLAlchemy's import would delay the pipe's writer by ~0.2 s (db/direct.py)."""
    from emailengine.db.engine import create_engine_for
    from tests.fakes.bounces import accounting

    engine = create_engine_for(pg_url)
    upgrade(engine, "head")
    engine.dispose()
    probe = ("import sys; sys.argv = ['ee', 'bounce-pipe']\n"
             "from emailengine.__main__ import main\n"
             "try:\n    main()\nfinally:\n"
             "    print('loaded', sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic'}))\n")
    (tmp_path / "empty.env").write_text("")
    env = {"EE_DATABASE_URL": pg_url, "EE_SPOOL_DIR": str(tmp_path / "spool"), "EE_ENV_FILE": str(tmp_path / "empty.env"),
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe], input=accounting(50, seed=3), capture_output=True,
                          env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().strip().splitlines()[-1] == "loaded []"
    check = create_engine_for(pg_url)
    with check.connect() as connection:
        import sqlalchemy as sa

        assert connection.execute(sa.text("SELECT sum(count) FROM bounce_counts")).scalar() == 50
    check.dispose()


@pytest.mark.postgres
def test_a_connection_the_server_dropped_fails_once_as_a_database_error_then_reconnects(pg_url):
    from emailengine.bounces.importer import is_db_error

    database = DirectPostgres(pg_url)
    with database.transaction() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    killer = DirectPostgres(pg_url)
    with killer.transaction() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(Exception) as failed, database.transaction() as cursor:
        cursor.execute("SELECT 1")
    assert is_db_error(failed.value), repr(failed.value)  # the pipe backs off and retries
    with database.transaction() as cursor:  # broken: a new connection, no dispose needed
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
    database.dispose()
    killer.dispose()


@pytest.mark.postgres
def test_a_server_back_at_another_schema_refuses_writes_as_a_database_error_until_upgraded(pg_url):
    """Checked at start, then (after an outage) the server comes back downgraded: writes must wait in
    the spool (a database error, retried), not fail record by record."""
    from emailengine.bounces.importer import is_db_error
    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import downgrade

    engine = create_engine_for(pg_url)
    upgrade(engine, "head")
    database = DirectPostgres(pg_url)
    database.check_schema(SCHEMA_HEAD)
    with database.transaction() as cursor:
        cursor.execute("SELECT count(*) FROM bounce_counts")
    database.dispose()  # the outage
    downgrade(engine, "0009")
    with pytest.raises(SchemaOutdated, match=f"at 0009, this ee needs {SCHEMA_HEAD}") as refused, \
            database.transaction():
        pass
    assert is_db_error(refused.value)
    upgrade(engine, "head")
    with database.transaction() as cursor:
        cursor.execute("SELECT count(*) FROM bounce_counts")
        assert cursor.fetchone()[0] == 0
    database.dispose()
    engine.dispose()


def test_postgresql_urls_are_told_from_others():
    from emailengine.db.direct import is_postgresql_url

    assert is_postgresql_url("postgresql+psycopg://u@h/db") and is_postgresql_url("postgres://h/db")
    assert not is_postgresql_url("sqlite:////var/lib/ee/ee.db")
    assert not is_postgresql_url("mysql+pymysql://root@127.0.0.1/test")
