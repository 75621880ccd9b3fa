"""Bounce pipeline: PowerMTA accounting → classified records → counters, suppressions, outbox.

Start here: reader.py (CSV records, pure; the reference reader) → classify.py (the one rule
table, pure) → scan.py (a piece of input → a batch: the compiled scanner _accel.c for the common
record, reader.py for the rest) → fingerprints.py (which records are new, pure) → ingest.py
(batches, plans and the one-transaction writes) → pieces.py (a byte stream cut into pieces of
complete records) → run.py (the pipe: stdin, spool, threads) and importer.py (`ee bounces import`,
dry runs) → queries.py (stats, health and metrics reads).
CLI: emailengine/cli/bounces.py. Docs: docs/bounces.md.

For `ee health` and metrics: `last_record_at(session)` and `pipe_counters(session)` below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session


def last_record_at(session: Session) -> datetime | None:
    """Return the newest record time any `ee bounce-pipe` committed (all hosts), or None."""
    from emailengine.bounces.queries import last_record_at as newest

    return newest(session)


def pipe_counters(session: Session) -> dict[str, Any]:
    """Return {"records", "rejects", "duplicates", "last_record_at", "hosts": {host: {...}}}."""
    from emailengine.bounces.queries import pipe_counters as counters

    return counters(session)
