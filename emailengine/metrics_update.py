"""`ee metrics update`: read the shared tables and refresh the state gauges (every minute).

`gather_samples(session, now)` reads the database into plain samples; `ip_rates` is the pure
rate arithmetic; `run_metrics_update` runs it all as job "metrics-update", whose textfile
(ee_metrics_update.prom) or Pushgateway group then carries every state gauge.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from emailengine.logs import logger

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from emailengine.config import Settings
    from emailengine.jobs import JobContext

Samples = dict[str, list[tuple[dict[str, str], float]]]


@dataclass(frozen=True)
class Rates:
    """Rates of one IP over a window; attempts = delivered + hard + soft + block."""

    attempts: int
    hard_bounce_rate: float
    complaint_rate: float
    block_rate: float


def ip_rates(delivered: int, hard: int, soft: int, block: int, complaints: int) -> Rates:
    """Given an IP's counters, return its rates (0 when there is nothing to divide by).

    Deferrals are not attempts that ended; complaints are measured against deliveries.
    """
    attempts = delivered + hard + soft + block
    return Rates(
        attempts,
        hard / attempts if attempts else 0.0,
        complaints / delivered if delivered else 0.0,
        block / attempts if attempts else 0.0,
    )


def _add(samples: Samples, name: str, value: float, **labels: str) -> None:
    samples.setdefault(name, []).append((labels, float(value)))


def gather_samples(session: Session, now: datetime) -> Samples:
    """Given a session and the current UTC time, return every state gauge's samples."""
    samples: Samples = {}
    _ips(session, samples)
    _listings(session, samples)
    _delivery(session, now, samples)
    _bounces(session, now, samples)
    _outbox(session, now, samples)
    _dns(session, samples)
    _jobs(session, samples)
    _alerts(session, now, samples)
    age = bounce_pipe_last_record(session)
    if age[0] is not None:
        _add(samples, "ee_bounce_pipe_last_record_age_seconds", max(0.0, (now - age[0]).total_seconds()))
    _add(samples, "ee_metrics_update_timestamp_seconds", now.timestamp())
    return samples


def _ips(session: Session, samples: Samples) -> None:
    from sqlalchemy import select

    from emailengine.db.models import Ip, IpLane
    from emailengine.lifecycle import State

    counts = dict.fromkeys((state.value for state in State), 0)
    names: dict[int, str] = {}
    for ip in session.scalars(select(Ip)):
        counts[ip.state] = counts.get(ip.state, 0) + 1
        names[ip.id] = ip.address
        _add(samples, "ee_ip_daily_quota", ip.daily_quota, ip=ip.address, pool=ip.pool)
        _add(samples, "ee_ip_warmup_day", ip.warmup_day, ip=ip.address, pool=ip.pool)
    for state, count in counts.items():
        _add(samples, "ee_ips", count, state=state)
    for lane in session.scalars(select(IpLane)):
        if lane.ip_id in names:
            _add(samples, "ee_ip_lane_paused", 1 if lane.paused else 0, ip=names[lane.ip_id], lane=lane.lane)


def _listings(session: Session, samples: Samples) -> None:
    from sqlalchemy import func, select

    from emailengine.db.models import Listing

    counts = {(tier, kind): 0 for tier in ("critical", "major", "minor") for kind in ("ip", "domain")}
    open_rows = session.execute(
        select(Listing.tier, Listing.target_kind, Listing.target, func.count())
        .where(Listing.cleared_at.is_(None))
        .group_by(Listing.tier, Listing.target_kind, Listing.target)
    )
    listed: set[tuple[str, str]] = set()
    for tier, kind, target, count in open_rows:
        counts[(tier, kind)] = counts.get((tier, kind), 0) + count
        listed.add((target, tier))
    for (tier, kind), count in counts.items():
        _add(samples, "ee_listings_open", count, tier=tier, kind=kind)
    for target, tier in sorted(listed):
        _add(samples, "ee_ip_listed", 1, target=target, tier=tier)


def _delivery(session: Session, now: datetime, samples: Samples) -> None:
    from sqlalchemy import func, select

    from emailengine.db.models import DeliveryStat
    from emailengine.providers import LANES

    # delivery_stats is per UTC day: "last 24 h" is yesterday and today (the closest the day
    # granularity allows without under-counting just after midnight).
    since = (now - timedelta(hours=24)).date()
    columns = (DeliveryStat.delivered, DeliveryStat.deferred, DeliveryStat.hard, DeliveryStat.soft,
               DeliveryStat.block, DeliveryStat.complaints)
    per_ip = session.execute(
        select(DeliveryStat.source_ip, *(func.coalesce(func.sum(c), 0) for c in columns))
        .where(DeliveryStat.day >= since).group_by(DeliveryStat.source_ip)
    )
    classes = defaultdict(int)
    for address, delivered, _deferred, hard, soft, block, complaints in per_ip:
        rates = ip_rates(int(delivered), int(hard), int(soft), int(block), int(complaints))
        _add(samples, "ee_ip_attempts_24h", rates.attempts, ip=address)
        _add(samples, "ee_ip_hard_bounce_rate", rates.hard_bounce_rate, ip=address)
        _add(samples, "ee_ip_complaint_rate", rates.complaint_rate, ip=address)
        _add(samples, "ee_ip_block_rate", rates.block_rate, ip=address)
        for name, value in (("hard", hard), ("soft", soft), ("block", block), ("complaint", complaints)):
            classes[name] += int(value)
    per_lane = dict.fromkeys(LANES, (0, 0))
    for provider, delivered, deferred in session.execute(
        select(DeliveryStat.provider, func.coalesce(func.sum(DeliveryStat.delivered), 0),
               func.coalesce(func.sum(DeliveryStat.deferred), 0))
        .where(DeliveryStat.day >= since).group_by(DeliveryStat.provider)
    ):
        lane = provider if provider in LANES else "other"
        before = per_lane[lane]
        per_lane[lane] = (before[0] + int(delivered), before[1] + int(deferred))
    for lane, (delivered, deferred) in per_lane.items():
        _add(samples, "ee_deliveries_24h", delivered, provider=lane)
        _add(samples, "ee_deferrals_24h", deferred, provider=lane)
    samples["_classes_from_stats"] = [({"class": k}, float(v)) for k, v in classes.items()]


def _bounces(session: Session, now: datetime, samples: Samples) -> None:
    """Bounces per class and reason from the bounce pipeline's hourly counters (bounce_counts)
    when that table exists, else per class from delivery_stats (reason "all"); the pipe's own
    record/reject counters per host; suppressions per cause from the shared table."""
    from sqlalchemy import func, select

    from emailengine.db.models import Suppression

    from_stats = samples.pop("_classes_from_stats", [])
    detailed = _bounce_counts(session, now)
    if detailed is None:
        for labels, value in from_stats:
            _add(samples, "ee_bounces_24h", value, reason="all", **labels)
    else:
        for (klass, reason), value in sorted(detailed.items()):
            _add(samples, "ee_bounces_24h", value, **{"class": klass, "reason": reason})
    for host, records, rejects in _pipe_counters(session):
        _add(samples, "ee_bounce_pipe_db_records", records, host=host)
        _add(samples, "ee_bounce_pipe_db_rejects", rejects, host=host)
    causes = {"hard": 0, "complaint": 0, "soft": 0, "other": 0}
    for cause, count in session.execute(select(Suppression.cause, func.count()).group_by(Suppression.cause)):
        causes[cause if cause in causes else "other"] += count
    for cause, count in causes.items():
        _add(samples, "ee_suppressions", count, cause=cause)


# The bounce pipeline's tables are another area's (migration 0002); they are read by reflection
# so this job keeps working (and says so in the log) if that schema changes.


def _reflect(session: Session, table_name: str) -> Any:
    from sqlalchemy import MetaData, Table, inspect

    bind = session.get_bind()
    if not inspect(bind).has_table(table_name):
        return None
    return Table(table_name, MetaData(), autoload_with=bind)


def _columns(table: Any, *names: str) -> bool:
    return table is not None and all(name in table.c for name in names)


def _bounce_counts(session: Session, now: datetime) -> dict[tuple[str, str], int] | None:
    from sqlalchemy import func, select

    from emailengine.metrics import MAX_REASONS

    try:
        table = _reflect(session, "bounce_counts")
        if not _columns(table, "hour", "bounce_class", "reason", "count"):
            return None
        total = func.sum(table.c["count"])
        query = (select(table.c.bounce_class, table.c.reason, total)
                 .where(table.c.hour >= now - timedelta(hours=24), table.c.bounce_class != "")
                 .group_by(table.c.bounce_class, table.c.reason).order_by(total.desc()))
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for index, (klass, reason, count) in enumerate(session.execute(query)):
            label = str(reason or "unknown")[:32] if index < MAX_REASONS else "other"
            counts[(str(klass)[:16], label)] += int(count or 0)
        return counts
    except Exception as error:  # noqa: BLE001 - another area's table: never fail the job on it
        logger.warning("cannot read bounce_counts: %s", error)
        session.rollback()
        return None


def _pipe_counters(session: Session) -> list[tuple[str, int, int]]:
    from sqlalchemy import select

    try:
        table = _reflect(session, "bounce_pipe_status")
        if not _columns(table, "host", "records", "rejects"):
            return []
        rows = session.execute(select(table.c.host, table.c.records, table.c.rejects).order_by(table.c.host))
        return [(str(host), int(records or 0), int(rejects or 0)) for host, records, rejects in rows]
    except Exception as error:  # noqa: BLE001
        logger.warning("cannot read bounce_pipe_status: %s", error)
        session.rollback()
        return []


def bounce_pipe_last_record(session: Session) -> tuple[datetime | None, str]:
    """Return (time of the bounce pipe's newest committed record, where it was read) or (None, "").

    Reads max(last_record_at) of the pipe's per-host status table (bounce_pipe_status), else
    max(created_at) of its bounces table; delivery_stats has days only, so it cannot say.
    """
    from sqlalchemy import func, select

    for table_name, column in (("bounce_pipe_status", "last_record_at"), ("bounces", "created_at")):
        try:
            table = _reflect(session, table_name)
            if not _columns(table, column):
                continue
            value = _aware(session.execute(select(func.max(table.c[column]))).scalar())
        except Exception as error:  # noqa: BLE001 - another area's table: never fail health on it
            logger.warning("cannot read %s: %s", table_name, error)
            session.rollback()
            continue
        if value is not None:
            return value, table_name
    return None, ""


def outbox_figures(session: Session) -> dict[str, tuple[int, datetime | None, int]]:
    """Return {destination: (pending, oldest pending created_at, dead)} from the outbox."""
    from sqlalchemy import func, select

    from emailengine.db.models import OutboxEvent

    figures: dict[str, tuple[int, datetime | None, int]] = {}
    rows = session.execute(
        select(OutboxEvent.destination, OutboxEvent.status, func.count(), func.min(OutboxEvent.created_at))
        .where(OutboxEvent.status.in_(("pending", "dead")))
        .group_by(OutboxEvent.destination, OutboxEvent.status)
    )
    for destination, status, count, oldest in rows:
        pending, first, dead = figures.get(destination, (0, None, 0))
        if status == "pending":
            pending, first = count, _aware(oldest)
        else:
            dead = count
        figures[destination] = (pending, first, dead)
    return figures


def _aware(value: Any) -> datetime | None:
    from emailengine.db.models.base import UTCDateTime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return UTCDateTime().process_result_value(value, None) if value is not None else None


def _outbox(session: Session, now: datetime, samples: Samples) -> None:
    figures = outbox_figures(session)
    for destination in sorted(set(figures) | {"scraper", "mailwizz"}):
        pending, oldest, dead = figures.get(destination, (0, None, 0))
        _add(samples, "ee_outbox_pending", pending, destination=destination)
        _add(samples, "ee_outbox_dead", dead, destination=destination)
        age = (now - oldest).total_seconds() if oldest and pending else 0.0
        _add(samples, "ee_outbox_oldest_pending_age_seconds", max(0.0, age), destination=destination)


def _dns(session: Session, samples: Samples) -> None:
    from sqlalchemy import func, select

    from emailengine.db.models import DnsCheck
    from emailengine.metrics import DNS_STATUS_VALUES

    latest = (select(DnsCheck.subject, DnsCheck.check, func.max(DnsCheck.run_at).label("run_at"))
              .group_by(DnsCheck.subject, DnsCheck.check).subquery())
    rows = session.execute(
        select(DnsCheck.subject, DnsCheck.check, DnsCheck.status)
        .join(latest, (DnsCheck.subject == latest.c.subject) & (DnsCheck.check == latest.c.check)
              & (DnsCheck.run_at == latest.c.run_at))
    )
    seen: dict[tuple[str, str], float] = {}
    for subject, check, status in rows:
        value = float(DNS_STATUS_VALUES.get(status, 2))
        seen[(subject, check)] = max(value, seen.get((subject, check), 0.0))
    for (subject, check), value in sorted(seen.items()):
        _add(samples, "ee_dns_check_status", value, subject=subject, check=check)


def job_facts(session: Session) -> dict[str, dict[str, Any]]:
    """Return {job: {last_success, last_outcome, last_finished, last_duration}} from job_runs."""
    from sqlalchemy import func, select

    from emailengine.db.models import JobRun

    facts: dict[str, dict[str, Any]] = {}
    for job, last in session.execute(
        select(JobRun.job, func.max(JobRun.finished_at)).where(JobRun.outcome == "success").group_by(JobRun.job)
    ):
        facts.setdefault(job, {})["last_success"] = _aware(last)
    latest = (select(JobRun.job, func.max(JobRun.id).label("id"))
              .where(JobRun.finished_at.is_not(None), JobRun.outcome != "skipped")
              .group_by(JobRun.job).subquery())
    for run in session.scalars(select(JobRun).join(latest, JobRun.id == latest.c.id)):
        entry = facts.setdefault(run.job, {})
        entry["last_outcome"] = run.outcome
        entry["last_finished"] = run.finished_at
        if run.finished_at and run.started_at:
            entry["last_duration"] = max(0.0, (run.finished_at - run.started_at).total_seconds())
    return facts


def _jobs(session: Session, samples: Samples) -> None:
    for job, entry in sorted(job_facts(session).items()):
        if entry.get("last_success"):
            _add(samples, "ee_job_db_last_success_timestamp_seconds", entry["last_success"].timestamp(), job=job)
        if "last_duration" in entry:
            _add(samples, "ee_job_db_last_duration_seconds", entry["last_duration"], job=job)
        if entry.get("last_outcome"):
            for outcome in ("success", "failed", "tempfail"):
                _add(samples, "ee_job_db_last_outcome", 1 if entry["last_outcome"] == outcome else 0,
                     job=job, outcome=outcome)


def _alerts(session: Session, now: datetime, samples: Samples) -> None:
    from sqlalchemy import delete, func, select

    from emailengine.db.models import AlertSend

    def count(outcome: str, since: datetime) -> int:
        return session.execute(select(func.count()).select_from(AlertSend)
                               .where(AlertSend.outcome == outcome, AlertSend.at >= since)).scalar_one()

    _add(samples, "ee_alerts_sent_1h", count("sent", now - timedelta(hours=1)))
    _add(samples, "ee_alert_send_failures_24h", count("failed", now - timedelta(hours=24)))
    session.execute(delete(AlertSend).where(AlertSend.at < now - timedelta(days=30)))


def pmta_samples(settings: Settings) -> Samples:
    """Return the PowerMTA queue gauges from its management API; {} when EE_PMTA_URL is unset."""
    if not settings.pmta_url:
        return {}
    from emailengine.pmta_probe import queue_status

    status = queue_status(settings)
    samples: Samples = {}
    _add(samples, "ee_pmta_api_up", 1 if status.ok else 0)
    if status.ok:
        if status.recipients is not None:
            _add(samples, "ee_pmta_queue_recipients", status.recipients)
        if status.backoff_queues is not None:
            _add(samples, "ee_pmta_backoff_queues", status.backoff_queues)
    return samples


def run_metrics_update(settings: Settings | None = None, engine: Engine | None = None,
                       now: datetime | None = None) -> JobContext:
    """Run job "metrics-update": refresh every state gauge; return the finished job context."""
    from emailengine import metrics
    from emailengine.db.models import utcnow
    from emailengine.jobs import run_job

    with run_job("metrics-update", settings=settings, engine=engine) as ctx:
        from sqlalchemy.orm import Session

        moment = now or utcnow()
        with Session(ctx.engine) as session, session.begin():
            samples = gather_samples(session, moment)
        for name, values in pmta_samples(ctx.settings).items():
            samples.setdefault(name, []).extend(values)
        ctx.summary["samples"] = metrics.build_state_metrics(ctx.registry, samples)
        ctx.summary["published_to"] = _sinks(ctx.settings)
    return ctx


def _sinks(settings: Settings) -> list[str]:
    sinks = []
    if settings.metrics_textfile_dir:
        sinks.append(str(settings.metrics_textfile_dir))
    if settings.pushgateway_url:
        sinks.append(settings.pushgateway_url)
    return sinks
