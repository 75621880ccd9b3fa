"""`ee metrics update`: state gauges from the shared tables, written atomically to the textfile
directory (parsed with prometheus_client's parser) or pushed to a real Pushgateway."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from tests.fakes.operations import NOW, seed_bounce_tables, seed_state


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def _settings(**overrides):
    from emailengine.config import load_settings

    return load_settings(**overrides)


def test_metrics_update_writes_every_state_gauge_from_the_database(engine, tmp_path):
    from emailengine.metrics import STATE_METRICS
    from emailengine.metrics_update import run_metrics_update

    with Session(engine) as session:
        seed_state(session)
    bounce_tables = seed_bounce_tables(engine)
    settings = _settings(metrics_textfile_dir=tmp_path / "prom")
    ctx = run_metrics_update(settings=settings, engine=engine, now=NOW)
    assert ctx.summary["_result"].exit_code == 0
    text = (tmp_path / "prom" / "ee_metrics_update.prom").read_text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    ee_families = [name for name in families if name.startswith("ee_")]
    assert len(ee_families) >= 13
    assert all(families[name].documentation for name in ee_families)
    assert set(STATE_METRICS) <= set(families)
    samples = _samples(text)
    assert _value(samples, "ee_ips", state="ACTIVE") == 1
    assert _value(samples, "ee_ips", state="QUARANTINE") == 0
    assert _value(samples, "ee_ip_daily_quota", ip="198.51.100.11", pool="main") == 2000
    assert _value(samples, "ee_ip_warmup_day", ip="198.51.100.11", pool="main") == 5
    assert _value(samples, "ee_ip_lane_paused", ip="198.51.100.11", lane="gmail") == 1
    assert _value(samples, "ee_listings_open", tier="critical", kind="ip") == 1
    assert _value(samples, "ee_listings_open", tier="major", kind="ip") == 0  # cleared
    assert _value(samples, "ee_ip_listed", target="198.51.100.12", tier="critical") == 1
    # Last 24 h = yesterday + today: 1100 attempts, 50 hard, 30 block; complaints 2 / 1000 delivered.
    assert _value(samples, "ee_ip_hard_bounce_rate", ip="198.51.100.10") == pytest.approx(50 / 1100)
    assert _value(samples, "ee_ip_block_rate", ip="198.51.100.10") == pytest.approx(30 / 1100)
    assert _value(samples, "ee_ip_complaint_rate", ip="198.51.100.10") == pytest.approx(2 / 1000)
    assert ("ee_ip_hard_bounce_rate", (("ip", "198.51.100.11"),)) not in samples  # only old stats
    assert _value(samples, "ee_deliveries_24h", provider="gmail") == 900
    assert _value(samples, "ee_deliveries_24h", provider="microsoft") == 100
    if bounce_tables:  # the bounce pipeline's hourly counters: class and reason
        assert _value(samples, "ee_bounces_24h", **{"class": "hard", "reason": "bad-mailbox"}) == 40
        assert _value(samples, "ee_bounces_24h", **{"class": "block", "reason": "policy"}) == 7
        assert ("ee_bounces_24h", (("class", "soft"), ("reason", "mailbox-full"))) not in samples  # 2 days old
        assert _value(samples, "ee_bounce_pipe_db_records", host="mta1") == 1234
        assert _value(samples, "ee_bounce_pipe_db_rejects", host="mta1") == 5
        assert _value(samples, "ee_bounce_pipe_last_record_age_seconds") == 120
    else:  # without it, per class from delivery_stats
        assert _value(samples, "ee_bounces_24h", **{"class": "hard", "reason": "all"}) == 50
    assert _value(samples, "ee_suppressions", cause="complaint") == 1
    assert _value(samples, "ee_outbox_pending", destination="scraper") == 2
    assert _value(samples, "ee_outbox_oldest_pending_age_seconds", destination="scraper") == 7200
    assert _value(samples, "ee_outbox_dead", destination="mailwizz") == 1
    assert _value(samples, "ee_dns_check_status", subject="example.net", check="spf") == 0  # latest run
    assert _value(samples, "ee_dns_check_status", subject="example.net", check="dmarc") == 1
    assert _value(samples, "ee_job_last_success_timestamp_seconds", job="metrics-update") > 0


def test_job_runs_become_per_job_gauges(engine, tmp_path):
    from emailengine.metrics_update import run_metrics_update
    from tests.fakes.operations import seed_job_successes

    with Session(engine) as session:
        seed_job_successes(session, NOW)
    run_metrics_update(settings=_settings(metrics_textfile_dir=tmp_path), engine=engine, now=NOW)
    samples = _samples((tmp_path / "ee_metrics_update.prom").read_text())
    assert _value(samples, "ee_job_db_last_success_timestamp_seconds", job="warmup-tick") == \
        pytest.approx(NOW.timestamp() - 30)
    assert _value(samples, "ee_job_db_last_duration_seconds", job="rotate") == pytest.approx(3)
    assert _value(samples, "ee_job_db_last_outcome", job="rotate", outcome="success") == 1


def test_textfile_is_replaced_atomically_while_a_reader_polls_it(tmp_path):
    from prometheus_client import Gauge

    from emailengine import metrics

    settings = _settings(metrics_textfile_dir=tmp_path / "atomic")
    stop = threading.Event()
    errors: list[str] = []
    reads = 0

    def reader():
        nonlocal reads
        path = metrics.textfile_path(settings, "atomic")
        while not stop.is_set():
            if not path.exists():
                continue
            text = path.read_text()
            series = [s for f in text_string_to_metric_families(text) for s in f.samples]
            if len(series) != 500:
                errors.append(f"partial file: {len(series)} series")
            reads += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(40):
            registry = metrics.new_registry()
            gauge = Gauge("ee_atomic_test", "test gauge", ["n"], registry=registry)
            for n in range(500):
                gauge.labels(n=str(n)).set(round_)
            assert metrics.publish(registry, "atomic", settings)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:3]
    assert reads > 0
    assert sorted(p.name for p in (tmp_path / "atomic").iterdir()) == ["ee_atomic.prom"]  # no temp files


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def pushgateway(tmp_path):
    """A real Pushgateway (Debian's prometheus-pushgateway) on a loopback port, else None."""
    binary = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    if binary is None:
        yield None
        return
    port = _free_port()
    process = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/-/ready", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_metrics_are_pushed_with_the_job_as_grouping_key(engine, pushgateway, httpserver):
    from emailengine.metrics_update import run_metrics_update

    with Session(engine) as session:
        seed_state(session)
    host = socket.gethostname()
    if pushgateway is None:  # no Pushgateway binary: a loopback HTTP server records the push
        httpserver.expect_request(f"/metrics/job/metrics-update/instance/{host}", method="PUT").respond_with_data("")
        url = httpserver.url_for("/").rstrip("/")
    else:
        url = pushgateway
    run_metrics_update(settings=_settings(pushgateway_url=url), engine=engine, now=NOW)
    if pushgateway is None:
        request, _ = httpserver.log[0]
        text = request.get_data(as_text=True)
    else:
        text = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
    samples = _samples(text)
    group = {"instance": host, "job": "metrics-update"} if pushgateway else {}
    assert _value(samples, "ee_ips", state="STANDBY", **group) == 1
    # The job label the alert rules match on survives the grouping key.
    assert _value(samples, "ee_job_last_success_timestamp_seconds", **{**group, "job": "metrics-update"}) > 0


def test_unreachable_pushgateway_is_a_warning_not_a_failure(engine):
    from emailengine.metrics_update import run_metrics_update

    port = _free_port()
    ctx = run_metrics_update(settings=_settings(pushgateway_url=f"http://127.0.0.1:{port}"), engine=engine)
    assert ctx.summary["_result"].exit_code == 0


def test_pmta_gauges_come_from_the_management_api_and_are_skipped_when_unset(httpserver, tmp_path):
    from emailengine.metrics_update import pmta_samples

    assert pmta_samples(_settings()) == {}
    httpserver.expect_request("/status").respond_with_json(
        {"status": "success", "data": {"status": {"status": "running"}}})
    httpserver.expect_request("/queues").respond_with_json({"status": "success", "data": {"queue": [
        {"name": "gmail.com/vmta-10", "rcp": 1200, "mode": "normal"},
        {"name": "yahoo.com/vmta-11", "rcp": 300, "mode": "backoff"}]}})
    samples = pmta_samples(_settings(pmta_url=httpserver.url_for("/").rstrip("/")))
    assert samples["ee_pmta_api_up"] == [({}, 1.0)]
    assert samples["ee_pmta_queue_recipients"] == [({}, 1500.0)]
    assert samples["ee_pmta_backoff_queues"] == [({}, 1.0)]
    httpserver.clear()
    down = pmta_samples(_settings(pmta_url=f"http://127.0.0.1:{_free_port()}", pmta_timeout=1))
    assert down == {"ee_pmta_api_up": [({}, 0.0)]}


def test_old_alert_sends_are_pruned(engine, tmp_path):
    from datetime import timedelta

    from sqlalchemy import func, select

    from emailengine.db.models import AlertSend
    from emailengine.metrics_update import run_metrics_update

    with Session(engine) as session:
        session.add_all([AlertSend(key="k", at=NOW - timedelta(days=40), severity="warning", outcome="sent"),
                         AlertSend(key="k", at=NOW - timedelta(hours=2), severity="warning", outcome="failed")])
        session.commit()
    run_metrics_update(settings=_settings(metrics_textfile_dir=tmp_path), engine=engine, now=NOW)
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(AlertSend)).scalar_one() == 1
    samples = _samples((tmp_path / "ee_metrics_update.prom").read_text())
    assert _value(samples, "ee_alert_send_failures_24h") == 1


def test_metric_names_in_dashboard_and_rules_exist(tmp_path):
    """Drift: every ee_ metric the rules and the dashboard use is one ee writes."""
    import json
    import re

    from emailengine.metrics import HEALTH_METRICS, STATE_METRICS

    root = Path(__file__).resolve().parents[2] / "monitoring"
    known = set(STATE_METRICS) | {
        "ee_job_last_run_timestamp_seconds", "ee_job_duration_seconds", "ee_job_outcome",
        "ee_job_last_success_timestamp_seconds", *HEALTH_METRICS,
    }
    texts = [(root / "prometheus" / "ee.rules.yml").read_text()]
    dashboard = json.loads((root / "grafana" / "ee-dashboard.json").read_text())
    texts += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for text in texts for name in re.findall(r"\bee_[a-z0-9_]+", text)}
    assert used, "no ee_ metrics found"
    assert used <= known, sorted(used - known)
