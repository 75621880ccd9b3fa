"""The job runner: one run at a time across processes, a killed holder does not block the
next run, job_runs rows, heartbeat metrics and exit codes."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from emailengine.errors import TemporaryFailure

HOLDER = textwrap.dedent("""
    import sys, time
    from emailengine.jobs import run_job, JobSkipped
    try:
        with run_job("demo-job") as ctx:
            print("RUNNING", flush=True)
            time.sleep(float(sys.argv[1]))
            ctx.summary["slept"] = sys.argv[1]
    except JobSkipped:
        print("SKIPPED", flush=True)
""")


def _spawn(seconds: float, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(seconds)], stdout=subprocess.PIPE, text=True, env=env)


def _wait_running(process: subprocess.Popen) -> None:
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "RUNNING"


def _outcomes(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT outcome FROM job_runs WHERE job='demo-job' ORDER BY id")).scalars().all()
    engine.dispose()
    return list(rows)


def test_two_processes_run_the_job_once_and_a_killed_holder_releases_the_lock(use_db):
    env = dict(os.environ)
    holder = _spawn(30, env)
    _wait_running(holder)
    second = _spawn(0, env)
    out, _ = second.communicate(timeout=60)
    assert out.strip() == "SKIPPED"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    third = _spawn(0, env)
    out, _ = third.communicate(timeout=60)
    assert out.strip().splitlines() == ["RUNNING"]
    outcomes = _outcomes(use_db)
    assert outcomes.count("skipped") == 1
    assert outcomes[-1] == "success"
    assert "running" in outcomes  # the killed run stays visible as never finished


def test_job_records_outcome_metrics_and_exit_codes(use_db, tmp_path, monkeypatch):
    from emailengine.config import get_settings
    from emailengine.jobs import run_job

    monkeypatch.setenv("EE_METRICS_TEXTFILE_DIR", str(tmp_path / "metrics"))
    get_settings.cache_clear()
    with run_job("demo-job") as ctx:
        ctx.summary["ips"] = 3
    assert ctx.summary["_result"].exit_code == 0

    with pytest.raises(TemporaryFailure), run_job("demo-job") as ctx:
        raise TemporaryFailure("PowerMTA is down")
    assert ctx.summary["_result"].exit_code == 75

    with run_job("demo-job") as ctx:
        ctx.problem("one IP could not be processed")
    assert ctx.summary["_result"].exit_code == 1

    assert _outcomes(use_db) == ["success", "tempfail", "failed"]
    text = (tmp_path / "metrics" / "ee_demo_job.prom").read_text()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    outcome = {s.labels["outcome"]: s.value for s in families["ee_job_outcome"].samples}
    assert outcome == {"success": 0.0, "failed": 1.0, "tempfail": 0.0}
    assert "ee_job_last_run_timestamp_seconds" in families
    assert not list((tmp_path / "metrics").glob("*.tmp*")), "textfile must be renamed into place"


def test_unreachable_database_is_a_temporary_failure(monkeypatch):
    from emailengine.db.engine import get_engine

    with pytest.raises(TemporaryFailure, match="unreachable"):
        get_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_lock_on_sqlite_is_a_file_lock_that_dies_with_the_process(sqlite_url, tmp_path):
    from emailengine.db.engine import create_engine_for
    from emailengine.db.locks import job_lock

    engine = create_engine_for(sqlite_url)
    with job_lock(engine, "x", tmp_path) as first:
        assert first
        with job_lock(engine, "x", tmp_path) as second:
            assert not second
    with job_lock(engine, "x", tmp_path) as again:
        assert again


def test_a_crashing_job_alerts_once_per_dedupe_window(use_db, monkeypatch):
    from emailengine.config import get_settings
    from emailengine.jobs import run_job
    from emailengine.standins.telegram import TelegramStandIn

    with TelegramStandIn() as bot:
        monkeypatch.setenv("EE_TELEGRAM_API_URL", bot.url)
        monkeypatch.setenv("EE_TELEGRAM_BOT_TOKEN", bot.token)
        monkeypatch.setenv("EE_TELEGRAM_CHAT_ID", "42")
        get_settings.cache_clear()
        for _ in range(2):
            with pytest.raises(KeyError), run_job("demo-job"):
                raise KeyError("198.51.100.7")
        # expected failures (per-item problems, a dependency down) are alerted by the job itself
        with run_job("demo-job") as ctx:
            ctx.problem("198.51.100.8 could not be processed")
        with pytest.raises(TemporaryFailure), run_job("demo-job"):
            raise TemporaryFailure("MailWizz is down")
    assert len(bot.messages) == 1
    text = bot.messages[0]["text"]
    assert "demo-job" in text and "crashed" in text and "198.51.100.7" in text
