"""Reads of what the bounce pipeline stored: `ee bounces stats`, `ee health` and metrics
(`last_record_at`, `pipe_counters`), and the pruning of old fingerprint blocks.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session


def prune_fingerprints(engine: Engine, keep_days: int, now: float) -> int:
    """Delete the fingerprint blocks of minutes older than keep_days; return how many fingerprints went
    (Store.prune_fingerprints, which the pipe calls itself)."""
    from emailengine.bounces.ingest import Store

    return Store(engine, [], 1, 1).prune_fingerprints(keep_days, now)


def last_record_at(session: Session) -> datetime | None:
    """Return the newest record time any bounce-pipe committed (all hosts), or None."""
    from sqlalchemy import func, select

    from emailengine.db.models import BouncePipeStatus

    return session.scalar(select(func.max(BouncePipeStatus.last_record_at)))


def pipe_counters(session: Session) -> dict[str, Any]:
    """Return {"records", "rejects", "duplicates", "last_record_at", "hosts": {...}} of every pipe."""
    from sqlalchemy import select

    from emailengine.db.models import BouncePipeStatus

    rows = session.scalars(select(BouncePipeStatus)).all()
    last = max((row.last_record_at for row in rows if row.last_record_at), default=None)
    return {
        "records": sum(row.records for row in rows),
        "rejects": sum(row.rejects for row in rows),
        "duplicates": sum(row.duplicates for row in rows),
        "last_record_at": last,
        "hosts": {row.host: {"records": row.records, "rejects": row.rejects, "duplicates": row.duplicates,
                             "last_record_at": row.last_record_at, "updated_at": row.updated_at} for row in rows},
    }


_SINCE = re.compile(r"^(\d+)\s*([smhdw])$")


def parse_since(text: str) -> timedelta:
    """Parse `30m`, `24h`, `7d`, `2w` into a timedelta; raise UsageError otherwise."""
    from emailengine.errors import UsageError

    match = _SINCE.match(text.strip().lower())
    if not match:
        raise UsageError(f"invalid --since {text!r}", "use a number and a unit: 30m, 24h, 7d, 2w")
    number, unit = int(match.group(1)), match.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: number})


def stats(session: Session, since: timedelta | None, by: str | None, now: datetime) -> dict[str, Any]:
    """Return totals {"by_type", "by_class"} (all time without `since`), plus "by_<key>" rows.

    `by` is ip, provider or reason: rows of {key, total, delivered, hard, soft, block, complaint, ...}.
    Counts come from bounce_counts (hour resolution).
    """
    from sqlalchemy import func, select

    from emailengine.db.models import BounceCount

    filters = []
    if since is not None:
        start = (now - since).replace(minute=0, second=0, microsecond=0)
        filters.append(BounceCount.hour >= start)
    by_type = dict(session.execute(select(BounceCount.record_type, func.sum(BounceCount.count))
                                   .where(*filters).group_by(BounceCount.record_type)).all())
    by_class = dict(session.execute(select(BounceCount.bounce_class, func.sum(BounceCount.count))
                                    .where(*filters).group_by(BounceCount.bounce_class)).all())
    result: dict[str, Any] = {
        "by_type": {key: int(value) for key, value in sorted(by_type.items())},
        "by_class": {key: int(value) for key, value in sorted(by_class.items())},
    }
    if since is not None:
        result["since"] = (now - since).isoformat()
    if by:
        column = {"ip": BounceCount.source_ip, "provider": BounceCount.provider, "reason": BounceCount.reason}[by]
        table: dict[str, dict[str, int]] = {}
        query = (select(column, BounceCount.bounce_class, func.sum(BounceCount.count))
                 .where(*filters).group_by(column, BounceCount.bounce_class))
        for key, bounce_class, count in session.execute(query):
            row = table.setdefault(key, {"total": 0})
            row[bounce_class] = row.get(bounce_class, 0) + int(count)
            row["total"] += int(count)
        result[f"by_{by}"] = [{by: key, **values} for key, values in
                              sorted(table.items(), key=lambda item: -item[1]["total"])]
    return result
