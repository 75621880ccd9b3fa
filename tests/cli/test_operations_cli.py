"""`ee metrics update` from the command line, and the operations commands' help."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def test_metrics_update_json_and_textfile(cli, use_db, tmp_path, monkeypatch):
    monkeypatch.setenv("EE_METRICS_TEXTFILE_DIR", str(tmp_path / "prom"))
    result = cli("metrics", "update", "--json")
    assert result.exit_code == 0, result
    assert result.json()["samples"] > 0
    assert result.json()["published_to"] == [str(tmp_path / "prom")]
    names = {f.name for f in text_string_to_metric_families((tmp_path / "prom" / "ee_metrics_update.prom").read_text())}
    assert {"ee_ips", "ee_job_last_success_timestamp_seconds"} <= names


def test_metrics_update_without_a_sink_says_so(cli, use_db):
    result = cli("metrics", "update")
    assert result.exit_code == 0
    assert "nowhere" in result.stdout


def test_operations_commands_have_help(cli):
    for args in (("health",), ("metrics", "update"), ("alert", "test"), ("validate", "email")):
        result = cli(*args, "--help")
        assert result.exit_code == 0, args
        assert "Usage" in result.stdout
