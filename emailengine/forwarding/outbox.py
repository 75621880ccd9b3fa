"""The outbox queue: claim due events safely with several runners, record outcomes, report, requeue.

Claiming is one statement, `UPDATE outbox SET claim_token=…, claimed_until=now+lease,
attempts=attempts+1 WHERE id IN (SELECT id … FOR UPDATE SKIP LOCKED LIMIT n)`: on PostgreSQL
the row locks make concurrent runners skip each other's rows; on SQLite the single writer makes
the UPDATE atomic. The lease (`claimed_until`) keeps a claimed event away from other runners
after the claim commits, while it is being sent; if a runner dies, the event is due again when
the lease runs out. Outcomes are written only where the claim token still matches.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from emailengine.forwarding.policy import DEAD, DELIVERED, Attempt, Outcome

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

MAX_RESPONSE_CHARS = 2000


@dataclass(frozen=True)
class ClaimedEvent:
    """An event a runner owns until its lease ends. `attempts` includes this attempt."""

    id: int
    event_id: str
    destination: str
    event_type: str
    email: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


def claim(engine: Engine, destination: str, limit: int, lease: timedelta, now: datetime) -> tuple[str, list[ClaimedEvent]]:
    """Claim up to `limit` due pending events of one destination; return (token, events)."""
    from sqlalchemy import or_, select, update
    from sqlalchemy.orm import Session

    from emailengine.db.models import OutboxEvent as O

    token = secrets.token_hex(16)
    due = (
        select(O.id)
        .where(O.destination == destination, O.status == "pending", O.next_attempt_at <= now,
               or_(O.claimed_until.is_(None), O.claimed_until <= now))
        .order_by(O.next_attempt_at, O.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # ignored by SQLite, where the UPDATE is atomic anyway
    )
    with Session(engine) as session, session.begin():
        session.execute(
            update(O).where(O.id.in_(due))
            .values(claim_token=token, claimed_until=now + lease, attempts=O.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    with Session(engine) as session:
        rows = session.execute(
            select(O.id, O.event_id, O.destination, O.event_type, O.email, O.payload, O.created_at, O.attempts)
            .where(O.claim_token == token, O.status == "pending").order_by(O.id)).all()
    events = [ClaimedEvent(r.id, r.event_id, r.destination, r.event_type, r.email, dict(r.payload or {}),
                           r.created_at, r.attempts) for r in rows]
    return token, events


def complete(engine: Engine, token: str, results: list[tuple[ClaimedEvent, Attempt, Outcome]], now: datetime) -> int:
    """Record each event's outcome where the claim is still ours; return how many rows were updated."""
    from sqlalchemy import bindparam, update

    from emailengine.db.models import OutboxEvent as O

    if not results:
        return 0
    params = []
    for event, attempt, outcome in results:
        params.append({
            "b_id": event.id,
            "b_status": "pending" if outcome.status not in (DELIVERED, DEAD) else outcome.status,
            "b_next": outcome.next_attempt_at or now,
            "b_error": outcome.last_error,
            "b_delivered": now if outcome.status == DELIVERED else None,
            "b_code": attempt.status_code,
            "b_response": (attempt.response_text or attempt.error or "")[:MAX_RESPONSE_CHARS] or None,
        })
    statement = (
        update(O.__table__)
        .where(O.__table__.c.id == bindparam("b_id"), O.__table__.c.claim_token == token)
        .values(status=bindparam("b_status"), next_attempt_at=bindparam("b_next"),
                last_error=bindparam("b_error"), delivered_at=bindparam("b_delivered"),
                last_status_code=bindparam("b_code"), last_response=bindparam("b_response"),
                claim_token=None, claimed_until=None)
    )
    with engine.begin() as connection:
        result = connection.execute(statement, params)
    return result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(params)


def release(engine: Engine, token: str) -> None:
    """Give back a claim without an attempt (the runner stopped before sending)."""
    from sqlalchemy import update

    from emailengine.db.models import OutboxEvent as O

    with engine.begin() as connection:
        connection.execute(update(O.__table__).where(O.__table__.c.claim_token == token)
                           .values(claim_token=None, claimed_until=None, attempts=O.__table__.c.attempts - 1))


@dataclass
class DestinationStatus:
    destination: str
    pending: int = 0
    due: int = 0
    oldest_pending_age_seconds: float | None = None
    delivered_today: int = 0
    dead: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def status(session: Session, now: datetime, known: list[str]) -> list[DestinationStatus]:
    """Return per-destination queue figures: every destination in `known` and any in the table."""
    from sqlalchemy import func, select

    from emailengine.db.models import OutboxEvent as O

    by_dest: dict[str, DestinationStatus] = {name: DestinationStatus(name) for name in known}

    def entry(name: str) -> DestinationStatus:
        return by_dest.setdefault(name, DestinationStatus(name))

    for dest, state, count in session.execute(select(O.destination, O.status, func.count()).group_by(O.destination, O.status)):
        if state == "pending":
            entry(dest).pending = count
        elif state == "dead":
            entry(dest).dead = count
    for dest, count in session.execute(select(O.destination, func.count()).where(
            O.status == "pending", O.next_attempt_at <= now).group_by(O.destination)):
        entry(dest).due = count
    for dest, oldest in session.execute(select(O.destination, func.min(O.created_at)).where(
            O.status == "pending").group_by(O.destination)):
        if oldest is not None:
            oldest = _aware(oldest)
            entry(dest).oldest_pending_age_seconds = round(max(0.0, (now - oldest).total_seconds()), 1)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for dest, count in session.execute(select(O.destination, func.count()).where(
            O.status == "delivered", O.delivered_at >= midnight).group_by(O.destination)):
        entry(dest).delivered_today = count
    return sorted(by_dest.values(), key=lambda s: s.destination)


def _aware(value: datetime) -> datetime:
    # func.min() bypasses the UTCDateTime type on SQLite and may return a string or naive value.
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def requeue(session: Session, now: datetime, dead: bool, ident: str | None, destination: str | None) -> list[int]:
    """Make events due now; return the outbox row ids changed (caller audits and commits).

    No --id: every pending event (plus dead letters with dead=True). With an id (outbox row id
    or event id): that event's rows in any state but delivered, or only its dead rows with dead=True.
    Requeued events restart their attempt count and age (created_at = now).
    """
    from sqlalchemy import select, update

    from emailengine.db.models import OutboxEvent as O

    query = select(O.id)
    if ident is not None:
        query = query.where(O.id == int(ident)) if ident.isdigit() else query.where(O.event_id == ident)
        query = query.where(O.status == "dead") if dead else query.where(O.status != "delivered")
    else:
        query = query.where(O.status.in_(("pending", "dead") if dead else ("pending",)))
    if destination:
        query = query.where(O.destination == destination)
    ids = list(session.scalars(query.order_by(O.id)))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        restart = O.id.in_(chunk) if ident is not None else (O.id.in_(chunk) & (O.status == "dead"))
        session.execute(update(O).where(restart).values(attempts=0, created_at=now)
                        .execution_options(synchronize_session=False))
        session.execute(update(O).where(O.id.in_(chunk)).values(
            status="pending", next_attempt_at=now, claim_token=None, claimed_until=None)
            .execution_options(synchronize_session=False))
    return ids
