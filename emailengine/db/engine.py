"""Engine and sessions from Settings; schema check before any command touches data.

SQLite (the embedded default) is created and migrated on first use. Any other database must
be migrated explicitly: a command against an outdated schema stops with "run `ee db upgrade`".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from emailengine.errors import SchemaOutdated, TemporaryFailure

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_engine_for(url: str) -> Engine:
    """Return a new engine for the URL, with SQLite pragmas and pool pre-ping."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """Return the process-wide engine for a URL, checked to be reachable and migrated."""
    engine = _ENGINES.get(url)
    if engine is None:
        engine = create_engine_for(url)
        ensure_schema(engine)
        _ENGINES[url] = engine
    return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, and forks that must not share connections)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def ensure_schema(engine: Engine) -> None:
    """Migrate a SQLite database to head; refuse an outdated server database.

    Raise TemporaryFailure when the database cannot be reached, SchemaOutdated when behind.
    """
    from emailengine.db.migrate import SCHEMA_HEAD, current_revision, upgrade

    try:
        revision = current_revision(engine)
    except TemporaryFailure:
        raise
    if revision == SCHEMA_HEAD:
        return
    if engine.dialect.name == "sqlite":
        upgrade(engine, "head")
        return
    found = revision or "an empty database"
    raise SchemaOutdated(
        f"database schema is at {found}, this ee needs {SCHEMA_HEAD}", "run `ee db upgrade`"
    )


def database_engine() -> Engine:
    """Return the engine of the configured database."""
    from emailengine.config import get_settings

    return get_engine(get_settings().effective_database_url())


@contextlib.contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    session = Session(engine or database_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except OperationalError as error:
        session.rollback()
        raise TemporaryFailure(f"database error: {str(error.orig).strip().splitlines()[0]}") from error
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
