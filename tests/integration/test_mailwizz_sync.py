"""`ee sync-quotas` against a real MariaDB shaped like MailWizz's tables."""

from __future__ import annotations

import os

import pytest

from tests.fakes.powermta import mariadb_database, mw_rows, seed, sqlite_engine_fixture  # noqa: F401 - fixture

pytestmark = pytest.mark.mariadb


@pytest.fixture
def mw_url(monkeypatch):
    with mariadb_database(os.environ["EE_TEST_MARIADB_URL"]) as url:
        monkeypatch.setenv("EE_MAILWIZZ_DB_URL", url)
        yield url


@pytest.fixture
def seeded(sqlite_engine):
    seed(sqlite_engine)
    return sqlite_engine


MANAGED = ("status", "hourly_quota", "daily_quota", "last_updated")


def test_sync_writes_only_differences_and_is_idempotent(cli, seeded, mw_url) -> None:
    before = mw_rows(mw_url)
    dry = cli("sync-quotas", "--dry-run", "--json")
    assert dry.exit_code == 0, dry
    assert mw_rows(mw_url) == before                      # dry run changes nothing
    result = cli("sync-quotas", "--json")
    assert result.exit_code == 0, result
    report = result.json()
    assert {c["server_id"] for c in report["changes"]} == {1, 2, 3, 5} == {c["server_id"] for c in dry.json()["changes"]}
    assert [s["server_id"] for s in report["skipped"]] == [4] and "warmup plan 3" in report["skipped"][0]["reason"]
    assert "300 s" in report["note"]
    after = mw_rows(mw_url)
    expect = {1: ("active", 2084, 50000), 2: ("active", 20, 480), 3: ("inactive", 100, 2400),
              5: ("active", 10, 240), 4: ("active", 50, 1000), 6: ("inactive", 10, 240), 9: ("active", 0, 0)}
    assert {sid: (r["status"], r["hourly_quota"], r["daily_quota"]) for sid, r in after.items()} == expect
    for sid, row in after.items():
        unmanaged = {k: v for k, v in row.items() if k not in MANAGED}
        assert unmanaged == {k: v for k, v in before[sid].items() if k not in MANAGED}
        assert (row["last_updated"] != before[sid]["last_updated"]) == (sid in {1, 2, 3, 5})
    second = cli("sync-quotas", "--json")
    assert second.exit_code == 0 and second.json()["changes"] == []
    assert mw_rows(mw_url) == after


def test_sync_table_output_mentions_cache(cli, seeded, mw_url, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    result = cli("sync-quotas", "--dry-run")
    assert result.exit_code == 0, result
    assert "inactive → active" in result.stdout and "300 s" in result.stdout.replace("\n", " ")


def test_failure_mid_transaction_changes_nothing(cli, seeded, mw_url, monkeypatch) -> None:
    from emailengine.integrations.mailwizz import mysql

    real = mysql.write_change
    seen: list[int] = []

    def flaky(cursor, prefix, server_id, after):
        seen.append(server_id)
        if len(seen) == 3:
            raise RuntimeError("boom")
        return real(cursor, prefix, server_id, after)

    monkeypatch.setattr(mysql, "write_change", flaky)
    before = mw_rows(mw_url)
    result = cli("sync-quotas")
    assert result.exit_code != 0
    assert mw_rows(mw_url) == before                      # the two earlier UPDATEs were rolled back


def test_unreachable_database_exits_75_and_alerts(cli, seeded, mw_url, monkeypatch) -> None:
    alerts: list[str] = []
    monkeypatch.setattr("emailengine.alerts.send_alert", lambda key, *a, **k: alerts.append(key) or False)
    monkeypatch.setenv("EE_MAILWIZZ_DB_URL", "mysql+pymysql://root@127.0.0.1:1/mailwizz")
    before = mw_rows(mw_url)
    result = cli("sync-quotas")
    assert result.exit_code == 75, result
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        line for line in result.stderr.splitlines() if "MailWizz database unreachable" in line]
    assert alerts == ["mailwizz:db"]
    assert mw_rows(mw_url) == before


def test_check_database_path(cli, seeded, mw_url) -> None:
    result = cli("mailwizz", "check", "--json")
    assert result.exit_code == 0, result
    rows = {r["path"]: r for r in result.json()}
    assert rows["database"]["ok"] == "yes" and "7 delivery servers, 1 with a MailWizz warmup plan" \
        == rows["database"]["detail"]


def test_readback_through_the_api_reports_mismatches(cli, seeded, mw_url, monkeypatch) -> None:
    from emailengine.standins.mailwizz_api import MailWizzApiStandin

    # The API shows server 2 still inactive (as if MailWizz had not seen the write) and not server 1.
    servers = [{"server_id": 2, "type": "smtp-pmta", "name": "s2", "hostname": "h", "status": "inactive"},
               {"server_id": 3, "type": "smtp-pmta", "name": "s3", "hostname": "h", "status": "inactive"}]
    with MailWizzApiStandin(version=2, public_key="k" * 40, servers=servers) as api:
        monkeypatch.setenv("EE_MAILWIZZ_API_URL", api.url)
        monkeypatch.setenv("EE_MAILWIZZ_API_KEY", "k" * 40)
        result = cli("sync-quotas", "--json")
    assert result.exit_code == 0, result
    readback = result.json()["readback"]
    assert "server 1: not visible to the API key (system server?)" in readback
    assert "server 2: API shows status 'inactive', wrote 'active'" in readback
    assert not any(line.startswith("server 3") for line in readback)
