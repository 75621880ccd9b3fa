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


def libpq_url(url: str) -> str:
    """Given an SQLAlchemy PostgreSQL URL (`postgresql+psycopg://...`), return the libpq URI of it."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {scheme}")
    return urlunsplit(("postgresql", *parts[1:]))


class DirectPostgres:
    """Transactions on PostgreSQL without SQLAlchemy: one psycopg connection per thread.

    `transaction()` yields a cursor inside BEGIN ... COMMIT (ROLLBACK on an exception);
    `dispose()` drops the calling thread's connection (after a database error: its next
    transaction reconnects, as does any thread whose connection broke).
    """

    dialect_name = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = libpq_url(url)
        self._local = threading.local()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.broken:
            import psycopg

            connection = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT)
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
        """Raise SchemaOutdated unless the database is at revision `head`; TemporaryFailure if unreachable."""
        import psycopg

        try:
            with self.transaction() as cursor:
                cursor.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
                revision = None
                if cursor.fetchone()[0]:
                    cursor.execute("SELECT version_num FROM alembic_version")
                    row = cursor.fetchone()
                    revision = row[0] if row else None
        except psycopg.OperationalError as error:
            self.dispose()
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise TemporaryFailure(f"database unreachable: {first}", "check EE_DATABASE_URL") from None
        if revision != head:
            raise SchemaOutdated(f"database schema is at {revision or 'an empty database'}, this ee needs {head}",
                                 "run `ee db upgrade`")
