"""`ee warmup ...`, `ee rotate`, `ee quarantine release` in-process: output, JSON, exit codes."""

import json
from datetime import timedelta

import pytest

from tests.fakes.warmup import today


@pytest.fixture
def db(use_db, monkeypatch):
    import emailengine.enforce

    monkeypatch.setattr(emailengine.enforce, "push_state_to_senders",
                        lambda *a, **k: emailengine.enforce.EnforceResult())
    return use_db


@pytest.fixture
def sqlite_db(sqlite_url, monkeypatch):
    """SQLite only: for commands whose database work does not differ between backends."""
    monkeypatch.setenv("EE_DATABASE_URL", sqlite_url)
    return sqlite_url


def add(cli, address, state="WARMING"):
    result = cli("ip", "add", address, "--hostname", "mta.example.net", "--vmta", f"v{address[-1]}",
                 "--state", state)
    assert result.exit_code == 0, result


def test_plans_lists_the_default_plan(cli, db):
    result = cli("warmup", "plans", "--json")
    assert result.exit_code == 0
    (plan,) = result.json()
    assert plan["name"] == "default" and plan["steps"] == 42 and plan["volumes"][6] == 1000 and plan["default"]
    assert "default" in cli("warmup", "plans").stdout


def test_plan_export_import_round_trip_and_assign(cli, db, tmp_path):
    exported = cli("warmup", "plan", "export", "default", "--format", "json")
    data = json.loads(exported.stdout)
    data["name"] = "slow"
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(data))
    assert cli("warmup", "plan", "import", str(path)).exit_code == 0
    again = cli("warmup", "plan", "import", str(path))
    assert again.exit_code == 2 and "--replace" in again.stderr
    assert cli("warmup", "plan", "import", str(path), "--replace").exit_code == 0
    toml_path = tmp_path / "slow.toml"
    assert cli("warmup", "plan", "export", "slow", "-o", str(toml_path)).exit_code == 0
    assert 'name = "slow"' in toml_path.read_text()
    add(cli, "192.0.2.1")
    assigned = cli("warmup", "plan", "assign", "192.0.2.1", "slow", "--json")
    assert assigned.exit_code == 0 and assigned.json()["warmup_plan"] == "slow"
    assert {p["name"] for p in cli("warmup", "plans", "--json").json()} == {"default", "slow"}


def test_plan_import_of_a_bad_file_is_one_line_exit_2_and_writes_nothing(cli, sqlite_db, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nfractions = [0.1, 0.9]\n')
    result = cli("warmup", "plan", "import", str(bad))
    assert result.exit_code == 2 and result.stderr.startswith("error: bad.toml: step 2 grows")
    assert "Traceback" not in result.output
    assert [p["name"] for p in cli("warmup", "plans", "--json").json()] == ["default"]
    missing = cli("warmup", "plan", "import", str(tmp_path / "nope.toml"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    assert cli("warmup", "plan", "import", str(bad)).exit_code == 2
    builtin = tmp_path / "default.json"
    builtin.write_text(json.dumps({"name": "default", "fractions": [1.0]}))
    assert "built in" in cli("warmup", "plan", "import", str(builtin), "--replace").stderr


def test_tick_status_and_idempotence(cli, db):
    add(cli, "192.0.2.1")
    first = cli("warmup", "tick", "--json")
    assert first.exit_code == 0 and first.json()["initialised"] == ["192.0.2.1"]
    tomorrow = (today() + timedelta(days=1)).isoformat()
    judged = cli("warmup", "tick", "--date", tomorrow, "--json").json()
    assert judged["judged_days"] == [today().isoformat()] and judged["counts"] == {"hold": 6}
    again = cli("warmup", "tick", "--date", tomorrow, "--json").json()
    assert again["judged_days"] == [] and again["decisions"] == []
    status = cli("warmup", "status", "--json").json()
    assert status[0]["address"] == "192.0.2.1" and len(status[0]["lanes"]) == 6
    assert {x["decision"] for x in status[0]["last_decisions"]} == {"hold"}
    one = cli("warmup", "status", "--ip", "192.0.2.1", "--json").json()
    assert len(one[0]["decisions"]) == 6 and one[0]["decisions"][0]["figures"]["sent"] == 0
    assert "192.0.2.1" in cli("warmup", "status").stdout
    shown = cli("ip", "show", "192.0.2.1", "--json").json()
    assert len(shown["decisions"]) == 6


def test_tick_dry_run_and_bad_date(cli, db):
    add(cli, "192.0.2.1")
    dry = cli("warmup", "tick", "--dry-run", "--json")
    assert dry.exit_code == 0 and dry.json()["dry_run"] is True
    assert cli("warmup", "status", "--json").json()[0]["lanes"] == {}
    bad = cli("warmup", "tick", "--date", "2026-13-01")
    assert bad.exit_code == 2 and "invalid date" in bad.stderr


def test_rotate_needs_admin_unless_system(cli, db, monkeypatch):
    add(cli, "192.0.2.1", state="ACTIVE")
    monkeypatch.setenv("SUDO_USER", "mallory")
    denied = cli("rotate")
    assert denied.exit_code == 2 and "not an ee operator" in denied.stderr
    monkeypatch.setenv("SUDO_USER", "system")
    result = cli("rotate", "--json")
    assert result.exit_code == 0 and result.json()["active_considered"] == 1 and result.json()["retire"] == []


def test_quarantine_release_dry_run(cli, db):
    result = cli("quarantine", "release", "--dry-run", "--json")
    assert result.exit_code == 0 and result.json() == {"dry_run": True, "released": [], "still_listed": [],
                                                        "waiting": [], "changed": False, "pushed": None}
    assert "released to WARMING: none" in cli("quarantine", "release").stdout


def test_simulate_json_and_png(cli, sqlite_db, tmp_path):
    png = tmp_path / "plan.png"
    result = cli("warmup", "simulate", "--days", "60", "--json", "--plot-out", str(png))
    assert result.exit_code == 0
    data = result.json()
    assert [s["summary"]["scenario"] for s in data["scenarios"]] == ["clean", "complaint-spike", "gmail-block-week"]
    assert data["scenarios"][0]["summary"]["active_from_day"] == 43 and len(data["scenarios"][0]["days"]) == 60
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and data["plot"] == str(png)


def test_simulate_terminal_chart_when_matplotlib_is_missing(cli, sqlite_db, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "yahoo-burst"\n[[events]]\nday = 3\nlane = "yahoo"\nmetric = "rep_deferred"\n'
                        'value = 12\n')
    result = cli("warmup", "simulate", "--days", "20", "--scenario", str(scenario), "--plot-out",
                 str(tmp_path / "x.png"))
    assert result.exit_code == 0
    assert "matplotlib is not installed" in result.stderr and "█" in result.stdout
    assert "yahoo-burst" in result.stdout and not (tmp_path / "x.png").exists()


def test_simulate_rejects_a_bad_scenario_file(cli, sqlite_db, tmp_path):
    scenario = tmp_path / "s.json"
    scenario.write_text('{"events": [{"day": 0, "metric": "hard_rate", "value": 0.1}]}')
    result = cli("warmup", "simulate", "--scenario", str(scenario))
    assert result.exit_code == 2 and "day and days" in result.stderr
