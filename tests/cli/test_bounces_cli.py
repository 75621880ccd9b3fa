"""`ee bounce-pipe --dry-run`, `ee bounces import` and `ee bounces stats` in-process."""

from __future__ import annotations

import json

import sqlalchemy as sa

from tests.fakes.bounces import accounting


def row_counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
                for table in ("bounces", "bounce_fingerprint_blocks", "bounce_counts", "delivery_stats", "suppressions",
                              "outbox", "bounce_pipe_status", "bounce_pipe_positions")}


def test_dry_run_prints_one_json_object_per_record_and_writes_nothing(cli, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("EE_SPOOL_DIR", str(tmp_path / "spool"))
    data = accounting(200, seed=9).decode()
    result = cli("bounce-pipe", "--dry-run", "--json", input=data)
    assert result.exit_code == 0, result
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 200
    for line in lines:
        assert {"type", "rcpt", "ip", "class", "reason", "status", "diag"} <= set(line)
    assert {line["class"] for line in lines} >= {"delivered"}
    assert all(count == 0 for count in row_counts(engine).values())
    assert not (tmp_path / "spool").exists()


def test_dry_run_reports_malformed_lines(cli, tmp_path):
    data = "type,timeLogged,rcpt\r\nd,1715677923\r\nb,1715677923,x@example.org\r\n"
    result = cli("bounce-pipe", "--dry-run", "--json", input=data)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0
    assert "column count" in lines[0]["reject"]
    assert lines[1]["class"] == "soft" and lines[1]["type"] == "b"


def test_import_then_stats_all_time_and_by_reason(cli, engine, tmp_path):
    path = tmp_path / "acct.csv"
    path.write_bytes(accounting(1000, seed=4))
    imported = cli("bounces", "import", str(path), "--json")
    assert imported.exit_code == 0, imported
    assert imported.json()["new"] == 1000
    again = cli("bounces", "import", str(path), "--json")
    assert again.json()["new"] == 0 and again.json()["duplicates"] == 1000
    totals = cli("bounces", "stats", "--json").json()
    assert sum(totals["by_type"].values()) == 1000
    assert sum(totals["by_class"].values()) == 1000
    assert totals["by_class"]["delivered"] == totals["by_type"]["d"]
    recent = cli("bounces", "stats", "--since", "24h", "--by", "reason", "--json").json()
    assert sum(recent["by_type"].values()) == 0  # the generated records are two days old
    by_ip = cli("bounces", "stats", "--by", "ip", "--json").json()["by_ip"]
    assert sum(row["total"] for row in by_ip) == 1000


def test_bad_options_and_missing_files_exit_2(cli, engine, tmp_path):
    assert cli("bounces", "stats", "--by", "color", "--json").exit_code == 2
    assert cli("bounces", "stats", "--since", "soon", "--json").exit_code == 2
    missing = cli("bounces", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "nope.csv" in missing.stderr
