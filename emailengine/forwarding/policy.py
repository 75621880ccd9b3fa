"""Delivery decisions over plain data (no I/O, no clock): what an answer means, when to retry.

2xx → delivered. 408, 429, 5xx, timeouts and connection errors → retry later with exponential
backoff and jitter (never before a Retry-After). 401 → retry too (the receiver usually does not
know a freshly rotated key yet; see docs/forwarding.md). Any other 4xx → dead letter at once.
A retryable failure becomes a dead letter once attempts reach the maximum or the event is older
than the maximum age.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

DELIVERED = "delivered"
RETRY = "retry"
DEAD = "dead"

RETRYABLE_CODES = frozenset({401, 408, 425, 429})
MAX_RETRY_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt produced: an HTTP status, or a transport error (status None)."""

    status_code: int | None
    error: str | None = None
    retry_after: str | None = None
    response_text: str = ""
    accepted: bool = False  # the destination's own "already done" answer (MailWizz 422): delivered


@dataclass(frozen=True)
class Outcome:
    """What to record for one event after an attempt."""

    status: str  # delivered | retry | dead
    next_attempt_at: datetime | None
    last_error: str | None


def classify(attempt: Attempt) -> str:
    """Return delivered, retry or dead for an attempt, before attempt/age limits."""
    code = attempt.status_code
    if attempt.accepted:
        return DELIVERED
    if code is None:
        return RETRY
    if 200 <= code < 300:
        return DELIVERED
    if code in RETRYABLE_CODES or code >= 500:
        return RETRY
    return DEAD


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Return the wait a Retry-After header asks for (delta-seconds or HTTP date), capped at 24 h."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        wait = timedelta(seconds=int(text))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        wait = when - now
    return max(timedelta(0), min(wait, MAX_RETRY_AFTER))


def backoff(attempts: int, base_seconds: float, max_seconds: float, rng: random.Random) -> timedelta:
    """Return the delay before retry number `attempts` (1-based): base·2^(n-1), capped, with
    "equal jitter" (uniform in [d/2, d]) so runners that failed together do not retry together.
    """
    exponent = min(max(attempts - 1, 0), 30)
    delay = min(max_seconds, base_seconds * (2 ** exponent))
    return timedelta(seconds=delay / 2 + rng.uniform(0, delay / 2))  # noqa: S311 - jitter, not crypto


def decide(attempt: Attempt, attempts_after: int, created_at: datetime, now: datetime,
           max_attempts: int, max_age: timedelta, base_seconds: float, max_seconds: float,
           rng: random.Random) -> Outcome:
    """Return the outcome for one event whose attempt number `attempts_after` just ended."""
    verdict = classify(attempt)
    if verdict == DELIVERED:
        return Outcome(DELIVERED, None, None)
    described = describe(attempt)
    if verdict == DEAD:
        return Outcome(DEAD, None, described)
    if attempts_after >= max_attempts:
        return Outcome(DEAD, None, f"{described}; gave up after {attempts_after} attempts")
    if now - created_at >= max_age:
        return Outcome(DEAD, None, f"{described}; gave up: older than {max_age}")
    delay = backoff(attempts_after, base_seconds, max_seconds, rng)
    asked = parse_retry_after(attempt.retry_after, now)
    if asked is not None and asked > delay:
        delay = asked
    return Outcome(RETRY, now + delay, described)


def describe(attempt: Attempt) -> str:
    """Return a one-line description of a failed attempt, for last_error."""
    if attempt.status_code is None:
        return attempt.error or "transport error"
    text = " ".join(attempt.response_text.split())[:200]
    return f"HTTP {attempt.status_code}" + (f": {text}" if text else "")
