"""`ee pmta render|diff|apply|queues` in-process, on SQLite, with the stand-ins."""

from __future__ import annotations

import pytest

from emailengine.standins.pmta import PmtaApiStandin, calls
from tests.fakes.powermta import pmta_env, seed, sqlite_engine_fixture  # noqa: F401 - fixture


def test_render_diff_apply(cli, sqlite_engine, monkeypatch, tmp_path) -> None:
    seed(sqlite_engine)
    managed, state = pmta_env(monkeypatch, tmp_path)
    rendered = cli("pmta", "render")
    assert rendered.exit_code == 0, rendered
    assert "<virtual-mta-pool main>\n    virtual-mta vmta-10\n    virtual-mta vmta-11\n</virtual-mta-pool>" \
        in rendered.stdout
    diff = cli("pmta", "diff", "--json")
    assert diff.json()["changed"] is True
    applied = cli("pmta", "apply", "--json")
    assert applied.exit_code == 0, applied
    assert applied.json()["outcome"] == "applied" and managed.read_text() == rendered.stdout
    assert calls(state) == ["test config", "reload"]
    assert "up to date" in cli("pmta", "diff").stdout


def test_apply_needs_admin(cli, sqlite_engine, monkeypatch, tmp_path) -> None:
    seed(sqlite_engine)
    managed, _ = pmta_env(monkeypatch, tmp_path)
    monkeypatch.setattr("emailengine.identity.current_actor", lambda fallback="": "mallory")
    monkeypatch.setattr("emailengine.identity.is_root", lambda: False)
    result = cli("pmta", "apply")
    assert result.exit_code == 2 and "mallory is not an ee operator" in result.stderr
    assert not managed.exists()


def test_apply_reload_failure_exits_1_with_one_line(cli, sqlite_engine, monkeypatch, tmp_path) -> None:
    from emailengine.standins.pmta import set_switch

    seed(sqlite_engine)
    managed, state = pmta_env(monkeypatch, tmp_path)
    managed.write_text("# before\n")
    set_switch(state, "fail-reload", times=1)
    result = cli("pmta", "apply")
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: PowerMTA reload failed") and "previous config restored and reloaded" in last
    assert managed.read_text() == "# before\n"


def test_queues_from_the_management_api(cli, monkeypatch) -> None:
    with PmtaApiStandin(api_key="s3cret") as api:
        monkeypatch.setenv("EE_PMTA_URL", api.url)
        monkeypatch.setenv("EE_PMTA_API_KEY", "s3cret")
        result = cli("pmta", "queues", "--json")
        assert result.exit_code == 0, result
        rows = result.json()
        assert [r["queue"] for r in rows] == ["gmail.com/vmta-10", "yahoo.com/vmta-11", "hotmail.com/vmta-10"]
        assert rows[1]["mode"] == "backoff" and rows[2]["paused"] is True
        assert "/queues?format=json" in api.requests
        table = cli("pmta", "queues", "--limit", "1")
        assert "gmail.com/vmta-10" in table.stdout and "yahoo.com" not in table.stdout


@pytest.mark.parametrize("mode", ["garbage", "error", "nodata", "down", "wrong-key"])
def test_queues_pmta_down_or_garbage_exits_75(cli, monkeypatch, mode) -> None:
    with PmtaApiStandin(mode="ok" if mode in ("down", "wrong-key") else mode, api_key="right") as api:
        url = api.url
        monkeypatch.setenv("EE_PMTA_API_KEY", "wrong" if mode == "wrong-key" else "right")
        monkeypatch.setenv("EE_PMTA_URL", url)
        monkeypatch.setenv("EE_PMTA_TIMEOUT", "2")
        if mode == "down":
            api.stop()
        result = cli("pmta", "queues")
    assert result.exit_code == 75, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: PowerMTA")
    assert "Traceback" not in result.output


def test_render_only_this_hosts_ips(cli, sqlite_engine, monkeypatch, tmp_path) -> None:
    from emailengine.db.engine import session_scope
    from emailengine.inventory import add_ips, make_ip_spec

    pmta_env(monkeypatch, tmp_path)
    with session_scope(sqlite_engine) as session:
        add_ips(session, [make_ip_spec("192.0.2.1", "a.example.net", "vmta-a", "p", "mta-a.example.net", None, "ACTIVE"),
                          make_ip_spec("192.0.2.2", "b.example.net", "vmta-b", "p", "mta-b.example.net", None, "ACTIVE"),
                          make_ip_spec("192.0.2.3", "c.example.net", "vmta-c", "p", "", None, "ACTIVE")], "test")
    monkeypatch.setenv("EE_PMTA_HOST", "MTA-A.example.net")
    text = cli("pmta", "render").stdout
    assert "<virtual-mta vmta-a>" in text and "<virtual-mta vmta-c>" in text and "vmta-b" not in text
    monkeypatch.setenv("EE_PMTA_HOST", "nowhere.example.net")
    text = cli("pmta", "render").stdout
    assert "vmta-a" not in text and "<virtual-mta vmta-c>" in text
    monkeypatch.setenv("EE_PMTA_HOST", "")
    assert "vmta-b" in cli("pmta", "render").stdout


def test_render_refuses_when_no_ip_matches_the_host(cli, sqlite_engine, monkeypatch, tmp_path) -> None:
    from emailengine.db.engine import session_scope
    from emailengine.inventory import add_ips, make_ip_spec

    managed, _ = pmta_env(monkeypatch, tmp_path)
    with session_scope(sqlite_engine) as session:
        add_ips(session, [make_ip_spec("192.0.2.1", "a.example.net", "vmta-a", "p", "mta-a.example.net")], "test")
    monkeypatch.setenv("EE_PMTA_HOST", "other.example.net")
    result = cli("pmta", "apply")
    assert result.exit_code == 2 and "none of the 1 IPs belongs to PowerMTA host" in result.stderr
    assert not managed.exists()


def test_status_healthy_and_unhealthy(cli, monkeypatch) -> None:
    with PmtaApiStandin() as api:
        monkeypatch.setenv("EE_PMTA_URL", api.url)
        data = cli("pmta", "status", "--json")
        assert data.exit_code == 0, data
        assert data.json()["healthy"] is True and data.json()["backoff_queues"] == 1
        assert data.json()["queued_rcpt"] == 1630
        api.mode = "unhealthy"
        assert cli("pmta", "status").exit_code == 75
