"""`ee demo`, the README's main command, as a real subprocess on the embedded SQLite default."""

import json
import os
import subprocess
import sys
from pathlib import Path

EE = [sys.executable, "-m", "emailengine"]


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EE_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    return env


def test_demo_runs_every_part_and_leaves_the_operators_database_alone(tmp_path):
    result = subprocess.run([*EE, "demo", "--json"], capture_output=True, text=True, env=_env(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["ok"] is True
    statuses = {part["part"]: part["status"] for part in report["parts"]}
    assert statuses["foundation"] == "ok" and statuses["audit trail"] == "ok"
    assert "failed" not in statuses.values()
    assert not (tmp_path / "data" / "emailengine" / "ee.db").exists()


def test_demo_runs_again_on_a_given_database(tmp_path):
    db = tmp_path / "demo.db"
    first = subprocess.run([*EE, "demo", "--db", str(db)], capture_output=True, text=True, env=_env(tmp_path), timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "summary" in first.stdout and db.is_file()
    again = subprocess.run([*EE, "demo", "--db", str(db), "--json"], capture_output=True, text=True,
                           env=_env(tmp_path), timeout=300)
    assert again.returncode == 0 and json.loads(again.stdout)["ok"] is True


def test_demo_refuses_a_database_it_did_not_create(tmp_path):
    precious = tmp_path / "ee.db"
    precious.write_bytes(b"operator data")
    result = subprocess.run([*EE, "demo", "--db", str(precious)], capture_output=True, text=True,
                            env=_env(tmp_path), timeout=120)
    assert result.returncode == 2 and "not an ee demo database" in result.stderr
    assert precious.read_bytes() == b"operator data"
