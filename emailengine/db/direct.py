"""PostgreSQL through psycopg alone, for `ee bounce-pipe`.

Why: importing SQLAlchemy takes ~0.2 s, and the pipe's writer cannot start before its database is
open; on the benchmark of issue 3 that start is on the critical path (the writer is the slowest
stage). The pipe needs little of an engine: transactions on a connection of its own per thread,
a schema check at start, and a fresh connection after an error. Everything else in `ee` uses the
SQLAlchemy engine (db/engine.py), and so does the pipe on SQLite.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from emailengine.errors import SchemaOutdated, TemporaryFailure

CONNECT_TIMEOUT = 10  # seconds, as db/engine.py gives SQLAlchemy's engine


def is_postgresql_url(url: str) -> bool:
    """Return whether a database URL (SQLAlchemy's form, any driver) names PostgreSQL."""
    return urlsplit(url).scheme.split("+", 1)[0] in ("postgresql", "postgres")


def libpq_url(url: str) -> str:
    """Given an SQLAlchemy PostgreSQL URL (`postgresql+psycopg://...`), return the libpq URI of it."""
    if not is_postgresql_url(url):
        raise ValueError(f"not a PostgreSQL URL: {urlsplit(url).scheme}")
    return urlunsplit(("postgresql", *urlsplit(url)[1:]))


class DirectPostgres:
    """Transactions on PostgreSQL without SQLAlchemy: one psycopg connection per thread.

    `transaction()` yields a cursor inside BEGIN ... COMMIT (ROLLBACK on an exception);
    `dispose()` drops the calling thread's connection (after a database error: its next
    transaction reconnects, as does any thread whose connection broke). Once `check_schema`
    has named the revision this code needs, every connection opened is checked against it, so a
    server that comes back from an outage at another schema refuses writes (SchemaOutdated, which
    the pipe retries) instead of failing them record by record.
    """

    dialect_name = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = libpq_url(url)
        self.head: str | None = None
        self._local = threading.local()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.broken:
            import psycopg

            connection = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT)
            if self.head is not None:
                revision = _revision(connection)
                if revision != self.head:
                    connection.close()
                    raise SchemaOutdated(f"database schema is at {revision or 'an empty database'}, this ee "
                                         f"needs {self.head}", "run `ee db upgrade`")
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Yield a cursor in a transaction committed when the block ends."""
        connection = self._connection()
        with connection.transaction(), connection.cursor() as cursor:
            yield cursor

    def dispose(self) -> None:
        """Close the calling thread's connection (its next transaction connects again)."""
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail; it is gone either way
                pass

    def check_schema(self, head: str) -> None:
        """Raise SchemaOutdated unless the database is at revision `head` (and check every connection
        opened from now on); TemporaryFailure if unreachable."""
        import psycopg

        self.head = head
        self.dispose()
        try:
            self._connection()
        except psycopg.OperationalError as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise TemporaryFailure(f"database unreachable: {first}", "check EE_DATABASE_URL") from None


def _revision(connection: Any) -> str | None:
    """Return the Alembic revision of a fresh connection's database (None: not migrated)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
        revision = None
        if cursor.fetchone()[0]:
            cursor.execute("SELECT version_num FROM alembic_version")
            row = cursor.fetchone()
            revision = row[0] if row else None
    connection.commit()
    return revision
