"""`ee health`: gather facts from the outside world, let health_rules.decide judge them.

Every probe is defensive: a probe that breaks yields a fact the decision reports (UNKNOWN or
CRITICAL), never an exception. After deciding, the run is recorded as job "health" when the
database is usable (else only its metrics are written), and an alert goes out when the overall
state differs from the previous run's.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from emailengine.health_rules import JOB_NAMES, DiskFact, Facts, JobFact, Limits, Report, Status, decide
from emailengine.logs import logger

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from emailengine.config import Settings

STATE_KEY = "health:state"


def limits_from(settings: Settings) -> Limits:
    """Return the decision thresholds configured in settings."""
    return Limits(
        disk_warn_percent=settings.health_disk_warn_percent,
        disk_crit_percent=settings.health_disk_crit_percent,
        memory_warn_percent=settings.health_memory_warn_percent,
        memory_crit_percent=settings.health_memory_crit_percent,
        bounce_warn_minutes=settings.health_bounce_warn_minutes,
        outbox_warn_minutes=settings.health_outbox_warn_minutes,
        outbox_crit_minutes=settings.health_outbox_crit_minutes,
    )


def disk_paths(settings: Settings) -> list[tuple[str, Path, bool]]:
    """Return (label, path, required) of every path whose filesystem is checked.

    The spool and the SQLite database are required (measured at their nearest existing parent);
    the PowerMTA queue dir only when it exists; EE_HEALTH_DISK_PATHS entries are required.
    """
    from sqlalchemy.engine import make_url

    paths: list[tuple[str, Path, bool]] = [("spool", settings.spool_dir, True)]
    url = make_url(settings.effective_database_url())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        paths.append(("database", Path(url.database), True))
    paths.append(("pmta-queue", settings.pmta_spool_dir, False))
    for index, text in enumerate(p.strip() for p in settings.health_disk_paths.split(",") if p.strip()):
        paths.append((f"path{index + 1}", Path(text), True))
    return paths


def measure_disk(label: str, path: Path, required: bool) -> DiskFact | None:
    """Return the free space of path's filesystem (its nearest existing parent when required)."""
    probe = path
    if not probe.exists():
        if not required:
            return None
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
    try:
        stats = os.statvfs(probe)
    except OSError as error:
        return DiskFact(label, str(path), error=str(error))
    return DiskFact(label, str(path), stats.f_bavail * stats.f_frsize, stats.f_blocks * stats.f_frsize)


def read_memory(meminfo: Path = Path("/proc/meminfo")) -> tuple[int | None, int | None]:
    """Return (MemAvailable, MemTotal) in bytes from /proc/meminfo, (None, None) if unreadable."""
    try:
        fields = dict(line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line)
        return int(fields["MemAvailable"].split()[0]) * 1024, int(fields["MemTotal"].split()[0]) * 1024
    except (OSError, KeyError, ValueError, IndexError):
        return None, None


def gather(settings: Settings, now: datetime) -> tuple[Facts, Engine | None]:
    """Measure everything `ee health` judges; return the facts and the engine when usable."""
    facts = Facts(now=now)
    engine = _database(settings, facts)
    if engine is not None:
        _from_database(engine, facts)
    if settings.pmta_url:
        from emailengine.pmta_probe import queue_status

        facts.pmta_configured = True
        status = queue_status(settings)
        facts.pmta_ok, facts.pmta_error = status.ok, status.error
    for label, path, required in disk_paths(settings):
        disk = measure_disk(label, path, required)
        if disk is not None:
            facts.disks.append(disk)
    facts.memory_available, facts.memory_total = read_memory()
    return facts, engine


def _database(settings: Settings, facts: Facts) -> Engine | None:
    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import SCHEMA_HEAD, current_revision

    facts.db_head = SCHEMA_HEAD
    try:
        engine = create_engine_for(settings.effective_database_url())
        if engine.dialect.name == "sqlite":
            from emailengine.db.engine import ensure_schema

            ensure_schema(engine)  # the embedded database migrates itself on first use
        facts.db_revision = current_revision(engine)
        facts.db_reachable = True
    except Exception as error:  # noqa: BLE001 - the database being down is a finding
        facts.db_error = error.one_line() if hasattr(error, "one_line") else f"{type(error).__name__}: {error}"
        facts.db_error = " ".join(facts.db_error.split())[:200]
        return None
    return engine if facts.db_revision == SCHEMA_HEAD else None


def _from_database(engine: Engine, facts: Facts) -> None:
    from sqlalchemy.orm import Session

    from emailengine.metrics_update import bounce_pipe_last_record, job_facts, outbox_figures

    with Session(engine) as session:
        facts.bounce_last_record, facts.bounce_source = bounce_pipe_last_record(session)
        outbox = outbox_figures(session)
        facts.outbox_pending = sum(v[0] for v in outbox.values())
        facts.outbox_dead = sum(v[2] for v in outbox.values())
        oldest = [v[1] for v in outbox.values() if v[1] is not None]
        facts.outbox_oldest = min(oldest) if oldest else None
        known = job_facts(session)
    for name in JOB_NAMES:
        if name == "health":
            continue  # this very run is the evidence that health runs
        entry = known.get(name, {})
        facts.jobs.append(JobFact(name, entry.get("last_success"), entry.get("last_outcome"),
                                  entry.get("last_finished")))


def run_health(settings: Settings, now: datetime | None = None) -> Report:
    """Gather, decide, record the run and its metrics, alert on a state change; return the report."""
    from emailengine.db.models.base import utcnow

    started = time.monotonic()
    facts, engine = gather(settings, now or utcnow())
    report = decide(facts, limits_from(settings))
    _record(settings, engine, report, time.monotonic() - started)
    if engine is not None:
        _alert_on_change(report)
    else:
        _alert_without_db(report)
    return report


def _record(settings: Settings, engine: Engine | None, report: Report, duration: float) -> None:
    from emailengine import metrics

    registry = metrics.new_registry()
    _health_metrics(registry, report)
    if engine is None:
        # No job_runs row without a database: the heartbeat still reaches Prometheus.
        metrics.record_job(registry, "health", "success", duration, time.time())
        metrics.publish(registry, "health", settings)
        return
    try:
        from emailengine.jobs import JobSkipped, run_job

        with run_job("health", settings=settings, engine=engine) as ctx:
            _health_metrics(ctx.registry, report)
            ctx.summary.update(status=report.status.name, summary=report.summary()[:500])
    except JobSkipped:
        logger.info("another health run holds the lock; not recorded")
    except Exception as error:  # noqa: BLE001 - recording must not change the verdict
        logger.warning("cannot record the health run: %s", error)


def _health_metrics(registry: object, report: Report) -> None:
    from prometheus_client import Gauge

    overall = Gauge("ee_health_status", "Overall ee health: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
                    registry=registry)
    overall.set(int(report.status))
    per_check = Gauge("ee_health_check_status", "Health check state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
                      ["check"], registry=registry)
    for check in report.checks:
        per_check.labels(check=check.name).set(int(check.status))


def _alert_on_change(report: Report) -> None:
    from emailengine.alerts import send_alert, state_changed

    changed, previous = state_changed(STATE_KEY, report.status.name)
    if not changed:
        return
    severity = {Status.OK: "resolved", Status.WARNING: "warning"}.get(report.status, "critical")
    send_alert("health", f"ee health {previous or 'new'} → {report.status.name}", _details(report),
               severity=severity, dedupe=False,
               action="" if report.status is Status.OK else "run `ee health` on the host and fix the checks listed")


def _alert_without_db(report: Report) -> None:
    from emailengine.alerts import send_alert

    send_alert("health:no-database", f"ee health {report.status.name}: database unusable", _details(report),
               severity="critical", action="check PostgreSQL and `ee db upgrade`; see `ee health`")


def _details(report: Report) -> str:
    bad = [c for c in report.checks if c.status is not Status.OK]
    return "\n".join(f"{c.status.name} {c.name}: {c.message}" for c in bad) or report.summary()
