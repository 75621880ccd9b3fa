"""The installed `ee` as a real process: exit codes, one-line errors, JSON output and JSON logs."""

import json
import os
import subprocess
import sys

EE = [sys.executable, "-m", "emailengine"]


def run(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*EE, *args], capture_output=True, text=True, env=env or dict(os.environ),
                          input=input, timeout=120)


def test_inventory_round_trip_and_errors_as_a_process(isolated_env):
    assert run("ip", "add", "192.0.2.7", "--hostname", "mta7.example.com", "--vmta", "v7").returncode == 0
    listed = run("ip", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["address"] == "192.0.2.7"
    bad = run("ip", "add", "192.0.2.999", "--hostname", "mta7.example.com", "--vmta", "v8")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["error: invalid IP address '192.0.2.999'"]
    usage = run("ip", "add")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    assert run("ip", "remove", "192.0.2.7").returncode == 0
    assert json.loads(run("ip", "list", "--json").stdout) == []


def test_json_logs_carry_job_and_run_id(isolated_env):
    env = dict(os.environ, EE_LOG_FORMAT="json")
    code = ("from emailengine.logs import setup_logging, logger\n"
            "setup_logging('json')\n"
            "from emailengine.jobs import run_job\n"
            "with run_job('log-test') as ctx:\n"
            "    logger.info('working', extra={'ip': '192.0.2.1'})\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    working = next(r for r in records if r["msg"] == "working")
    assert working["job"] == "log-test" and isinstance(working["run_id"], int) and working["ip"] == "192.0.2.1"
    assert working["level"] == "info" and working["ts"].endswith("+00:00")


def test_secrets_never_reach_the_logs(isolated_env):
    code = ("from emailengine.logs import setup_logging, logger, register_secret\n"
            "setup_logging('json')\n"
            "register_secret('s3cr3t-token-value')\n"
            "logger.warning('calling https://api/bots3cr3t-token-value/send')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "s3cr3t-token-value" not in result.stderr and "***" in result.stderr
