"""Named job locks: a PostgreSQL advisory lock (held by one connection, released if the
process dies with it), or on SQLite an flock()ed lock file (released by the kernel on death).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def lock_key(name: str) -> int:
    """Return a stable signed 64-bit key for a lock name."""
    return int.from_bytes(hashlib.sha256(f"ee:{name}".encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def job_lock(engine: Engine, name: str, lock_dir: Path) -> Iterator[bool]:
    """Try to take the named lock without waiting; yield whether it was taken."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, name) as taken:
            yield taken
    else:
        with _file_lock(lock_dir / f"ee-{name}.lock") as taken:
            yield taken


@contextlib.contextmanager
def _advisory_lock(engine: Engine, name: str) -> Iterator[bool]:
    from sqlalchemy import text

    key = lock_key(name)
    with engine.connect() as connection:
        taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        connection.commit()
        try:
            yield taken
        finally:
            if taken:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
