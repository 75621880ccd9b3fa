"""Drift: systemd/ has exactly one timer per job of DESIGN.md §4 with exactly its schedule, and
every service has the required settings; .ci/check-ops.sh (promtool, amtool, systemd-analyze)
passes on this checkout when those tools are installed."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

import pytest

from emailengine.health_rules import JOBS
from tests.fakes.tools import require_tools

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "systemd"

# DESIGN.md §4, written out again on purpose: a change to the job table must be made twice.
DESIGN_SCHEDULES = {
    "health": ("ee health", "*-*-* *:00/5:00 UTC"),                        # every 5 min
    "metrics-update": ("ee metrics update", "*-*-* *:*:00 UTC"),           # every 1 min
    "forward-retry": ("ee forward retry", "*-*-* *:00/2:00 UTC"),          # every 2 min
    "sync-quotas": ("ee sync-quotas", "*-*-* *:00:00 UTC"),                # hourly
    "blacklist-scan": ("ee blacklist scan", "*-*-* 00/4:00:00 UTC"),       # every 4 h
    "warmup-tick": ("ee warmup tick", "*-*-* 00:00:00 UTC"),               # daily 00:00
    "quarantine-release": ("ee quarantine release", "*-*-* 04:00:00 UTC"), # daily 04:00
    "dns-validate": ("ee dns validate", "*-*-* 06:00:00 UTC"),             # daily 06:00
    "rotate": ("ee rotate", "*-*-01 03:00:00 UTC"),                        # monthly, 1st 03:00
}


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keep the case of systemd keys
    parser.read(path)
    return parser


def _all_values(path: Path, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in path.read_text().splitlines() if line.startswith(f"{key}=")]


def test_timers_equal_the_job_table_with_exact_schedules():
    timers = {p.name.removeprefix("ee-").removesuffix(".timer") for p in SYSTEMD.glob("ee-*.timer")}
    assert timers == set(DESIGN_SCHEDULES) | {"backup"}
    assert {job.name: (f"ee {job.command}", job.on_calendar) for job in JOBS} == DESIGN_SCHEDULES
    for name, (_command, schedule) in DESIGN_SCHEDULES.items():
        timer = _unit(SYSTEMD / f"ee-{name}.timer")
        assert _all_values(SYSTEMD / f"ee-{name}.timer", "OnCalendar") == [schedule], name
        assert timer["Timer"]["Persistent"] == "true"
        assert timer["Timer"]["Unit"] == f"ee-{name}.service"
        assert timer["Install"]["WantedBy"] == "timers.target"
        delay = timer["Timer"].get("RandomizedDelaySec", "0")
        assert delay in ("0", "15s", "30s", "2min", "5min"), (name, delay)  # small where used


def test_calendar_expressions_are_valid_utc_schedules():
    require_tools("systemd-analyze", package="systemd")
    for _command, schedule in DESIGN_SCHEDULES.values():
        result = subprocess.run(["systemd-analyze", "calendar", schedule], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert f"Normalized form: {schedule}" in result.stdout


@pytest.mark.parametrize("name", [*DESIGN_SCHEDULES, "backup"])
def test_services_are_hardened_oneshots_with_credentials(name):
    path = SYSTEMD / f"ee-{name}.service"
    service = _unit(path)["Service"]
    assert service["Type"] == "oneshot"
    assert service["User"] == "emailengine"
    assert service["EnvironmentFile"] == "-/etc/emailengine/emailengine.env"
    assert service["LoadCredential"] == "ee:/etc/emailengine/credentials"
    assert service["StateDirectory"].split()[0] == "emailengine"
    for key in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "CapabilityBoundingSet", "SystemCallFilter"):
        assert key in service, (name, key)
    if name != "backup":
        assert service["ExecStart"] == f"/usr/local/bin/{DESIGN_SCHEDULES[name][0]}"


def test_every_scheduled_command_exists(cli):
    for command, _schedule in DESIGN_SCHEDULES.values():
        result = cli(*command.split()[1:], "--help")
        assert result.exit_code == 0, (command, result)


def test_check_ops_script_passes():
    require_tools("promtool", "amtool", "systemd-analyze", package="prometheus, prometheus-alertmanager, systemd")
    result = subprocess.run([str(ROOT / ".ci" / "check-ops.sh")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.stdout.count("ok   ee-") == len(DESIGN_SCHEDULES) + 1
    assert "SUCCESS" in result.stdout


def test_directory_credentials_reach_the_settings(tmp_path, monkeypatch):
    """LoadCredential=ee:/etc/emailengine/credentials turns a file `telegram_bot_token` into
    $CREDENTIALS_DIRECTORY/ee_telegram_bot_token; ee must read that as EE_TELEGRAM_BOT_TOKEN."""
    from emailengine.config import load_settings

    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "ee_telegram_bot_token").write_text("123:from-credential")
    (credentials / "ee_spamhaus_dqs_key").write_text("dqs-key")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    settings = load_settings()
    assert settings.telegram_bot_token.get_secret_value() == "123:from-credential"
    assert settings.spamhaus_dqs_key.get_secret_value() == "dqs-key"
