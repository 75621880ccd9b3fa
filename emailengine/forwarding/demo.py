"""`ee demo` part: forward the demo's hard bounces and complaints to a flaky loopback scraper-pro.

Uses the outbox rows the bounce part created (inserting a few when there are none), rotates a
signing key, runs `forward-retry` rounds against a stand-in that fails the first requests
(500, 429 with Retry-After, a dropped connection) until everything is delivered, then shows
`ee forward status` and `ee keys list`.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emailengine.demo import DemoContext

DEMO_EVENTS = (
    ("hard_bounce", "gone@example.org", "bad-mailbox", "5.1.1", "smtp;550 5.1.1 user unknown"),
    ("hard_bounce", "nobody@example.org", "bad-domain", "5.1.2", "smtp;550 5.1.2 no such domain"),
    ("complaint", "angry@example.org", "abuse", "", "feedback-type=abuse"),
    ("soft_bounce_suppressed", "full@example.org", "quota-issues", "4.2.2", "smtp;452 4.2.2 mailbox full"),
)


def _ensure_events(demo: DemoContext) -> tuple[int, int]:
    """Return (inserted, waiting) scraper events; insert DEMO_EVENTS when the bounce part made none."""
    import hashlib

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from emailengine.db.models import OutboxEvent, utcnow
    from emailengine.forwarding import SCRAPER

    with Session(demo.engine) as session, session.begin():
        waiting = session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.destination == SCRAPER, OutboxEvent.status == "pending")) or 0
        if waiting:
            return 0, waiting
        now = utcnow()
        for n, (kind, email, reason, status, diag) in enumerate(DEMO_EVENTS):
            occurred = now - timedelta(minutes=10 - n)
            event_id = hashlib.sha256(f"demo:{email}:{kind}".encode()).hexdigest()[:32]
            payload = {"id": event_id, "type": kind, "email": email, "reason": reason, "status": status,
                       "diag": diag, "occurred_at": occurred.isoformat(), "source_ip": "198.51.100.10",
                       "vmta": "vmta-10", "campaign_uid": None, "subscriber_uid": None}
            session.add(OutboxEvent(event_id=event_id, destination=SCRAPER, event_type=kind, email=email,
                                    payload=payload, occurred_at=occurred, created_at=now, next_attempt_at=now))
        return len(DEMO_EVENTS), len(DEMO_EVENTS)


def run_demo(demo: DemoContext) -> list[str]:
    """Forward the demo's events through failures to a loopback receiver; return summary lines."""
    from sqlalchemy.orm import Session

    from emailengine.db.models import utcnow
    from emailengine.forwarding import keys
    from emailengine.forwarding.run import JOB_NAME, run_retry, status_rows
    from emailengine.jobs import JobSkipped, run_job
    from emailengine.standins.scraper import ScraperStandIn

    inserted, waiting = _ensure_events(demo)
    if not inserted:
        demo.say(f"{waiting} hard bounces/complaints from the bounce part wait in the outbox")
    if inserted:
        demo.say(f"no pending scraper events from the bounce part: inserted {inserted} into the outbox")
    new_key = keys.rotate(demo.engine, demo.actor, utcnow())
    demo.say(f"rotated in signing key {new_key.kid} (secret shown once in real use; not printed here)")
    with Session(demo.engine) as session:
        ring = keys.load_ring(session)
    receiver = ScraperStandIn(keys=ring, script=["500", "429", "drop"], retry_after="0",
                              issuer=demo.settings.forward_issuer).start()
    settings = demo.settings.model_copy(update={
        "scraper_url": receiver.url, "forward_batch": 2 if waiting <= 10 else 100, "forward_backoff_base_seconds": 0.05,
        "forward_backoff_max_seconds": 0.2, "forward_quick_retries": 0, "forward_timeout": 2.0,
        "forward_breaker_failures": 2})
    rounds = delivered = 0
    try:
        for rounds in range(1, 21):  # noqa: B007 - the count is reported
            try:
                with run_job(JOB_NAME, settings=settings, engine=demo.engine, actor=demo.actor) as ctx:
                    stats = run_retry(ctx, only="scraper")
            except JobSkipped:
                continue
            delivered += sum(s.delivered for s in stats)
            pending = [r for r in status_rows(settings, demo.engine) if r["destination"] == "scraper"][0]["pending"]
            demo.say(f"forward-retry round {rounds}: delivered {stats[0].delivered}, "
                     f"failed {stats[0].failed}, still pending {pending}")
            if not pending:
                break
            time.sleep(0.25)
    finally:
        receiver.stop()
    answers = [r.behaviour for r in receiver.requests]
    rows = status_rows(settings, demo.engine)
    demo.show(rows, ["destination", "pending", "due", "oldest_pending_age_seconds", "delivered_today", "dead"],
              "ee forward status")
    with Session(demo.engine) as session:
        key_list = keys.key_rows(session, utcnow())
    demo.show(key_list, ["kid", "created", "expires", "current", "revoked"], "ee keys list")
    scraper = [r for r in rows if r["destination"] == "scraper"][0]
    if scraper["pending"]:
        raise RuntimeError(f"{scraper['pending']} events still pending after {rounds} rounds")
    return [
        f"{delivered} events delivered to a loopback scraper-pro in {rounds} rounds; "
        f"receiver answers: {', '.join(answers)}",
        f"every request verified by the receiver (HMAC + JWT, key {new_key.kid}); "
        f"{len(receiver.events)} distinct events, {receiver.rejected_signatures} bad signatures",
        f"outbox: {scraper['pending']} pending, {scraper['dead']} dead letters",
    ]
