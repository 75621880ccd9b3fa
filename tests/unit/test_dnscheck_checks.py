"""DKIM, DMARC, PTR/HELO, MX checks and the readiness verdict: ok, warning and error paths (pure)."""

from __future__ import annotations

import pytest

from emailengine.dnscheck import dkim, dmarc, mx, ptr
from emailengine.dnscheck.findings import Finding
from emailengine.dnscheck.report import DomainTarget, IpTarget, check_domain, readiness, readiness_finding
from tests.fakes.dnscheck import FakeResolver
from tests.fakes.dnscheck_keys import private_pem, record_for, small_rsa_record, zone_txt

SEL = "s1._domainkey.example.net"


def _dkim(value: str | None, kind: str | None = "rsa2048", fail: str | None = None, extra_records: int = 0) -> Finding:
    zone = [("example.net", "A", "192.0.2.1")]
    if value is not None:
        zone += [(SEL, "TXT", zone_txt(value))] * (1 + extra_records)
    resolver = FakeResolver(zone, fail={SEL: fail} if fail else None)
    return dkim.check_dkim(resolver, "example.net", "s1", private_pem(kind) if kind else None)


# ---- DKIM


@pytest.mark.parametrize("kind", ["rsa2048", "ed25519"])
def test_dkim_ok_when_published_key_matches_the_signing_key(kind: str) -> None:
    finding = _dkim(record_for(kind), kind)
    assert finding.status == "ok", finding.message
    assert finding.details["matches_private_key"] is True


def test_dkim_accepts_pkcs1_published_key() -> None:
    assert _dkim(record_for("rsa2048", pkcs1=True)).status == "ok"


def test_dkim_warns_on_1024_bit_rsa() -> None:
    finding = _dkim(record_for("rsa1024"), "rsa1024")
    assert finding.status == "warning" and "1024 bits" in finding.message


def test_dkim_errors_on_rsa_below_1024() -> None:
    finding = _dkim(small_rsa_record(512), kind=None)
    assert finding.status == "error" and "512 bits" in finding.message


def test_dkim_error_when_published_key_differs() -> None:
    finding = _dkim(record_for("rsa2048b"), "rsa2048")
    assert finding.status == "error" and "does not match" in finding.message


def test_dkim_error_when_key_type_differs() -> None:
    assert _dkim(record_for("ed25519"), "rsa2048").status == "error"


def test_dkim_warns_on_testing_flag() -> None:
    finding = _dkim(record_for("rsa2048", extra=" t=y;"))
    assert finding.status == "warning" and "t=y" in finding.message


@pytest.mark.parametrize(("value", "fragment"), [
    (None, "no DKIM key is published"),
    ("v=DKIM1; k=rsa; p=", "revoked"),
    ("v=DKIM1; k=ed25519-sha256; p=AAAA", "not a DKIM key type"),
    ("v=DKIM1; k=rsa; h=sha1; p=AAAA", "excludes sha256"),
    ("v=DKIM1; s=tlsrpt; p=AAAA", "excludes email"),
    ("v=DKIM1; p=not*base64", "not valid base64"),
    ("v=DKIM1; p=-----BEGIN PUBLIC KEY-----", "PEM"),
    ("v=DKIM1; p=AAAA; p=BBBB", "appears twice"),
    ("v=DKIM2; p=AAAA", "not DKIM1"),
])
def test_dkim_errors(value: str | None, fragment: str) -> None:
    finding = _dkim(value)
    assert finding.status == "error" and fragment in finding.message, finding.message


def test_dkim_error_on_two_records() -> None:
    finding = _dkim(record_for("rsa2048"), extra_records=1)
    assert finding.status == "error" and "2 TXT records" in finding.message


def test_dkim_dns_failure_is_an_error_not_ok() -> None:
    finding = _dkim(record_for("rsa2048"), fail="timeout")
    assert finding.status == "error" and finding.details["dns_failure"]


def test_dkim_warns_without_a_key_file_and_errors_on_unreadable_or_bad_file() -> None:
    resolver = FakeResolver([(SEL, "TXT", zone_txt(record_for("rsa2048")))])
    assert dkim.check_dkim(resolver, "example.net", "s1", None).status == "warning"
    assert dkim.check_dkim(resolver, "example.net", "s1", None, "no such file").status == "error"
    assert dkim.check_dkim(resolver, "example.net", "s1", b"garbage").status == "error"
    assert dkim.check_dkim(resolver, "example.net", None).status == "error"


def test_public_record_value_round_trips() -> None:
    value = dkim.public_record_value(dkim.load_private_key(private_pem("rsa2048")))
    assert value == record_for("rsa2048")


# ---- DMARC


def _dmarc(records: dict[str, str], domain: str = "example.net", fail: dict | None = None):
    zone = [(name, "TXT", f'"{value}"') for name, value in records.items()] + [("example.net", "A", "192.0.2.1")]
    return dmarc.check_dmarc(FakeResolver(zone, fail=fail), domain)


def test_org_domain_uses_the_bundled_public_suffix_list() -> None:
    assert dmarc.org_domain("a.b.example.co.uk") == "example.co.uk"
    assert dmarc.org_domain("bounce.example.net") == "example.net"


def test_dmarc_ok_for_enforced_policy_with_reports() -> None:
    finding, policy = _dmarc({"_dmarc.example.net": "v=DMARC1; p=reject; rua=mailto:d@example.net"})
    assert finding.status == "ok" and policy is not None and policy.effective_policy() == "reject"


def test_dmarc_found_at_organizational_domain_uses_sp() -> None:
    finding, policy = _dmarc({"_dmarc.example.net": "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.net"},
                             domain="news.example.net")
    assert finding.status == "ok" and policy.inherited and "inherited from example.net" in finding.message
    assert policy.effective_policy() == "quarantine"


@pytest.mark.parametrize(("record", "fragment"), [
    ("v=DMARC1; p=none; rua=mailto:d@example.net", "monitoring only"),
    ("v=DMARC1; p=reject", "no rua"),
    ("v=DMARC1; p=reject; pct=50; rua=mailto:d@example.net", "50%"),
    ("v=DMARC1; p=reject; sp=none; rua=mailto:d@example.net", "weaker"),
    ("v=DMARC1; rua=mailto:d@example.net; p=reject", "not the second tag"),
    ("v=DMARC1; p=reject; foo=bar; rua=mailto:d@example.net", "unknown tags"),
    ("v=DMARC1; p=reject; rua=https://example.net/r", "not mailto"),
])
def test_dmarc_warnings(record: str, fragment: str) -> None:
    finding, _ = _dmarc({"_dmarc.example.net": record})
    assert finding.status == "warning" and fragment in finding.message, finding.message


@pytest.mark.parametrize(("record", "fragment"), [
    ("v=DMARC1; rua=mailto:d@example.net", "no p= tag"),
    ("v=DMARC1; p=block", "not none, quarantine or reject"),
    ("v=DMARC1; p=none; sp=maybe", "sp=maybe"),
    ("v=DMARC1; p=none; np=x", "np=x"),
    ("v=DMARC1; p=none; pct=150", "pct=150"),
    ("v=DMARC1; p=none; adkim=x", "adkim=x"),
    ("v=DMARC1; p=none; aspf=relaxed", "aspf=relaxed"),
    ("v=DMARC1; p=none; fo=2", "fo=2"),
    ("v=DMARC1; p=none; ri=daily", "ri=daily"),
    ("v=DMARC1; p=none; rua=d@example.net", "malformed"),
    ("v=DMARC1; p=none; ruf=mailto:nobody", "not an e-mail address"),
    ("v=DMARC1; p=none; p=reject", "appears twice"),
])
def test_dmarc_errors(record: str, fragment: str) -> None:
    finding, _ = _dmarc({"_dmarc.example.net": record})
    assert finding.status == "error" and fragment in finding.message, finding.message


def test_dmarc_missing_and_multiple_and_dns_failure_are_errors() -> None:
    assert _dmarc({})[0].status == "error"
    resolver = FakeResolver([("_dmarc.example.net", "TXT", '"v=DMARC1; p=none"'),
                             ("_dmarc.example.net", "TXT", '"v=DMARC1; p=reject"')])
    assert "2 DMARC records" in dmarc.check_dmarc(resolver, "example.net")[0].message
    failed, policy = _dmarc({}, fail={"_dmarc.example.net": "servfail"})
    assert failed.status == "error" and failed.details["dns_failure"] and policy is None


@pytest.mark.parametrize(("spf_domain", "dkim_domain", "tags", "status"), [
    ("bounce.example.net", "example.net", "", "ok"),
    ("bounce.example.net", "example.net", "; aspf=s", "warning"),
    ("example.net", None, "", "warning"),
    ("bounce.example.org", "example.net", "", "warning"),
    ("bounce.example.org", "other.example", "", "error"),
    ("bounce.example.org", "mail.example.net", "; adkim=s", "error"),
])
def test_alignment(spf_domain: str, dkim_domain: str | None, tags: str, status: str) -> None:
    policy = dmarc.Policy(f"v=DMARC1; p=none{tags}", "example.net", {})
    dmarc.parse_policy(policy)
    assert dmarc.check_alignment("example.net", policy, spf_domain, dkim_domain).status == status


def test_external_report_destinations_need_authorization() -> None:
    record = "v=DMARC1; p=none; rua=mailto:a@example.net,mailto:b@reports.example.com; ruf=mailto:c@other.example"
    zone = [("_dmarc.example.net", "TXT", f'"{record}"'),
            ("example.net._report._dmarc.reports.example.com", "TXT", '"v=DMARC1"')]
    resolver = FakeResolver(zone)
    _, policy = dmarc.check_dmarc(resolver, "example.net")
    finding = dmarc.check_report_destinations(resolver, "example.net", policy)
    assert finding.status == "warning" and "other.example does not authorize" in finding.message
    assert finding.details["destinations"] == {"example.net": "same organization",
                                               "reports.example.com": "authorized",
                                               "other.example": "not authorized"}


# ---- PTR / FCrDNS / HELO


def _ip(zone: list, ip: str = "192.0.2.10", helo: str = "mta10.example.net", fail: dict | None = None):
    return {f.check: f for f in ptr.check_ip(FakeResolver(zone, fail=fail), ip, helo)}


GOOD_IP = [("10.2.0.192.in-addr.arpa", "PTR", "mta10.example.net."), ("mta10.example.net", "A", "192.0.2.10"),
           ("mta10.example.net", "TXT", '"v=spf1 ip4:192.0.2.10 -all"')]


def test_ptr_fcrdns_helo_all_ok() -> None:
    findings = _ip(GOOD_IP)
    assert {check: f.status for check, f in findings.items()} == {"ptr": "ok", "fcrdns": "ok", "helo": "ok",
                                                                 "helo_spf": "ok"}


def test_ipv6_ptr_is_checked_with_aaaa() -> None:
    zone = [(ptr.reverse_name("2001:db8::10"), "PTR", "mta10.example.net."), ("mta10.example.net", "AAAA", "2001:db8::10")]
    findings = _ip(zone, ip="2001:db8::10")
    assert findings["fcrdns"].status == "ok" and findings["helo"].status == "ok"


def test_missing_ptr_is_an_error() -> None:
    findings = _ip([("mta10.example.net", "A", "192.0.2.10")])
    assert findings["ptr"].status == "error" and findings["fcrdns"].status == "error"


def test_ptr_not_resolving_back_fails_fcrdns() -> None:
    findings = _ip([("10.2.0.192.in-addr.arpa", "PTR", "mta10.example.net."), ("mta10.example.net", "A", "192.0.2.99")])
    assert findings["fcrdns"].status == "error" and findings["helo"].status == "error"


def test_ptr_different_from_helo_is_an_error_even_when_forward_confirmed() -> None:
    zone = [("10.2.0.192.in-addr.arpa", "PTR", "mail.example.net."), ("mail.example.net", "A", "192.0.2.10"),
            ("mta10.example.net", "A", "192.0.2.10")]
    findings = _ip(zone)
    assert findings["fcrdns"].status == "ok"
    assert findings["helo"].status == "error" and "does not equal the HELO name" in findings["helo"].message


def test_generic_or_multiple_ptrs_are_warnings() -> None:
    zone = [("10.2.0.192.in-addr.arpa", "PTR", "192-0-2-10.dynamic.isp.example."),
            ("192-0-2-10.dynamic.isp.example", "A", "192.0.2.10")]
    assert _ip(zone)["ptr"].status == "warning"
    two = GOOD_IP + [("10.2.0.192.in-addr.arpa", "PTR", "other.example.net.")]
    assert "2 PTR records" in _ip(two)["ptr"].message


def test_helo_without_spf_is_a_warning() -> None:
    assert _ip(GOOD_IP[:2])["helo_spf"].status == "warning"


def test_ptr_dns_failure_is_an_error_never_ok() -> None:
    findings = _ip(GOOD_IP, fail={"10.2.0.192.in-addr.arpa": "timeout"})
    assert all(findings[c].status == "error" for c in ("ptr", "fcrdns", "helo"))


# ---- MX and info records


@pytest.mark.parametrize(("zone", "status"), [
    ([("bounce.example.net", "MX", "10 mx.example.net."), ("mx.example.net", "A", "192.0.2.25")], "ok"),
    ([("bounce.example.net", "A", "192.0.2.25")], "warning"),
    ([("bounce.example.net", "MX", "10 mx.example.net."), ("bounce.example.net", "MX", "20 gone.example.net."),
      ("mx.example.net", "A", "192.0.2.25")], "warning"),
    ([("bounce.example.net", "MX", "0 .")], "error"),
    ([("bounce.example.net", "MX", "10 gone.example.net.")], "error"),
    ([("bounce.example.net", "TXT", '"x"')], "error"),
])
def test_mx_of_return_path(zone: list, status: str) -> None:
    assert mx.check_mx(FakeResolver(zone), "bounce.example.net").status == status


def test_mx_dns_failure_is_an_error() -> None:
    assert mx.check_mx(FakeResolver(fail={"bounce.example.net": "servfail"}), "bounce.example.net").status == "error"


def test_info_records_are_reported_not_required() -> None:
    resolver = FakeResolver([("_mta-sts.example.net", "TXT", '"v=STSv1; id=20240101"')])
    assert "is published" in mx.check_info(resolver, "example.net", "mta_sts").message
    absent = mx.check_info(resolver, "example.net", "bimi")
    assert absent.status == "ok" and "not published" in absent.message


# ---- a whole domain and readiness


def _good_zone(ptr_override: dict | None = None) -> tuple[list, DomainTarget, list[IpTarget]]:
    from emailengine.dnscheck.demo import good_zone

    ips = [IpTarget("192.0.2.10", "mta10.example.net"), IpTarget("2001:db8::10", "mta10.example.net")]
    target = DomainTarget("example.net", "s1", private_pem("rsa2048"), None, "bounce.example.net")
    return good_zone("example.net", "s1", private_pem("rsa2048"), ips, "bounce.example.net", ptr_override), target, ips


def test_good_setup_is_ready_for_every_provider() -> None:
    zone, target, ips = _good_zone()
    resolver = FakeResolver(zone)
    findings = check_domain(resolver, target, ips)
    assert [f.check for f in findings if f.status != "ok"] == []
    ip_findings = [f for ip in ips for f in ptr.check_ip(resolver, ip.address, ip.hostname)]
    verdict = readiness("example.net", findings, ip_findings)
    assert verdict["verdict"] == "ready" and all(p["ready"] for p in verdict["providers"].values())
    assert readiness_finding(verdict).status == "ok"


def test_unauthorized_ip_makes_spf_pass_fail_and_domain_not_ready() -> None:
    zone, target, ips = _good_zone()
    ips = ips + [IpTarget("192.0.2.99", "mta99.example.net")]
    findings = check_domain(FakeResolver(zone), target, ips)
    spf_pass = next(f for f in findings if f.check == "spf_pass")
    assert spf_pass.status == "error" and "192.0.2.99 fail" in spf_pass.message
    verdict = readiness("example.net", findings, [])
    assert verdict["verdict"] == "not ready" and verdict["providers"]["gmail"]["missing"] == ["spf"]


def test_dns_outage_makes_readiness_unknown_not_ready_or_ok() -> None:
    _, target, ips = _good_zone()
    resolver = FakeResolver(fail={name: "timeout" for name in (
        "bounce.example.net", "example.net", "_dmarc.example.net", "s1._domainkey.example.net")})
    findings = check_domain(resolver, target, ips)
    assert all(f.status == "error" for f in findings if f.check in ("spf", "spf_pass", "dkim", "dmarc", "mx"))
    verdict = readiness("example.net", findings, [])
    assert verdict["verdict"] == "unknown" and readiness_finding(verdict).status == "error"


def test_one_crashing_subject_does_not_stop_the_others() -> None:
    from emailengine.dnscheck.run import run_checks

    class Exploding(FakeResolver):
        def query(self, name, rdtype):
            if name.startswith("10.2.0.192"):
                raise RuntimeError("boom")
            return super().query(name, rdtype)

    zone, target, ips = _good_zone()
    report = run_checks(Exploding(zone), [target], ips, now=0, workers=2)
    crashed = [f for f in report.findings if f.check == "internal"]
    assert [(f.subject, f.status) for f in crashed] == [("192.0.2.10", "error")]
    assert any(f.subject == "2001:db8::10" and f.check == "fcrdns" and f.status == "ok" for f in report.findings)
