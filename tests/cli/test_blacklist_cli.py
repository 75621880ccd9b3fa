"""`ee blacklist check|scan|status|zones` in-process, against the loopback DNS server."""

from __future__ import annotations

import pytest

from tests.fakes import blocklists as fake


@pytest.fixture
def zones_served(dns_server, monkeypatch):
    fake.serve(dns_server)
    monkeypatch.setenv("EE_BLOCKLIST_DISABLED", fake.disabled_others())
    monkeypatch.setenv("EE_BLOCKLIST_RETRIES", "0")
    monkeypatch.setenv("EE_DNS_TIMEOUT", "0.3")
    return dns_server


def test_check_json_has_one_object_per_target_and_zone(cli, zones_served):
    result = cli("blacklist", "check", fake.LISTED_IP, fake.CLEAN_IP, fake.LISTED_DOMAIN, "--json")
    assert result.exit_code == 0, result
    rows = result.json()
    assert all({"target", "zone", "status", "codes", "reason"} <= set(row) for row in rows)
    by_pair = {(row["target"], row["zone"]): row for row in rows}
    assert by_pair[(fake.LISTED_IP, "zen.spamhaus.org")]["status"] == "listed"
    assert by_pair[(fake.LISTED_IP, "zen.spamhaus.org")]["codes"] == ["127.0.0.2", "127.0.0.4"]
    assert by_pair[(fake.CLEAN_IP, "zen.spamhaus.org")]["status"] == "clean"
    assert by_pair[(fake.CLEAN_IP, "bl.spamcop.net")]["status"] == "error"  # lists the world: broken
    assert by_pair[(fake.LISTED_DOMAIN, "dbl.spamhaus.org")]["status"] == "listed"
    ip_zones = {zone for target, zone in by_pair if target == fake.CLEAN_IP}
    assert ip_zones == {"zen.spamhaus.org", "bl.spamcop.net", "psbl.surriel.com"}


def test_check_table_names_broken_zones(cli, zones_served):
    result = cli("blacklist", "check", fake.CLEAN_IP)
    assert result.exit_code == 0, result
    assert "zen.spamhaus.org" in result.stdout
    assert "bl.spamcop.net broken" in result.stdout


def test_check_changes_nothing(cli, use_db, zones_served, engine):
    from sqlalchemy import func, select

    from emailengine.db.models import JobRun, Listing

    assert cli("blacklist", "check", fake.LISTED_IP, "--json").exit_code == 0
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Listing)) == 0
        assert connection.scalar(select(func.count()).select_from(JobRun)) == 0


def test_check_refuses_a_bad_target(cli, zones_served):
    result = cli("blacklist", "check", "not an ip!", "--json")
    assert result.exit_code == 2
    assert result.stderr.startswith("error:") and "Traceback" not in result.output


def test_scan_then_status(cli, use_db, zones_served):
    assert cli("ip", "add", fake.LISTED_IP, "--hostname", "mta12.example.net", "--vmta", "vmta-12",
               "--state", "ACTIVE").exit_code == 0
    result = cli("blacklist", "scan", "--json")
    # SpamCop (lists the world) and PSBL (not served) are broken: reported, exit 1, nothing flaps
    assert result.exit_code == 1, result
    summary = result.json()
    assert set(summary["broken_zones"]) == {"bl.spamcop.net", "psbl.surriel.com"}
    assert summary["moves"][0]["to"] == "STANDBY"
    status = cli("blacklist", "status", "--json")
    assert status.exit_code == 0
    listings = status.json()["listings"]
    assert [(row["target"], row["zone"], row["tier"]) for row in listings] == \
        [(fake.LISTED_IP, "zen.spamhaus.org", "critical")]
    assert cli("ip", "show", fake.LISTED_IP, "--json").json()["ip"]["state"] == "STANDBY"
    table = cli("blacklist", "status")
    assert fake.LISTED_IP in table.stdout and "last scan" in table.stdout


def test_zones_json_lists_catalogue_and_never_the_dqs_key(cli, monkeypatch):
    monkeypatch.setenv("EE_SPAMHAUS_DQS_KEY", "abcdefghijklmnopqrstuvwxyz")
    monkeypatch.setenv("EE_BLOCKLIST_DISABLED", "dnsbl-1.uceprotect.net")
    result = cli("blacklist", "zones", "--json")
    assert result.exit_code == 0
    assert "abcdefghijklmnopqrstuvwxyz" not in result.stdout
    zones = {row["zone"]: row for row in result.json()}
    assert zones["zen.spamhaus.org"]["queried_as"] == "<key>.zen.dq.spamhaus.net"
    assert zones["dnsbl-1.uceprotect.net"]["enabled"] is False
    assert zones["multi.uribl.com"]["bitmask"]["2"] == "URIBL black"


def test_zones_bad_extra_zones_is_a_config_error(cli, monkeypatch):
    monkeypatch.setenv("EE_BLOCKLIST_EXTRA_ZONES", "[{not json")
    result = cli("blacklist", "zones")
    assert result.exit_code == 2
    assert "EE_BLOCKLIST_EXTRA_ZONES" in result.stderr


def test_no_enabled_zone_is_a_usage_error(cli, monkeypatch):
    from emailengine.blocklists.zones import CATALOGUE

    monkeypatch.setenv("EE_BLOCKLIST_DISABLED", " ".join(zone.zone for zone in CATALOGUE))
    result = cli("blacklist", "check", "192.0.2.1")
    assert result.exit_code == 2
    assert "no blocklist zone is enabled" in result.stderr
