"""Operations test helpers: seed the shared tables that metrics and health read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def seed_state(session: Session, now: datetime = NOW) -> None:
    """Insert IPs, a lane, listings, delivery stats, suppressions, outbox rows and DNS checks."""
    from emailengine.db.models import (
        DeliveryStat,
        DnsCheck,
        Ip,
        IpLane,
        Listing,
        OutboxEvent,
        Suppression,
    )

    ips = [
        Ip(address="198.51.100.10", family=4, hostname="mta10.example.net", vmta="vmta-10", pool="main",
           state="ACTIVE", daily_quota=50000, warmup_day=0),
        Ip(address="198.51.100.11", family=4, hostname="mta11.example.net", vmta="vmta-11", pool="main",
           state="WARMING", daily_quota=2000, warmup_day=5),
        Ip(address="198.51.100.12", family=4, hostname="mta12.example.net", vmta="vmta-12", pool="main",
           state="STANDBY", daily_quota=0, warmup_day=0),
    ]
    session.add_all(ips)
    session.flush()
    session.add(IpLane(ip_id=ips[1].id, lane="gmail", plan_day=5, paused=True))
    session.add_all([
        Listing(target="198.51.100.12", target_kind="ip", zone="zen.spamhaus.org", tier="critical",
                codes=["127.0.0.2"], reason="SBL"),
        Listing(target="198.51.100.10", target_kind="ip", zone="b.barracudacentral.org", tier="major",
                cleared_at=now - timedelta(days=1)),
    ])
    today, yesterday, old = now.date(), (now - timedelta(days=1)).date(), (now - timedelta(days=5)).date()
    session.add_all([
        DeliveryStat(day=today, source_ip="198.51.100.10", provider="gmail", vmta="vmta-10",
                     delivered=900, deferred=30, hard=50, soft=20, block=30, complaints=2),
        DeliveryStat(day=yesterday, source_ip="198.51.100.10", provider="microsoft", vmta="vmta-10",
                     delivered=100, deferred=0, hard=0, soft=0, block=0, complaints=0),
        DeliveryStat(day=old, source_ip="198.51.100.11", provider="gmail", vmta="vmta-11",
                     delivered=5000, hard=4000),
    ])
    session.add_all([
        Suppression(email="gone@example.org", cause="hard", reason="bad-mailbox"),
        Suppression(email="angry@example.org", cause="complaint", reason="abuse"),
    ])
    session.add_all([
        OutboxEvent(event_id="e1", destination="scraper", event_type="hard_bounce", email="gone@example.org",
                    payload={}, occurred_at=now, created_at=now - timedelta(hours=2), status="pending"),
        OutboxEvent(event_id="e2", destination="scraper", event_type="hard_bounce", email="x@example.org",
                    payload={}, occurred_at=now, created_at=now - timedelta(minutes=5), status="pending"),
        OutboxEvent(event_id="e3", destination="mailwizz", event_type="complaint", email="y@example.org",
                    payload={}, occurred_at=now, created_at=now - timedelta(days=3), status="dead"),
    ])
    session.add_all([
        DnsCheck(run_at=now - timedelta(days=1), subject="example.net", check="spf", status="error"),
        DnsCheck(run_at=now, subject="example.net", check="spf", status="ok"),
        DnsCheck(run_at=now, subject="example.net", check="dmarc", status="warning"),
    ])
    session.commit()


def seed_job_successes(session: Session, now: datetime, age: timedelta = timedelta(seconds=30),
                       outcome: str = "success") -> None:
    """Insert one finished run of every scheduled job, `age` before now."""
    from emailengine.db.models import JobRun
    from emailengine.health_rules import JOB_NAMES

    for name in JOB_NAMES:
        finished = now - age
        session.add(JobRun(job=name, host="test", pid=1, actor="system", started_at=finished - timedelta(seconds=3),
                           finished_at=finished, outcome=outcome, exit_code=0 if outcome == "success" else 1))
    session.commit()


def seed_bounce_tables(engine, now: datetime = NOW) -> bool:
    """Insert hourly bounce counters and a pipe status row when the bounce pipeline's tables
    exist (migration 0002, another area's); return whether they did."""
    import sqlalchemy as sa

    if not sa.inspect(engine).has_table("bounce_counts"):
        return False
    metadata = sa.MetaData()
    counts = sa.Table("bounce_counts", metadata, autoload_with=engine)
    status = sa.Table("bounce_pipe_status", metadata, autoload_with=engine)
    hour = now.replace(minute=0, second=0, microsecond=0)
    base = {"record_type": "b", "source_ip": "198.51.100.10", "provider": "gmail"}
    with engine.begin() as connection:
        connection.execute(counts.insert(), [
            {**base, "hour": hour, "bounce_class": "hard", "reason": "bad-mailbox", "count": 30},
            {**base, "hour": hour - timedelta(hours=3), "bounce_class": "hard", "reason": "bad-mailbox", "count": 10},
            {**base, "hour": hour, "bounce_class": "block", "reason": "policy", "count": 7},
            {**base, "hour": hour - timedelta(days=2), "bounce_class": "soft", "reason": "mailbox-full", "count": 9},
        ])
        connection.execute(status.insert(), [{"host": "mta1", "records": 1234, "rejects": 5, "duplicates": 0,
                                              "last_record_at": now - timedelta(minutes=2), "updated_at": now}])
    return True
