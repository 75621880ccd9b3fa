"""Forwarding test helpers: outbox rows inserted directly, settings with tiny backoff, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from emailengine.config import Settings, load_settings


def fast_settings(**overrides: Any) -> Settings:
    """Settings with a tiny backoff and short timeouts, so retries happen within a test."""
    base: dict[str, Any] = {
        "forward_backoff_base_seconds": 0.01, "forward_backoff_max_seconds": 0.05,
        "forward_timeout": 0.5, "forward_connect_timeout": 0.5, "forward_quick_retries": 1,
        "forward_run_seconds": 30, "forward_breaker_failures": 1000, "forward_max_attempts": 1000,
    }
    base.update(overrides)
    return load_settings(**base)


def event_payload(n: int, event_type: str = "hard_bounce", **extra: Any) -> dict[str, Any]:
    occurred = datetime(2026, 11, 25, 8, 0, tzinfo=UTC) + timedelta(seconds=n)
    return {
        "id": f"ev-{n:06d}", "type": event_type, "email": f"user{n}@example.org",
        "reason": "bad-mailbox", "status": "5.1.1", "diag": "smtp;550 5.1.1 user unknown",
        "occurred_at": occurred.isoformat(), "source_ip": "198.51.100.10", "vmta": "vmta-10",
        "campaign_uid": None, "subscriber_uid": None, **extra,
    }


def insert_events(engine, count: int, destination: str = "scraper", start: int = 0,
                  event_type: str = "hard_bounce", created_at: datetime | None = None,
                  **extra: Any) -> list[str]:
    """Insert `count` pending outbox rows directly; return their event ids."""
    from emailengine.db.models import OutboxEvent, utcnow

    now = created_at or utcnow()
    rows = []
    for n in range(start, start + count):
        payload = event_payload(n, event_type, **extra)
        rows.append({"event_id": payload["id"], "destination": destination, "event_type": event_type,
                     "email": payload["email"], "payload": payload,
                     "occurred_at": datetime.fromisoformat(payload["occurred_at"]), "created_at": now,
                     "status": "pending", "attempts": 0, "next_attempt_at": now})
    with engine.begin() as connection:
        for chunk in range(0, len(rows), 2000):
            connection.execute(OutboxEvent.__table__.insert(), rows[chunk:chunk + 2000])
    return [r["event_id"] for r in rows]


def make_key(engine) -> tuple[str, str]:
    """Store a current signing key directly (no role check); return (kid, secret)."""
    from sqlalchemy.orm import Session

    from emailengine.db.models import SigningKey, utcnow
    from emailengine.forwarding.signing import new_kid, new_secret

    now = utcnow()
    kid, secret = new_kid(now), new_secret()
    with Session(engine) as session, session.begin():
        session.add(SigningKey(kid=kid, secret=secret, created_at=now, created_by="test", current=True))
    return kid, secret


def add_admin(engine, name: str = "fwadmin") -> str:
    """Add an admin operator (so admin commands work whatever uid runs the tests); return its name."""
    from sqlalchemy.orm import Session

    from emailengine.db.models import Operator

    with Session(engine) as session, session.begin():
        session.add(Operator(name=name, role="admin", created_by="test"))
    return name


def outbox_counts(engine) -> dict[str, int]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from emailengine.db.models import OutboxEvent

    with Session(engine) as session:
        return dict(session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)).all())


def mailwizz_standin(delivery_logs: dict[str, dict[str, str]] | None = None, fail_first: int = 0, **kwargs: Any):
    """The MailWizz API stand-in plus `GET campaigns/delivery-logs/email-message-id/{id}` and
    `fail_first` answers of 503 (to exercise the retry rules)."""
    from emailengine.standins.mailwizz_api import MailWizzApiStandin

    class Standin(MailWizzApiStandin):
        def __init__(self) -> None:
            super().__init__(**kwargs)
            self.delivery_logs = dict(delivery_logs or {})
            self.fail_first = fail_first

        def answer(self, method, path, headers, form):
            if self.fail_first > 0:
                self.fail_first -= 1
                self.requests.append((method, path, headers, form))
                return 503, {"status": "error", "error": "maintenance"}
            prefix = "/api/campaigns/delivery-logs/email-message-id/"
            if method == "GET" and path.startswith(prefix):
                from urllib.parse import unquote

                error = self.authorised(method, path, headers, form)
                self.requests.append((method, path, headers, form))
                if error:
                    return 401, {"status": "error", "error": error}
                record = self.delivery_logs.get(unquote(path[len(prefix):]))
                if record is None:
                    return 404, {"status": "error", "error": "The delivery log does not exist."}
                return 200, {"status": "success", "data": {"record": record}}
            return super().answer(method, path, headers, form)

    return Standin()
