"""The health decision: one Nagios state per check, the worst wins, the summary comes first."""

from datetime import UTC, datetime, timedelta

import pytest

from emailengine.health_rules import JOBS, DiskFact, Facts, JobFact, Limits, Status, decide, worst

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GB = 2**30


def healthy(**changes) -> Facts:
    facts = Facts(now=NOW, db_reachable=True, db_revision="0008", db_head="0008",
                  disks=[DiskFact("spool", "/var/lib/emailengine/spool", 50 * GB, 100 * GB)],
                  memory_available=8 * GB, memory_total=16 * GB,
                  bounce_last_record=NOW - timedelta(minutes=2), outbox_pending=0, outbox_dead=0,
                  jobs=[JobFact(job.name, NOW - job.interval / 2, "success") for job in JOBS if job.name != "health"])
    for name, value in changes.items():
        setattr(facts, name, value)
    return facts


def test_all_checks_ok_gives_ok_and_a_summary_counting_them():
    report = decide(healthy(), Limits())
    assert report.status is Status.OK
    assert report.summary() == f"EE OK - {len(report.checks)} checks ok"


def test_unreachable_database_is_critical_and_skips_database_checks():
    report = decide(healthy(db_reachable=False, db_error="connection refused"), Limits())
    assert report.status is Status.CRITICAL
    assert report.summary().startswith("EE CRITICAL - database: unreachable: connection refused")
    assert not any(c.name.startswith("job:") for c in report.checks)


def test_outdated_schema_is_critical_and_says_run_db_upgrade():
    report = decide(healthy(db_revision="0005"), Limits())
    assert report.status is Status.CRITICAL
    assert "ee db upgrade" in report.checks[0].message


@pytest.mark.parametrize(("free_gb", "expected"), [(50, Status.OK), (10, Status.WARNING), (4, Status.CRITICAL)])
def test_disk_thresholds(free_gb, expected):
    facts = healthy(disks=[DiskFact("spool", "/s", free_gb * GB, 100 * GB)])
    assert decide(facts, Limits()).status is expected


def test_unmeasurable_disk_is_unknown_and_unknown_outranks_warning():
    facts = healthy(disks=[DiskFact("spool", "/s", error="permission denied")], outbox_dead=3)
    report = decide(facts, Limits())
    assert report.status is Status.UNKNOWN
    assert worst([Status.WARNING, Status.UNKNOWN]) is Status.UNKNOWN
    assert worst([Status.UNKNOWN, Status.CRITICAL]) is Status.CRITICAL


def test_job_stale_beyond_twice_its_interval_warns_and_four_times_is_critical():
    job = next(j for j in JOBS if j.name == "warmup-tick")
    stale = [JobFact("warmup-tick", NOW - job.interval * 2.5, "success")]
    assert decide(healthy(jobs=stale), Limits()).status is Status.WARNING
    dead = [JobFact("warmup-tick", NOW - job.interval * 5, "success")]
    report = decide(healthy(jobs=dead), Limits())
    assert report.status is Status.CRITICAL
    assert "job:warmup-tick" in report.summary()


def test_minute_job_gets_five_minutes_of_slack():
    fresh = [JobFact("metrics-update", NOW - timedelta(minutes=4), "success")]
    assert decide(healthy(jobs=fresh), Limits()).status is Status.OK


def test_never_run_jobs_are_one_warning_naming_them():
    report = decide(healthy(jobs=[JobFact("rotate"), JobFact("dns-validate")]), Limits())
    assert report.status is Status.WARNING
    never = [c for c in report.checks if c.name == "jobs:never-run"]
    assert never and "rotate, dns-validate" in never[0].message


def test_last_run_failed_warns_even_when_recent_success():
    facts = healthy(jobs=[JobFact("forward-retry", NOW - timedelta(minutes=1), "failed")])
    assert decide(facts, Limits()).status is Status.WARNING


def test_outbox_backlog_and_dead_letters():
    warn = healthy(outbox_pending=5, outbox_oldest=NOW - timedelta(minutes=90))
    assert decide(warn, Limits()).status is Status.WARNING
    crit = healthy(outbox_pending=5, outbox_oldest=NOW - timedelta(hours=7))
    assert decide(crit, Limits()).status is Status.CRITICAL
    dead = healthy(outbox_dead=2)
    report = decide(dead, Limits())
    assert report.status is Status.WARNING and "ee forward status" in report.summary()


def test_silent_bounce_pipe_warns_and_pmta_api_down_is_critical():
    silent = healthy(bounce_last_record=NOW - timedelta(hours=5))
    assert decide(silent, Limits()).status is Status.WARNING
    assert decide(silent, Limits(bounce_warn_minutes=0)).status is Status.OK
    down = healthy(pmta_configured=True, pmta_ok=False, pmta_error="connection refused")
    assert decide(down, Limits()).status is Status.CRITICAL


def test_memory_low_and_unreadable():
    assert decide(healthy(memory_available=GB, memory_total=16 * GB), Limits()).status is Status.WARNING
    assert decide(healthy(memory_available=None), Limits()).status is Status.UNKNOWN


def test_summary_lists_worst_first_and_caps_at_four():
    facts = healthy(jobs=[JobFact(j.name, NOW - j.interval * 3, "success") for j in JOBS if j.name != "health"],
                    disks=[DiskFact("spool", "/s", 1 * GB, 100 * GB)])
    summary = decide(facts, Limits()).summary()
    assert summary.startswith("EE CRITICAL - disk:spool")
    assert "more)" in summary
    assert decide(facts, Limits()).as_dict()["exit_code"] == 2
