"""The operations part of `ee demo`: metrics file, health, a deduplicated Telegram alert to the
loopback stand-in, and address validation against the loopback DNS server."""

from __future__ import annotations

import os

import pytest
from prometheus_client.parser import text_string_to_metric_families


@pytest.fixture
def restored_environment():
    """prepare_environment rewrites os.environ (as `ee demo` does); put it back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_ops_demo_part(tmp_path, restored_environment):
    from emailengine.config import get_settings
    from emailengine.db.engine import database_engine
    from emailengine.demo import DemoContext, prepare_environment
    from emailengine.ops_demo import run_demo

    workdir, _url = prepare_environment(None, tmp_path / "demo")
    said: list[str] = []
    demo = DemoContext(get_settings(), database_engine(), workdir, said.append, lambda rows, cols, title: None)
    lines = run_demo(demo)
    prom = workdir / "metrics" / "ee_metrics_update.prom"
    assert any(f.name == "ee_ips" for f in text_string_to_metric_families(prom.read_text()))
    assert any(line.startswith("health: WARNING") for line in lines)  # no job has run in the demo
    assert "alerts: 2 Telegram message(s)" in "\n".join(lines)  # health change + one listing, repeat deduplicated
    assert "alice@example.net=valid" in lines[-1] and "carol@nomail.example=invalid" in lines[-1]
