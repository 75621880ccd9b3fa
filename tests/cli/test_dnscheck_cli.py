"""`ee dns spf-check` and `ee dns records`: output, JSON, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.fakes.dnscheck_keys import private_pem, record_for


@pytest.fixture
def spf_zone(dns_server):
    dns_server.add("example.com", "TXT", '"v=spf1 include:_spf.example.com -all exp=why.example.com"')
    dns_server.add("_spf.example.com", "TXT", '"v=spf1 ip4:192.0.2.0/28 ~all"')
    dns_server.add("why.example.com", "TXT", '"%{i} may not send for %{d}"')
    return dns_server


def test_spf_check_prints_result_explanation_and_trail(spf_zone, cli) -> None:
    result = cli("dns", "spf-check", "--ip", "192.0.2.3", "--domain", "example.com")
    assert result.exit_code == 0, result
    assert "result: pass" in result.stdout
    assert "include:_spf.example.com" in result.stdout and "lookups: 1/10" in result.stdout


def test_spf_check_json_shows_exp_explanation_on_fail(spf_zone, cli) -> None:
    result = cli("dns", "spf-check", "--ip", "198.51.100.7", "--domain", "example.com", "--sender",
                 "news@example.com", "--helo", "mta.example.com", "--json")
    data = result.json()
    assert result.exit_code == 0
    assert data["result"] == "fail" and data["explanation"] == "198.51.100.7 may not send for example.com"
    assert data["sender"] == "news@example.com" and data["trail"][-1] == "result: fail"


def test_spf_check_timeout_is_temperror(dns_server, cli, monkeypatch) -> None:
    monkeypatch.setenv("EE_DNS_TIMEOUT", "0.3")
    dns_server.behave("example.com", "timeout")
    data = cli("dns", "spf-check", "--ip", "192.0.2.3", "--domain", "example.com", "--json").json()
    assert data["result"] == "temperror"


@pytest.mark.parametrize("args", [["--ip", "999.1.1.1", "--domain", "example.com"],
                                  ["--ip", "192.0.2.1", "--domain", "not a domain"]])
def test_spf_check_bad_input_is_exit_2(dns_server, cli, args) -> None:
    result = cli("dns", "spf-check", *args)
    assert result.exit_code == 2 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


@pytest.fixture
def inventory_db(sqlite_url: str, monkeypatch, tmp_path: Path):
    from emailengine import inventory
    from emailengine.db.engine import get_engine
    from emailengine.db.migrate import upgrade

    monkeypatch.setenv("EE_DATABASE_URL", sqlite_url)
    engine = get_engine(sqlite_url)
    upgrade(engine, "head")
    key = tmp_path / "s1.pem"
    key.write_bytes(private_pem("rsa2048"))
    with Session(engine) as session, session.begin():
        specs = [inventory.make_ip_spec(a, f"mta{a.split('.')[-1].split(':')[-1]}.example.net",
                                        f"v{i}", "main", "", None, "ACTIVE")
                 for i, a in enumerate(["192.0.2.10", "192.0.2.11", "192.0.2.20", "2001:db8::10"])]
        inventory.add_ips(session, specs, "test")
        from emailengine.lifecycle import State

        resting = inventory.get_ip(session, "192.0.2.11")
        inventory.transition(session, resting, State.RETIRING, "test", "test")
        inventory.transition(session, resting, State.RESTING, "test", "test")
        inventory.add_domain(session, "example.net", "test", "s1", str(key), "bounce.example.net")
    return key


def test_records_prints_spf_dkim_dmarc_and_ptrs(inventory_db, cli) -> None:
    result = cli("dns", "records", "example.net")
    assert result.exit_code == 0, result
    out = result.stdout
    # 192.0.2.11 is resting: still covered, it will send again after its rest.
    assert 'bounce.example.net. 3600 IN TXT "v=spf1 ip4:192.0.2.10/31 ip4:192.0.2.20 ip6:2001:db8::10 ~all"' in out
    assert "s1._domainkey.example.net. 3600 IN TXT (" in out
    assert '_dmarc.example.net. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.net; fo=1"' in out
    assert "10.2.0.192.in-addr.arpa. IN PTR mta10.example.net." in out
    assert "mta10.example.net. 3600 IN AAAA 2001:db8::10" in out
    assert out.count("mta10.example.net. 3600 IN TXT") == 1
    assert 'mta10.example.net. 3600 IN TXT "v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all"' in out


def test_records_json_dkim_strings_fit_255_bytes_and_rebuild_the_key(inventory_db, cli) -> None:
    rows = cli("dns", "records", "example.net", "--json").json()
    dkim = next(row for row in rows if row["kind"] == "dkim")
    assert len(dkim["strings"]) >= 2 and all(len(s.encode()) <= 255 for s in dkim["strings"])
    assert "".join(dkim["strings"]) == record_for("rsa2048")
    assert {row["kind"] for row in rows} == {"spf", "dkim", "dmarc", "ptr", "helo"}


def test_records_published_verbatim_validate_clean(inventory_db, cli, dns_server) -> None:
    """What `ee dns records` prints is accepted by `ee dns validate` (SPF, DKIM, DMARC, PTR)."""
    for row in cli("dns", "records", "example.net", "--json").json():
        for line in row["zone"].splitlines():
            if line.startswith(";") or not line.strip():
                continue
            name, rest = line.split(" ", 1)
            parts = rest.split(" ", 3) if rest.split(" ")[0].isdigit() else ["0", *rest.split(" ", 2)]
            rdtype, value = parts[2], parts[3]
            dns_server.add(name, rdtype, value.strip("() ") if rdtype == "TXT" and value.startswith("(") else value)
    dns_server.add("bounce.example.net", "MX", "10 bounce.example.net.")
    dns_server.add("bounce.example.net", "A", "192.0.2.25")
    data = cli("dns", "validate", "--json").json()
    statuses = {(f["subject"], f["check"]): f["status"] for f in data["findings"]}
    for check in ("spf", "spf_pass", "dkim", "dmarc_alignment", "readiness"):
        assert statuses[("example.net", check)] == "ok", (check, data)
    assert statuses[("example.net", "dmarc")] == "warning"  # the starter is p=none: monitoring only
    assert statuses[("192.0.2.10", "helo_spf")] == "ok"


def test_records_for_unknown_domain_is_exit_2(inventory_db, cli) -> None:
    result = cli("dns", "records", "nowhere.example")
    assert result.exit_code == 2


def test_spf_check_accepts_underscore_names(dns_server, cli) -> None:
    dns_server.add("_spf.example.com", "TXT", '"v=spf1 ip4:192.0.2.3 -all"')
    data = cli("dns", "spf-check", "--ip", "192.0.2.3", "--domain", "_spf.example.com", "--json").json()
    assert data["result"] == "pass"
