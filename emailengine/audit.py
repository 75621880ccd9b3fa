"""The hash-chained audit trail: pure hashing and verification, and appending in a session.

Each row's hash is sha256 over the previous row's hash and the row's own canonical JSON
(id included), so editing, deleting or reordering any row breaks the chain from there on.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    prev_hash: str
    hash: str


def row_hash(prev_hash: str, row_id: int, at: datetime, actor: str, action: str, target: str,
             before: Any, after: Any) -> str:
    """Return the chain hash of one row given the previous row's hash."""
    canonical = json.dumps(
        [row_id, at.isoformat(timespec="microseconds"), actor, action, target, before, after],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def first_broken(rows: Iterable[AuditRow]) -> tuple[AuditRow, str] | None:
    """Return the first row whose link or hash does not verify, with why; None if intact."""
    previous_hash = GENESIS
    for row in rows:
        if row.prev_hash != previous_hash:
            return row, "its prev_hash does not match the row before it (a row was deleted or reordered)"
        expected = row_hash(row.prev_hash, row.id, row.at, row.actor, row.action, row.target,
                            row.before, row.after)
        if expected != row.hash:
            return row, "its content does not match its hash (the row was edited)"
        previous_hash = row.hash
    return None


def _lock_chain(session: Session) -> None:
    # Two writers must not both link to the same last row: serialise appends on PostgreSQL.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(text("SELECT pg_advisory_xact_lock(7212001)"))


def append(session: Session, actor: str, action: str, target: str, before: Any = None,
           after: Any = None) -> None:
    """Append an audit row in the caller's transaction (committed with the change it records)."""
    from sqlalchemy import select

    from emailengine.db.models import AuditEntry, utcnow

    _lock_chain(session)
    last = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev_hash = last.hash if last else GENESIS
    entry = AuditEntry(at=utcnow(), actor=actor, action=action,
                       target=target, before=_jsonable(before), after=_jsonable(after),
                       prev_hash=prev_hash, hash=secrets.token_hex(32))  # placeholder until the id is known
    session.add(entry)
    session.flush()
    entry.hash = row_hash(prev_hash, entry.id, entry.at, actor, action, target, entry.before, entry.after)
    session.flush()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if value is not None else None


def load_rows(session: Session) -> list[AuditRow]:
    """Return every audit row in id order as plain data."""
    from sqlalchemy import select

    from emailengine.db.models import AuditEntry

    return [
        AuditRow(e.id, e.at, e.actor, e.action, e.target, e.before, e.after, e.prev_hash, e.hash)
        for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    ]
