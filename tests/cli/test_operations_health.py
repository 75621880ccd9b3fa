"""`ee health`: Nagios exit codes for each state, summary line first, JSON, job heartbeat, and an
alert when the overall state changes."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from emailengine.standins.telegram import TelegramStandIn
from tests.fakes.operations import seed_job_successes

TOKEN = "77:health-token"


@pytest.fixture
def calm_thresholds(monkeypatch):
    """Disk and memory limits this machine always meets, so only the test's cause decides."""
    monkeypatch.setenv("EE_HEALTH_DISK_WARN_PERCENT", "0.02")
    monkeypatch.setenv("EE_HEALTH_DISK_CRIT_PERCENT", "0.01")
    monkeypatch.setenv("EE_HEALTH_MEMORY_WARN_PERCENT", "0.02")
    monkeypatch.setenv("EE_HEALTH_MEMORY_CRIT_PERCENT", "0.01")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _recent_runs(engine) -> None:
    from emailengine.db.models import utcnow

    with Session(engine) as session:
        seed_job_successes(session, utcnow())


def test_ok_exits_0_with_summary_first(cli, engine, calm_thresholds):
    _recent_runs(engine)
    result = cli("health")
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert lines[0].startswith("EE OK - ") and lines[0].endswith("checks ok")
    assert any(line.startswith("OK       database") for line in lines[1:])


def test_never_run_jobs_exit_1_warning(cli, engine, calm_thresholds):
    result = cli("health", "--json")
    assert result.exit_code == 1, result
    data = result.json()
    assert data["status"] == "WARNING" and data["summary"].startswith("EE WARNING - jobs:never-run")


def test_stale_job_is_critical_exit_2(cli, engine, calm_thresholds):
    from emailengine.db.models import JobRun, utcnow

    _recent_runs(engine)
    with Session(engine) as session:  # only warmup-tick: its last success is 5 days old
        for run in session.scalars(select(JobRun).where(JobRun.job == "warmup-tick")):
            run.finished_at = utcnow() - timedelta(days=5)
        session.commit()
    result = cli("health")
    assert result.exit_code == 2, result
    assert result.stdout.startswith("EE CRITICAL - job:warmup-tick: last success 5 d ago")


def test_low_disk_is_critical(cli, engine, monkeypatch):
    _recent_runs(engine)
    monkeypatch.setenv("EE_HEALTH_DISK_WARN_PERCENT", "99.99")
    monkeypatch.setenv("EE_HEALTH_DISK_CRIT_PERCENT", "99.9")
    monkeypatch.setenv("EE_HEALTH_MEMORY_WARN_PERCENT", "0.02")
    monkeypatch.setenv("EE_HEALTH_MEMORY_CRIT_PERCENT", "0.01")
    result = cli("health")
    assert result.exit_code == 2
    assert "disk:spool" in result.stdout.splitlines()[0]


def test_unreachable_database_is_critical(cli, monkeypatch, tmp_path, calm_thresholds):
    monkeypatch.setenv("EE_DATABASE_URL", f"postgresql+psycopg://ee@127.0.0.1:{_closed_port()}/ee")
    monkeypatch.setenv("EE_METRICS_TEXTFILE_DIR", str(tmp_path / "prom"))
    result = cli("health")
    assert result.exit_code == 2, result
    assert result.stdout.startswith("EE CRITICAL - database: unreachable")
    # No job_runs row without a database, but the heartbeat still reaches Prometheus.
    text = (tmp_path / "prom" / "ee_health.prom").read_text()
    assert 'ee_health_status 2.0' in text and 'ee_job_last_success_timestamp_seconds{job="health"}' in text


@pytest.mark.postgres
def test_unmigrated_postgres_is_critical_and_says_upgrade(cli, pg_url, monkeypatch, calm_thresholds):
    monkeypatch.setenv("EE_DATABASE_URL", pg_url)
    result = cli("health")
    assert result.exit_code == 2
    assert "run `ee db upgrade`" in result.stdout.splitlines()[0]


def test_bad_setting_is_unknown_exit_3(cli, monkeypatch):
    monkeypatch.setenv("EE_HEALTH_DISK_WARN_PERCENT", "lots")
    result = cli("health")
    assert result.exit_code == 3
    assert result.stdout.startswith("EE UNKNOWN - EE_HEALTH_DISK_WARN_PERCENT")


def test_pmta_api_down_is_critical(cli, engine, monkeypatch, calm_thresholds):
    _recent_runs(engine)
    monkeypatch.setenv("EE_PMTA_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("EE_PMTA_TIMEOUT", "1")
    result = cli("health", "--json")
    assert result.exit_code == 2
    check = next(c for c in result.json()["checks"] if c["name"] == "powermta-api")
    assert check["status"] == "CRITICAL" and "unreachable" in check["message"]


def test_health_run_is_recorded_and_alerts_only_on_state_change(cli, engine, monkeypatch, calm_thresholds):
    from emailengine.db.models import JobRun

    with TelegramStandIn(token=TOKEN) as bot:
        monkeypatch.setenv("EE_TELEGRAM_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("EE_TELEGRAM_CHAT_ID", "5")
        monkeypatch.setenv("EE_TELEGRAM_API_URL", bot.url)
        assert cli("health").exit_code == 1  # new → WARNING: alert
        assert cli("health").exit_code == 1  # unchanged: no alert
        assert len(bot.messages) == 1 and "ee health new → WARNING" in bot.messages[0]["text"]
        _recent_runs(engine)
        assert cli("health").exit_code == 0  # WARNING → OK: a resolved message
        assert len(bot.messages) == 2 and "WARNING → OK" in bot.messages[1]["text"]
    with Session(engine) as session:
        runs = session.scalars(select(JobRun).where(JobRun.job == "health", JobRun.host != "test")).all()
    assert len(runs) == 3 and all(run.outcome == "success" for run in runs)
