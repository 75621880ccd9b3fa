"""Forwarding against a real loopback receiver that fails in every way the issue names."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import jwt
import pytest

from emailengine.forwarding.run import deliver_due
from emailengine.standins.scraper import ScraperStandIn
from tests.fakes.forwarding import event_payload, fast_settings, insert_events, make_key, outbox_counts


def independent_verify(headers: dict[str, str], body: bytes, secrets_by_kid: dict[str, str], issuer: str) -> None:
    """Verify a request with stdlib hmac and pyjwt only (not emailengine's code); raise on failure."""
    lower = {k.lower(): v for k, v in headers.items()}
    kid, timestamp = lower["x-ee-key-id"], lower["x-ee-timestamp"]
    secret = secrets_by_kid[kid].encode()
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(lower["x-ee-signature"], f"v1={expected}")
    token = lower["authorization"].removeprefix("Bearer ")
    assert jwt.get_unverified_header(token)["kid"] == kid
    claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=issuer,
                        options={"require": ["iat", "exp", "jti", "body_sha256"], "verify_exp": False})
    assert claims["exp"] - claims["iat"] <= 300
    assert claims["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert abs(claims["iat"] - int(timestamp)) <= 1
    assert lower["idempotency-key"]


def drain(settings, engine, rounds: int = 200) -> None:
    """Run delivery rounds until nothing is pending (as the 2-minute timer would)."""
    for _ in range(rounds):
        deliver_due(settings, engine)
        if outbox_counts(engine).get("pending", 0) == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"still pending after {rounds} rounds: {outbox_counts(engine)}")


def test_ten_thousand_events_all_arrive_through_chaos(engine):
    """10,000 events on PostgreSQL (the production database); 2,000 on SQLite to keep the suite fast."""
    count = 10_000 if engine.dialect.name == "postgresql" else 2_000
    kid, secret = make_key(engine)
    ids = insert_events(engine, count)
    receiver = ScraperStandIn(rate_500=0.12, rate_429=0.08, rate_slow=0.04, rate_drop=0.06, retry_after="0",
                              slow_seconds=0.45, seed=7).start()
    try:
        settings = fast_settings(scraper_url=receiver.url, forward_timeout=0.3)
        drain(settings, engine)
    finally:
        receiver.stop()
    assert set(receiver.events) == set(ids)  # every event arrived, none lost
    assert receiver.mismatched == []  # a duplicate always carries the same id and content
    behaviours = {r.behaviour for r in receiver.requests}
    assert {"500", "429", "slow", "drop", "ok"} <= behaviours
    for request in receiver.requests:
        independent_verify(request.headers, request.body, {kid: secret}, "emailengine")
    counts = outbox_counts(engine)
    assert counts == {"delivered": count}
    duplicated = [i for i, n in receiver.accepted.items() if n > 1]
    assert all(event_id in ids for event_id in duplicated)


def test_batch_body_and_headers_follow_the_contract(engine):
    make_key(engine)
    insert_events(engine, 3, campaign_uid="cu1", subscriber_uid="su1")
    with ScraperStandIn() as receiver:
        deliver_due(fast_settings(scraper_url=receiver.url), engine)
    (request,) = receiver.requests
    body = json.loads(request.body)
    assert [e["id"] for e in body["events"]] == ["ev-000000", "ev-000001", "ev-000002"]
    expected = event_payload(0, campaign_uid="cu1", subscriber_uid="su1")
    assert body["events"][0] == expected
    assert request.headers["Content-Type"] == "application/json"
    assert len(request.headers["Idempotency-Key"]) == 32


def test_retry_after_is_honoured_and_permanent_4xx_is_dead_lettered_with_response(engine):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from emailengine.db.models import OutboxEvent, utcnow

    make_key(engine)
    insert_events(engine, 2)
    settings = fast_settings(forward_batch=1)
    with ScraperStandIn(script=["429", "400"], retry_after="120") as receiver:
        deliver_due(settings.model_copy(update={"scraper_url": receiver.url}), engine)
    with Session(engine) as session:
        rows = {r.event_id: r for r in session.scalars(select(OutboxEvent))}
    waiting, dead = rows["ev-000000"], rows["ev-000001"]
    assert waiting.status == "pending" and waiting.last_status_code == 429
    assert (waiting.next_attempt_at - utcnow()).total_seconds() > 100  # Retry-After: 120, not the 0.01 s backoff
    assert dead.status == "dead" and dead.last_status_code == 400
    assert "stand-in told to fail" in dead.last_response


@pytest.mark.parametrize("limit", ["attempts", "age"])
def test_retryable_failures_become_dead_after_max_attempts_or_age(engine, limit):
    from datetime import timedelta

    from emailengine.db.models import utcnow

    make_key(engine)
    created = utcnow() - timedelta(hours=5) if limit == "age" else None
    insert_events(engine, 1, created_at=created)
    overrides = {"forward_max_attempts": 3} if limit == "attempts" else {"forward_max_age_hours": 1.0}
    with ScraperStandIn(rate_500=1.0) as receiver:
        settings = fast_settings(scraper_url=receiver.url, **overrides)
        for _ in range(6):
            deliver_due(settings, engine)
            time.sleep(0.06)
    assert outbox_counts(engine) == {"dead": 1}
    assert len(receiver.requests) == (3 if limit == "attempts" else 1)


def test_connection_refused_keeps_events_pending_with_durable_next_attempt(engine):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from emailengine.db.models import OutboxEvent

    make_key(engine)
    insert_events(engine, 5)
    receiver = ScraperStandIn().start()
    url = receiver.url
    receiver.stop()  # nothing listens on the port now
    stats = deliver_due(fast_settings(scraper_url=url, forward_breaker_failures=1,
                                      forward_backoff_base_seconds=60), engine)
    assert stats[0].failed == 5
    with Session(engine) as session:
        rows = session.scalars(select(OutboxEvent)).all()
    assert all(r.status == "pending" and r.attempts == 1 and "connect" in r.last_error for r in rows)
    assert all(r.claim_token is None for r in rows)
