"""`ee dns validate` end to end: inventory in SQLite/PostgreSQL, zones on the loopback DNS server,
results in dns_checks, ok → error alerts, DNS failures reported as errors (never ok)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from emailengine.dnscheck.demo import good_zone
from emailengine.dnscheck.report import IpTarget
from tests.fakes.dnscheck_keys import private_pem

SENDING = [("192.0.2.10", "mta10.example.net", "ACTIVE"), ("192.0.2.11", "mta11.example.net", "WARMING")]
RESTING = ("192.0.2.12", "mta12.example.net", "RESTING")


def _inventory(engine, tmp_path: Path) -> Path:
    from emailengine import inventory

    key = tmp_path / "example.net.s1.pem"
    key.write_bytes(private_pem("rsa2048"))
    with Session(engine) as session, session.begin():
        specs = [inventory.make_ip_spec(a, h, f"vmta-{a.split('.')[-1]}", "main", "", None, s)
                 for a, h, s in SENDING]
        inventory.add_ips(session, specs, "test")
        # A resting IP sends nothing, so it is not checked (its PTR is absent on purpose).
        inventory.add_ips(session, [inventory.make_ip_spec(RESTING[0], RESTING[1], "vmta-12", "main", "", None,
                                                           "WARMING")], "test")
        from emailengine.lifecycle import State

        inventory.transition(session, inventory.get_ip(session, RESTING[0]), State.RESTING, "test", "test")
        inventory.add_domain(session, "example.net", "test", "s1", str(key), "bounce.example.net")
    return key


def _serve_good(server) -> None:
    ips = [IpTarget(a, h) for a, h, _ in SENDING]
    for name, rdtype, value in good_zone("example.net", "s1", private_pem("rsa2048"), ips, "bounce.example.net"):
        server.add(name, rdtype, value)


def _rows(engine) -> list:
    from emailengine.db.models import DnsCheck

    with Session(engine) as session:
        return list(session.scalars(select(DnsCheck).order_by(DnsCheck.id)))


def test_validate_stores_all_ok_results_and_exits_0(engine, dns_server, cli, tmp_path: Path) -> None:
    _inventory(engine, tmp_path)
    _serve_good(dns_server)
    result = cli("dns", "validate", "--json")
    assert result.exit_code == 0, result
    data = result.json()
    assert data["counts"]["error"] == 0 and data["counts"]["warning"] == 0
    assert data["readiness"][0]["verdict"] == "ready"
    subjects = {f["subject"] for f in data["findings"]}
    assert {"example.net", "bounce.example.net", "192.0.2.10", "192.0.2.11"} <= subjects
    assert "192.0.2.12" not in subjects
    rows = _rows(engine)
    assert len(rows) == len(data["findings"]) and all(row.status == "ok" for row in rows)
    spf_pass = next(row for row in rows if row.check == "spf_pass")
    assert spf_pass.details["ips"] == {"192.0.2.10": "pass", "192.0.2.11": "pass"}
    assert rows[0].run_at.tzinfo is not None


def test_check_going_from_ok_to_error_alerts_once(engine, dns_server, cli, tmp_path: Path, monkeypatch) -> None:
    import emailengine.alerts

    alerts: list[tuple[str, dict]] = []
    monkeypatch.setattr(emailengine.alerts, "send_alert",
                        lambda key, title, text, **kw: alerts.append((key, kw)) or True)
    _inventory(engine, tmp_path)
    _serve_good(dns_server)
    assert cli("dns", "validate").exit_code == 0
    assert alerts == []
    # The provider changes the PTR of .10 to a name that does not resolve back.
    dns_server.clear("10.2.0.192.in-addr.arpa")
    dns_server.add("10.2.0.192.in-addr.arpa", "PTR", "static-10.provider.example.")
    second = cli("dns", "validate")
    assert second.exit_code == 1, second
    keys = sorted(key for key, _ in alerts)
    assert keys == ["dns:192.0.2.10:fcrdns", "dns:192.0.2.10:helo", "dns:example.net:readiness"]
    assert dict(alerts)["dns:192.0.2.10:fcrdns"]["ip"] == "192.0.2.10"
    assert dict(alerts)["dns:example.net:readiness"]["domain"] == "example.net"
    alerts.clear()
    assert cli("dns", "validate").exit_code == 1
    assert alerts == []  # still broken: error → error does not alert again


def test_dns_timeouts_are_errors_never_ok(engine, dns_server, cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EE_DNS_TIMEOUT", "0.3")
    _inventory(engine, tmp_path)
    _serve_good(dns_server)
    dns_server.behave("example.net", "timeout", subtree=True)
    result = cli("dns", "validate", "--json")
    assert result.exit_code == 1
    by_check = {(f["subject"], f["check"]): f for f in result.json()["findings"]}
    for check in ("spf", "spf_pass", "dkim", "dmarc", "readiness"):
        assert by_check[("example.net", check)]["status"] == "error", check
    assert by_check[("bounce.example.net", "mx")]["status"] == "error"
    assert by_check[("192.0.2.10", "fcrdns")]["status"] == "error"
    assert result.json()["readiness"][0]["verdict"] == "unknown"


def test_validate_records_a_failed_job_run(engine, dns_server, cli, tmp_path: Path) -> None:
    from emailengine.db.models import JobRun

    _inventory(engine, tmp_path)
    _serve_good(dns_server)
    dns_server.clear("_dmarc.example.net")
    result = cli("dns", "validate", "example.net")
    assert result.exit_code == 1
    assert "no DMARC record" in result.stdout
    with Session(engine) as session:
        run = session.scalars(select(JobRun).where(JobRun.job == "dns-validate")).one()
    assert run.outcome == "failed" and run.exit_code == 1


def test_validate_unknown_domain_is_a_usage_error(engine, dns_server, cli) -> None:
    result = cli("dns", "validate", "nowhere.example")
    assert result.exit_code == 2 and "not in the inventory" in result.stderr


@pytest.mark.parametrize("kind", ["rsa1024"])
def test_weak_key_is_a_warning_and_the_job_still_succeeds(engine, dns_server, cli, tmp_path: Path, kind) -> None:
    from tests.fakes.dnscheck_keys import record_for, zone_txt

    key = _inventory(engine, tmp_path)
    key.write_bytes(private_pem(kind))
    _serve_good(dns_server)
    dns_server.clear("s1._domainkey.example.net")
    dns_server.add("s1._domainkey.example.net", "TXT", zone_txt(record_for(kind)))
    result = cli("dns", "validate", "--json")
    assert result.exit_code == 0, result
    dkim = next(f for f in result.json()["findings"] if f["check"] == "dkim")
    assert dkim["status"] == "warning" and "1024 bits" in dkim["message"]
