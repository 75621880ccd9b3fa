"""`ee pmta apply` with the fake pmta and the management API stand-in: success and rollbacks."""

from __future__ import annotations

import pytest

from emailengine.standins.pmta import PmtaApiStandin, calls, set_switch
from tests.fakes.powermta import pmta_env, seed, sqlite_engine_fixture  # noqa: F401 - fixture


@pytest.fixture
def api():
    with PmtaApiStandin() as server:
        yield server


@pytest.fixture
def engine(sqlite_engine):
    """SQLite only: the apply path does not depend on the database kind (audit rows are shared code)."""
    return sqlite_engine


@pytest.fixture
def setup(engine, monkeypatch, tmp_path, api):
    seed(engine)
    managed, state = pmta_env(monkeypatch, tmp_path, api.url)
    return managed, state


def _apply(engine, **kw):
    from emailengine.config import get_settings
    from emailengine.integrations.powermta.service import apply

    get_settings.cache_clear()
    return apply(get_settings(), engine, "test", health_delay=0.01, require_admin=False, **kw)


def _audit_actions(engine) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from emailengine.db.engine import session_scope
    from emailengine.db.models import AuditEntry

    with session_scope(engine) as session:
        return [(a.action, a.after.get("outcome")) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "pmta.apply").order_by(AuditEntry.id))]


def test_apply_success_then_unchanged(setup, engine) -> None:
    managed, state = setup
    data = _apply(engine)
    assert data["outcome"] == "applied"
    assert "virtual-mta vmta-11" in managed.read_text() and "virtual-mta vmta-12\n" not in managed.read_text()
    assert calls(state) == ["test config", "reload"]
    assert _apply(engine)["outcome"] == "unchanged"
    assert calls(state) == ["test config", "reload"]      # nothing run when nothing changed
    assert _audit_actions(engine) == [("pmta.apply", "applied")]


def test_dry_run_writes_nothing(setup, engine) -> None:
    managed, state = setup
    data = _apply(engine, dry_run=True)
    assert data["outcome"] == "dry-run" and "+<virtual-mta vmta-10>" in data["diff"]
    assert not managed.exists() and calls(state) == []


@pytest.mark.parametrize("switch, failed_step", [("fail-test", "test config"), ("fail-reload", "reload")])
def test_failure_restores_previous_file_and_reloads(setup, engine, switch, failed_step) -> None:
    from emailengine.errors import JobFailed

    managed, state = setup
    managed.write_text("# the previous, working config\n")
    set_switch(state, switch, times=1)
    with pytest.raises(JobFailed, match=f"{failed_step} failed") as caught:
        _apply(engine)
    assert "previous config restored and reloaded" in caught.value.one_line()
    assert managed.read_text() == "# the previous, working config\n"
    assert calls(state)[-1] == "reload"
    assert _audit_actions(engine) == [("pmta.apply", "rolled-back")]


def test_unhealthy_api_rolls_back(setup, engine, api) -> None:
    from emailengine.errors import JobFailed

    managed, state = setup
    managed.write_text("# old\n")
    api.mode = "unhealthy"
    with pytest.raises(JobFailed, match="health failed"):
        _apply(engine)
    assert managed.read_text() == "# old\n"
    assert calls(state) == ["test config", "reload", "reload"]


def test_pmta_without_test_config_still_applies(setup, engine) -> None:
    _, state = setup
    set_switch(state, "no-test")
    assert _apply(engine)["outcome"] == "applied"
    assert calls(state) == ["test config", "reload"]


def test_backups_pruned_to_setting(setup, engine, monkeypatch) -> None:
    from emailengine.integrations.powermta.apply import list_backups

    managed, _ = setup
    monkeypatch.setenv("EE_PMTA_BACKUPS", "2")
    for n in range(4):
        managed.write_text(f"# version {n}\n")
        _apply(engine)
    backups = list_backups(managed)
    assert [b.read_text() for b in backups] == ["# version 2\n", "# version 3\n"]
    assert backups[0].parent.name == "ee-backups"


def test_push_state_to_senders_never_raises(setup, engine, api) -> None:
    from emailengine.config import get_settings
    from emailengine.enforce import push_state_to_senders

    managed, state = setup
    set_switch(state, "fail-reload")          # always: even the rollback reload fails
    result = push_state_to_senders(get_settings(), engine, "system", "blocklisted")
    assert result.pmta == "failed" and not result.ok
    assert any("reload failed too" in m for m in result.messages)
    assert result.mailwizz == "skipped"


def test_default_pmta_command_found_on_path(setup, engine, monkeypatch, tmp_path) -> None:
    import os

    _, state = setup
    monkeypatch.delenv("EE_PMTA_CMD")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert _apply(engine)["outcome"] == "applied"
    assert calls(state) == ["test config", "reload"]


def test_missing_pmta_command_fails_cleanly(setup, engine, monkeypatch) -> None:
    from emailengine.errors import JobFailed

    managed, _ = setup
    monkeypatch.setenv("EE_PMTA_CMD", "/nonexistent/pmta")
    with pytest.raises(JobFailed, match="command not found: /nonexistent/pmta"):
        _apply(engine)
    assert not managed.exists()            # there was no file before: the new one is removed again
