"""The scheduled jobs (DESIGN.md §4) and the health decision: pure functions over gathered facts.

`decide(facts, limits)` turns what `ee health` measured (database, PowerMTA API, disks, memory,
bounce-pipe freshness, outbox, job runs) into one Nagios state per check and an overall state.
No database, network or clock here: `now` is part of the facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum


class Status(IntEnum):
    """Nagios plugin states; the integer is the exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


# Worst first: an unknown check may be hiding a critical one, so it outranks a warning.
_SEVERITY = {Status.OK: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.CRITICAL: 3}


@dataclass(frozen=True)
class Job:
    """One scheduled job: the name `run_job` uses, its command, systemd OnCalendar, and interval."""

    name: str
    command: str
    on_calendar: str
    interval: timedelta
    randomized_delay: str = ""


# The job table of DESIGN.md §4 (all UTC). systemd/ has one ee-<name>.timer per row (drift test).
JOBS: tuple[Job, ...] = (
    Job("health", "health", "*-*-* *:00/5:00 UTC", timedelta(minutes=5), "30s"),
    Job("metrics-update", "metrics update", "*-*-* *:*:00 UTC", timedelta(minutes=1)),
    Job("forward-retry", "forward retry", "*-*-* *:00/2:00 UTC", timedelta(minutes=2), "15s"),
    Job("sync-quotas", "sync-quotas", "*-*-* *:00:00 UTC", timedelta(hours=1), "2min"),
    Job("blacklist-scan", "blacklist scan", "*-*-* 00/4:00:00 UTC", timedelta(hours=4), "5min"),
    Job("warmup-tick", "warmup tick", "*-*-* 00:00:00 UTC", timedelta(days=1)),
    Job("quarantine-release", "quarantine release", "*-*-* 04:00:00 UTC", timedelta(days=1), "5min"),
    Job("dns-validate", "dns validate", "*-*-* 06:00:00 UTC", timedelta(days=1), "5min"),
    Job("rotate", "rotate", "*-*-01 03:00:00 UTC", timedelta(days=31)),
)
JOB_NAMES: tuple[str, ...] = tuple(job.name for job in JOBS)


@dataclass
class DiskFact:
    """Free space of the filesystem holding one path (None when it could not be measured)."""

    label: str
    path: str
    free_bytes: int | None = None
    total_bytes: int | None = None
    error: str = ""


@dataclass
class JobFact:
    """The latest runs of one job from job_runs."""

    name: str
    last_success: datetime | None = None
    last_outcome: str | None = None
    last_finished: datetime | None = None


@dataclass
class Facts:
    """Everything `ee health` measured, at time `now` (UTC)."""

    now: datetime
    db_reachable: bool = False
    db_error: str = ""
    db_revision: str | None = None
    db_head: str = ""
    pmta_configured: bool = False
    pmta_ok: bool = False
    pmta_error: str = ""
    disks: list[DiskFact] = field(default_factory=list)
    memory_available: int | None = None
    memory_total: int | None = None
    bounce_last_record: datetime | None = None
    bounce_source: str = ""
    outbox_pending: int | None = None
    outbox_oldest: datetime | None = None
    outbox_dead: int | None = None
    jobs: list[JobFact] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    """Thresholds (from Settings) the decision compares against."""

    disk_warn_percent: float = 15.0
    disk_crit_percent: float = 5.0
    memory_warn_percent: float = 10.0
    memory_crit_percent: float = 3.0
    bounce_warn_minutes: int = 180
    outbox_warn_minutes: int = 60
    outbox_crit_minutes: int = 360
    job_warn_factor: float = 2.0
    job_crit_factor: float = 4.0


@dataclass(frozen=True)
class Check:
    """One check's verdict: name, state, and a short message an operator can act on."""

    name: str
    status: Status
    message: str


@dataclass(frozen=True)
class Report:
    """The overall state (worst check) and every check."""

    status: Status
    checks: tuple[Check, ...]

    def summary(self) -> str:
        """Return the Nagios one-line summary: `EE <STATE> - <problems or all ok>`."""
        bad = [c for c in self.checks if c.status is not Status.OK]
        bad.sort(key=lambda c: -_SEVERITY[c.status])
        if not bad:
            return f"EE OK - {len(self.checks)} checks ok"
        text = "; ".join(f"{c.name}: {c.message}" for c in bad[:4])
        more = f" (+{len(bad) - 4} more)" if len(bad) > 4 else ""
        return f"EE {self.status.name} - {text}{more}"

    def as_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready data."""
        return {
            "status": self.status.name,
            "exit_code": int(self.status),
            "summary": self.summary(),
            "checks": [{"name": c.name, "status": c.status.name, "message": c.message} for c in self.checks],
        }


def worst(statuses: list[Status]) -> Status:
    """Return the worst of the statuses (CRITICAL > UNKNOWN > WARNING > OK); OK when empty."""
    return max(statuses, key=lambda s: _SEVERITY[s], default=Status.OK)


def decide(facts: Facts, limits: Limits) -> Report:
    """Given the gathered facts and limits, return the report with one state per check."""
    checks = [_database(facts)]
    if facts.pmta_configured:
        checks.append(_pmta(facts))
    checks.extend(_disk(disk, limits) for disk in facts.disks)
    checks.append(_memory(facts, limits))
    if facts.db_reachable:
        checks.append(_bounce_pipe(facts, limits))
        checks.append(_outbox(facts, limits))
        never = [job.name for job in facts.jobs if job.last_success is None and job.last_outcome is None]
        if never:
            checks.append(Check("jobs:never-run", Status.WARNING,
                                f"never ran: {', '.join(never)}; enable their timers (DEPLOY.md)"))
        checks.extend(_job(job, facts.now, limits) for job in facts.jobs if job.name not in never)
    return Report(worst([c.status for c in checks]), tuple(checks))


def _database(facts: Facts) -> Check:
    if not facts.db_reachable:
        return Check("database", Status.CRITICAL, f"unreachable: {facts.db_error or 'unknown error'}")
    if facts.db_revision != facts.db_head:
        found = facts.db_revision or "empty"
        return Check("database", Status.CRITICAL, f"schema at {found}, needs {facts.db_head}: run `ee db upgrade`")
    return Check("database", Status.OK, f"reachable, schema {facts.db_revision}")


def _pmta(facts: Facts) -> Check:
    if facts.pmta_ok:
        return Check("powermta-api", Status.OK, "answering")
    return Check("powermta-api", Status.CRITICAL, f"not answering: {facts.pmta_error or 'no answer'}")


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _disk(disk: DiskFact, limits: Limits) -> Check:
    name = f"disk:{disk.label}"
    if disk.free_bytes is None or not disk.total_bytes:
        return Check(name, Status.UNKNOWN, f"cannot measure {disk.path}: {disk.error or 'no data'}")
    free = _percent(disk.free_bytes, disk.total_bytes)
    text = f"{free:.1f}% free on {disk.path} ({disk.free_bytes // 2**20} MiB)"
    if free < limits.disk_crit_percent:
        return Check(name, Status.CRITICAL, text)
    if free < limits.disk_warn_percent:
        return Check(name, Status.WARNING, text)
    return Check(name, Status.OK, text)


def _memory(facts: Facts, limits: Limits) -> Check:
    if facts.memory_available is None or not facts.memory_total:
        return Check("memory", Status.UNKNOWN, "cannot read available memory")
    free = _percent(facts.memory_available, facts.memory_total)
    text = f"{free:.1f}% available ({facts.memory_available // 2**20} MiB)"
    if free < limits.memory_crit_percent:
        return Check("memory", Status.CRITICAL, text)
    if free < limits.memory_warn_percent:
        return Check("memory", Status.WARNING, text)
    return Check("memory", Status.OK, text)


def _age_text(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // 1440} d"


def _bounce_pipe(facts: Facts, limits: Limits) -> Check:
    if facts.bounce_last_record is None:
        return Check("bounce-pipe", Status.OK, "no accounting records yet")
    age = facts.now - facts.bounce_last_record
    text = f"last record {_age_text(age)} ago ({facts.bounce_source or 'database'})"
    if limits.bounce_warn_minutes and age > timedelta(minutes=limits.bounce_warn_minutes):
        return Check("bounce-pipe", Status.WARNING, f"{text}: is PowerMTA's acct-file pipe running?")
    return Check("bounce-pipe", Status.OK, text)


def _outbox(facts: Facts, limits: Limits) -> Check:
    pending = facts.outbox_pending or 0
    dead = facts.outbox_dead or 0
    text = f"{pending} pending, {dead} dead"
    status = Status.OK
    if facts.outbox_oldest is not None and pending:
        age = facts.now - facts.outbox_oldest
        text += f", oldest {_age_text(age)}"
        if age > timedelta(minutes=limits.outbox_crit_minutes):
            status = Status.CRITICAL
        elif age > timedelta(minutes=limits.outbox_warn_minutes):
            status = Status.WARNING
    if dead and status is Status.OK:
        status = Status.WARNING
        text += ": inspect with `ee forward status`"
    return Check("outbox", status, text)


def _job(job: JobFact, now: datetime, limits: Limits) -> Check:
    name = f"job:{job.name}"
    interval = next((j.interval for j in JOBS if j.name == job.name), timedelta(days=1))
    if job.last_success is None:
        if job.last_outcome in ("failed", "tempfail"):
            return Check(name, Status.WARNING, f"never succeeded, last run {job.last_outcome}")
        return Check(name, Status.WARNING, "never succeeded: is its timer enabled?")
    age = now - job.last_success
    text = f"last success {_age_text(age)} ago"
    # Slack for RandomizedDelaySec and run time on short intervals: at least 5 minutes.
    slack = max(interval * limits.job_warn_factor, interval + timedelta(minutes=5))
    if age > max(interval * limits.job_crit_factor, slack):
        return Check(name, Status.CRITICAL, f"{text} (expected every {_age_text(interval)})")
    if age > slack:
        return Check(name, Status.WARNING, f"{text} (expected every {_age_text(interval)})")
    if job.last_outcome in ("failed", "tempfail"):
        return Check(name, Status.WARNING, f"last run {job.last_outcome}; {text}")
    return Check(name, Status.OK, text)
