"""Time helpers: parsing operator-given ages and times. UTC everywhere; "day" is the UTC day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from emailengine.errors import UsageError

_AGE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """Return the timedelta of `90s`, `15m`, `24h`, `7d` or `2w`; raise UsageError otherwise."""
    match = _AGE.match(text.strip().lower())
    if not match:
        raise UsageError(f"invalid duration {text!r}", "use e.g. 30m, 24h, 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_since(text: str, now: datetime) -> datetime:
    """Return the moment meant by an age (`24h`) or an ISO date/time (naive means UTC)."""
    if _AGE.match(text.strip().lower()):
        return now - parse_duration(text)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"invalid time {text!r}", "use an age like 24h or an ISO date like 2026-01-31") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_day(text: str) -> date:
    """Return the date of `YYYY-MM-DD`; raise UsageError otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"invalid date {text!r}", "use YYYY-MM-DD") from None
