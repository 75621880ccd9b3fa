"""The forwarding I/O: the `forward-retry` job body, status, requeue and request verification.

`deliver_due` loops per configured destination: claim a batch, send it, decide each event's
outcome (policy.decide), record it, until nothing is due, the run's time budget is spent, or
the destination failed `forward_breaker_failures` batches in a row (it is left alone until the
next run rather than hammered).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emailengine.errors import UsageError
from emailengine.forwarding import MAILWIZZ, SCRAPER, destinations
from emailengine.forwarding.policy import DEAD, DELIVERED, decide
from emailengine.logs import logger

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from emailengine.config import Settings
    from emailengine.forwarding.deliver import Sender
    from emailengine.jobs import JobContext

JOB_NAME = "forward-retry"


@dataclass
class RunStats:
    """What one run did for one destination."""

    destination: str
    batches: int = 0
    delivered: int = 0
    failed: int = 0  # attempts that will be retried
    dead: int = 0
    skipped: str | None = None  # why the destination was not processed
    problems: list[str] = field(default_factory=list)


def configured_destinations(settings: Settings) -> dict[str, str | None]:
    """Return {destination: None if it can be delivered now, else why not}."""
    result: dict[str, str | None] = {}
    for name in destinations(settings):
        if name == SCRAPER:
            result[name] = None if settings.scraper_url else "EE_SCRAPER_URL is not set"
        elif name == MAILWIZZ:
            result[name] = None if settings.mailwizz_api_url else "EE_MAILWIZZ_API_URL is not set"
    return result


def make_sender(name: str, settings: Settings, engine: Engine, now: datetime) -> Sender:
    """Return the sender of a destination; raise UsageError when it cannot send."""
    from sqlalchemy.orm import Session

    from emailengine.forwarding.keys import load_ring
    from emailengine.forwarding.signing import current_key

    if name == SCRAPER:
        from emailengine.forwarding.deliver import ScraperSender

        with Session(engine) as session:
            key = current_key(load_ring(session), now)
        if key is None:
            raise UsageError("no usable current signing key", "an admin runs `ee keys rotate`")
        return ScraperSender(settings, key)
    if name == MAILWIZZ:
        from emailengine.integrations.mailwizz.feedback import MailwizzSender

        if settings.mailwizz_api_key is None:
            raise UsageError("EE_MAILWIZZ_API_KEY is not set", "the mailwizz destination needs the API key")
        if int(settings.mailwizz_api_version) == 1 and settings.mailwizz_api_private_key is None:
            raise UsageError("EE_MAILWIZZ_API_PRIVATE_KEY is not set", "the 1.x API signs requests with it")

        return MailwizzSender(settings)
    raise UsageError(f"unknown destination {name}")


def deliver_due(settings: Settings, engine: Engine, clock: Callable[[], datetime] | None = None,
                rng: random.Random | None = None, only: str | None = None,
                senders: dict[str, Sender] | None = None) -> list[RunStats]:
    """Deliver every due event of every configured destination (or only one); return per-destination stats."""
    from emailengine.db.models import utcnow

    clock = clock or utcnow
    rng = rng or random.Random()  # noqa: S311 - jitter only
    deadline = time.monotonic() + settings.forward_run_seconds
    results = []
    for name, why_not in configured_destinations(settings).items():
        if only and name != only:
            continue
        stats = RunStats(name, skipped=why_not)
        results.append(stats)
        if why_not and not (senders and name in senders):
            continue
        stats.skipped = None
        try:
            sender = senders[name] if senders and name in senders else make_sender(name, settings, engine, clock())
        except UsageError as error:
            stats.skipped = error.one_line()
            stats.problems.append(f"{name}: {error.one_line()}")
            continue
        try:
            _drain(name, sender, settings, engine, clock, rng, deadline, stats)
        finally:
            sender.close()
    return results


def _drain(name: str, sender: Sender, settings: Settings, engine: Engine, clock: Callable[[], datetime],
           rng: random.Random, deadline: float, stats: RunStats) -> None:
    from emailengine.forwarding import outbox

    lease = timedelta(seconds=settings.forward_lease_seconds)
    max_age = timedelta(hours=settings.forward_max_age_hours)
    failed_in_row = 0
    while time.monotonic() < deadline:
        token, events = outbox.claim(engine, name, settings.forward_batch, lease, clock())
        if not events:
            return
        try:
            attempts = sender.deliver(events, clock())
        except BaseException:
            outbox.release(engine, token)
            raise
        now = clock()
        results = []
        for event, attempt in zip(events, attempts, strict=True):
            outcome = decide(attempt, event.attempts, event.created_at, now, settings.forward_max_attempts,
                             max_age, settings.forward_backoff_base_seconds,
                             settings.forward_backoff_max_seconds, rng)
            results.append((event, attempt, outcome))
        outbox.complete(engine, token, results, now)
        stats.batches += 1
        statuses = [outcome.status for _event, _attempt, outcome in results]
        stats.delivered += statuses.count(DELIVERED)
        stats.dead += statuses.count(DEAD)
        stats.failed += len(statuses) - statuses.count(DELIVERED) - statuses.count(DEAD)
        for event, _attempt, outcome in results:
            if outcome.status == DEAD:
                logger.warning("forward %s: event %s dead-lettered: %s", name, event.event_id, outcome.last_error)
        if DELIVERED not in statuses and any(status != DEAD for status in statuses):
            failed_in_row += 1
            if failed_in_row >= settings.forward_breaker_failures:
                logger.warning("forward %s: %d failed batches in a row; pausing until the next run", name, failed_in_row)
                return
        else:
            failed_in_row = 0


def run_retry(ctx: JobContext, only: str | None = None) -> list[RunStats]:
    """The body of `ee forward retry` inside run_job: deliver, then publish metrics and summary."""
    check_destination(only)
    stats = deliver_due(ctx.settings, ctx.engine, only=only)
    for entry in stats:
        ctx.summary[entry.destination] = {"delivered": entry.delivered, "failed": entry.failed,
                                          "dead": entry.dead, "batches": entry.batches,
                                          **({"skipped": entry.skipped} if entry.skipped else {})}
        for problem in entry.problems:
            ctx.problem(problem)
        if entry.dead:
            from emailengine.alerts import send_alert

            send_alert(f"forward-dead:{entry.destination}", f"{entry.dead} events dead-lettered for {entry.destination}",
                       "permanent refusal or retry limits reached; the last answer is in the outbox row",
                       action="`ee forward status`, fix the cause, then `ee forward requeue --dead`")
    record_metrics(ctx, stats)
    return stats


def check_destination(name: str | None) -> None:
    """Raise UsageError unless name is None or a known destination."""
    if name is not None and name not in (SCRAPER, MAILWIZZ):
        raise UsageError(f"unknown destination {name!r}", f"one of {SCRAPER}, {MAILWIZZ}")


def record_metrics(ctx: JobContext, stats: list[RunStats]) -> None:
    """Set the per-destination gauges: queue state now, and what this run did."""
    from prometheus_client import Gauge
    from sqlalchemy.orm import Session

    from emailengine.db.models import utcnow
    from emailengine.forwarding import outbox

    registry = ctx.registry
    labels = ["destination"]
    pending = Gauge("ee_forward_pending", "Events waiting for delivery", labels, registry=registry)
    oldest = Gauge("ee_forward_oldest_pending_age_seconds", "Age of the oldest pending event", labels, registry=registry)
    dead = Gauge("ee_forward_dead", "Dead letters in the outbox", labels, registry=registry)
    delivered = Gauge("ee_forward_run_delivered", "Events delivered by the last run", labels, registry=registry)
    failed = Gauge("ee_forward_run_failed", "Failed attempts (to be retried) in the last run", labels, registry=registry)
    dead_now = Gauge("ee_forward_run_dead_lettered", "Events dead-lettered by the last run", labels, registry=registry)
    with Session(ctx.engine) as session:
        rows = outbox.status(session, utcnow(), list(configured_destinations(ctx.settings)))
    for row in rows:
        pending.labels(row.destination).set(row.pending)
        oldest.labels(row.destination).set(row.oldest_pending_age_seconds or 0)
        dead.labels(row.destination).set(row.dead)
    for entry in stats:
        delivered.labels(entry.destination).set(entry.delivered)
        failed.labels(entry.destination).set(entry.failed)
        dead_now.labels(entry.destination).set(entry.dead)


def status_rows(settings: Settings, engine: Engine) -> list[dict[str, Any]]:
    """Return `ee forward status` rows: one per destination, with whether it is configured."""
    from sqlalchemy.orm import Session

    from emailengine.db.models import utcnow
    from emailengine.forwarding import outbox

    configured = configured_destinations(settings)
    with Session(engine) as session:
        rows = outbox.status(session, utcnow(), list(configured))
    return [{**row.as_dict(), "configured": configured.get(row.destination, "not a destination") is None,
             "note": configured.get(row.destination, "not a current destination")} for row in rows]


def requeue_events(engine: Engine, actor: str, dead: bool, ident: str | None, destination: str | None) -> int:
    """Requeue events (see outbox.requeue) and audit it; return how many rows changed."""
    from emailengine import audit
    from emailengine.db.engine import session_scope
    from emailengine.db.models import utcnow
    from emailengine.forwarding import outbox

    check_destination(destination)
    if ident is not None and not ident.strip():
        raise UsageError("--id must not be empty")
    from emailengine.identity import require_role

    with session_scope(engine) as session:
        require_role(session, actor, "user")
        ids = outbox.requeue(session, utcnow(), dead, ident, destination)
        if ident is not None and not ids:
            raise UsageError(f"no {'dead ' if dead else ''}outbox event {ident} to requeue", "see `ee forward status`")
        if ids:
            audit.append(session, actor, "forward.requeue", ident or ("dead+pending" if dead else "pending"),
                         before=None, after={"rows": len(ids), "destination": destination, "first_ids": ids[:20]})
    return len(ids)


def verify_saved_request(engine: Engine | None, settings: Settings, path: Path, keys_file: Path | None,
                         jti_cache: Path | None, now: datetime | None = None) -> dict[str, Any]:
    """Verify a saved request file against the key ring (DB or keys file); return the verdict as data."""
    from sqlalchemy.orm import Session

    from emailengine.db.models import utcnow
    from emailengine.forwarding.keys import load_keys_file, load_ring
    from emailengine.forwarding.saved import parse_saved_request
    from emailengine.forwarding.signing import verify_request

    now = now or utcnow()
    request = parse_saved_request(path)
    if keys_file is not None:
        ring = load_keys_file(keys_file)
    else:
        assert engine is not None  # noqa: S101 - the CLI passes one when no keys file is given
        with Session(engine) as session:
            ring = load_ring(session)
    seen = _read_jtis(jti_cache)
    verdict = verify_request(request.headers, request.body, ring, now,
                             settings.forward_replay_window_seconds, settings.forward_issuer, seen)
    if verdict.valid and jti_cache is not None and verdict.jti:
        with jti_cache.open("a") as handle:
            handle.write(verdict.jti + "\n")
    events = request.event_ids()
    return {"valid": verdict.valid, "kid": verdict.kid, "checks": verdict.checks,
            "problems": list(verdict.problems), "jti": verdict.jti, "events": len(events),
            "idempotency_key": request.header("Idempotency-Key")}


def _read_jtis(path: Path | None) -> set[str]:
    if path is None or not path.exists():
        return set()
    try:
        return {line.strip() for line in path.read_text().splitlines() if line.strip()}
    except OSError as error:
        raise UsageError(f"cannot read the jti cache {path}: {error.strerror}") from None
