"""Tables shared across capabilities (migration 0001).

Area-private tables live in their own modules (bounces.py, forwarding.py, ...) with their own
migration. A capability that needs another column here adds it in its own migration.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emailengine.db.models.base import Base, UTCDateTime, utcnow


class Operator(Base):
    """A person allowed to run state-changing commands, identified by OS user name."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class Ip(Base):
    """A sending IP address: its virtual MTA, pool, lifecycle state, warmup position and quotas."""

    __tablename__ = "ips"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(45), unique=True)
    family: Mapped[int] = mapped_column(Integer)
    hostname: Mapped[str] = mapped_column(String(253))
    vmta: Mapped[str] = mapped_column(String(64), unique=True)
    pool: Mapped[str] = mapped_column(String(64), default="default", index=True)
    host: Mapped[str] = mapped_column(String(253), default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    state_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    mailwizz_server_id: Mapped[int | None] = mapped_column(Integer)
    warmup_plan: Mapped[str | None] = mapped_column(String(64))
    warmup_day: Mapped[int] = mapped_column(Integer, default=0)
    daily_quota: Mapped[int] = mapped_column(Integer, default=0)
    hourly_quota: Mapped[int] = mapped_column(Integer, default=0)
    quarantine_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retire_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    events: Mapped[list[IpEvent]] = relationship(
        back_populates="ip", cascade="all, delete-orphan", order_by="IpEvent.id"
    )


class IpEvent(Base):
    """One lifecycle transition of an IP, written in the transaction that changes its state."""

    __tablename__ = "ip_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ip_id: Mapped[int] = mapped_column(ForeignKey("ips.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ip: Mapped[Ip] = relationship(back_populates="events")


class Domain(Base):
    """A sending domain: DKIM selector and key, return-path and tracking domains."""

    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    dkim_selector: Mapped[str | None] = mapped_column(String(63))
    dkim_key_path: Mapped[str | None] = mapped_column(String(1024))
    return_path_domain: Mapped[str | None] = mapped_column(String(253))
    tracking_domain: Mapped[str | None] = mapped_column(String(253))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One hash-chained audit row: hash = sha256(prev_hash + canonical row)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class JobRun(Base):
    """One run of a scheduled job (or a skipped attempt when another run held the lock)."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64), index=True)
    host: Mapped[str] = mapped_column(String(253))
    pid: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64), default="system")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    exit_code: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")


class DeliveryStat(Base):
    """Per (UTC day, source IP, provider lane, vmta) counters written by the bounce pipeline.

    provider is one of emailengine.providers.LANES. rep_deferred counts deferrals that the
    provider coded as reputation pushback (Gmail 421 4.7.28, Microsoft S3150, Yahoo TSS04...).
    """

    __tablename__ = "delivery_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source_ip: Mapped[str] = mapped_column(String(45), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    vmta: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    deferred: Mapped[int] = mapped_column(Integer, default=0)
    rep_deferred: Mapped[int] = mapped_column(Integer, default=0)
    hard: Mapped[int] = mapped_column(Integer, default=0)
    soft: Mapped[int] = mapped_column(Integer, default=0)
    block: Mapped[int] = mapped_column(Integer, default=0)
    complaints: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_delivery_stats_ip_day", "source_ip", "day"),)


class Suppression(Base):
    """An address we must not mail again: hard bounce, complaint, or repeated soft bounces."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    cause: Mapped[str] = mapped_column(String(16))  # hard | complaint | soft
    reason: Mapped[str] = mapped_column(String(32), default="")
    source_ip: Mapped[str] = mapped_column(String(45), default="")
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEvent(Base):
    """A durable event to deliver to one destination (scraper-pro, MailWizz).

    event_id is stable across retries and shared by the rows of one event's destinations;
    (event_id, destination) is unique so a replayed record never enqueues twice.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    payload: Mapped[Any] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # created_at and next_attempt_at: on PostgreSQL also server defaults now() (migration 0010), which
    # the bounce pipe's COPY relies on
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Added by forwarding (issue 8, migration 0007): the runner's claim and the last answer.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_response: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("event_id", "destination", name="uq_outbox_event_destination"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )


class Listing(Base):
    """A blocklist listing of an IP or domain on one zone; open while cleared_at is NULL."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(253))
    target_kind: Mapped[str] = mapped_column(String(8))  # ip | domain
    zone: Mapped[str] = mapped_column(String(253))
    tier: Mapped[str] = mapped_column(String(16))  # critical | major | minor
    codes: Mapped[Any] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_listings_target_zone", "target", "zone", "cleared_at"),)


class IpLane(Base):
    """Warmup position of one IP for one provider lane (an IP can be warm for Gmail, cold for Hotmail)."""

    __tablename__ = "ip_lanes"

    ip_id: Mapped[int] = mapped_column(ForeignKey("ips.id", ondelete="CASCADE"), primary_key=True)
    lane: Mapped[str] = mapped_column(String(32), primary_key=True)
    plan_day: Mapped[int] = mapped_column(Integer, default=1)
    sending_days: Mapped[int] = mapped_column(Integer, default=0)
    idle_days: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_day: Mapped[date | None] = mapped_column(Date)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    daily_quota: Mapped[int] = mapped_column(Integer, default=0)


class WarmupDecision(Base):
    """One daily warmup decision for an IP lane, with the figures and the rule that made it."""

    __tablename__ = "warmup_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ip_id: Mapped[int] = mapped_column(ForeignKey("ips.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    lane: Mapped[str] = mapped_column(String(32))
    plan_day_before: Mapped[int] = mapped_column(Integer)
    plan_day_after: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16))  # advance|hold|step_back|pause|restart
    rule: Mapped[str] = mapped_column(Text)
    figures: Mapped[Any] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("ip_id", "day", "lane", name="uq_warmup_decisions_ip_day_lane"),)


class DnsCheck(Base):
    """One DNS validation result: subject (domain or IP), check name, ok|warning|error."""

    __tablename__ = "dns_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    subject: Mapped[str] = mapped_column(String(253))
    check: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[Any] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_dns_checks_subject_check", "subject", "check", "run_at"),)


class AlertState(Base):
    """Deduplication and rate-limit state of one alert key."""

    __tablename__ = "alerts"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_state: Mapped[str] = mapped_column(String(32), default="")
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    suppressed_count: Mapped[int] = mapped_column(Integer, default=0)
