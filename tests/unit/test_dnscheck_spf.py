"""SPF check_host() against the RFC 7208 case table (in-memory resolver), macros, parsing, analysis."""

from __future__ import annotations

import pytest

from emailengine.dnscheck import spf
from tests.fakes.dnscheck import FakeResolver
from tests.fakes.spf_cases import CASES, Case

RFC_MACRO_EXAMPLES = [  # RFC 7208 §7.4, sender strong-bad@email.example.com, IP 192.0.2.3
    ("%{s}", "strong-bad@email.example.com"), ("%{o}", "email.example.com"), ("%{d}", "email.example.com"),
    ("%{d4}", "email.example.com"), ("%{d3}", "email.example.com"), ("%{d2}", "example.com"), ("%{d1}", "com"),
    ("%{dr}", "com.example.email"), ("%{d2r}", "example.email"), ("%{l}", "strong-bad"), ("%{l-}", "strong.bad"),
    ("%{lr}", "strong-bad"), ("%{lr-}", "bad.strong"), ("%{l1r-}", "strong"),
    ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
    ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
    ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
    ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
    ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_check_host_follows_rfc7208(case: Case) -> None:
    resolver = FakeResolver(case.zone, fail=case.fail)
    result = spf.check_host(resolver, case.ip, case.domain, sender=case.sender, helo=case.helo)
    assert result.result == case.expect, "\n".join(result.trail)
    if case.explanation:
        assert case.explanation in result.explanation


def _context(ip: str = "192.0.2.3") -> spf._Context:
    return spf._Context(FakeResolver(), spf.normalize_client_ip(ip), "strong-bad@email.example.com", "helo.example",
                        "mx.example.org", 1_700_000_000)


@pytest.mark.parametrize(("macro", "expected"), RFC_MACRO_EXAMPLES)
def test_macro_expansion_matches_rfc_examples(macro: str, expected: str) -> None:
    assert spf.expand(macro, _context(), "email.example.com") == expected


def test_macro_expansion_ipv6_example() -> None:
    expanded = spf.expand("%{ir}.%{v}._spf.%{d2}", _context("2001:db8::cb01"), "email.example.com")
    assert expanded == "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"


def test_exp_only_macros_expand_in_explanations() -> None:
    text = spf.expand("%{c} %{r} %{t} %% %_ %-", _context(), "example.com", exp=True)
    assert text == "192.0.2.3 mx.example.org 1700000000 %   %20"


def test_expanded_names_longer_than_253_lose_left_labels() -> None:
    long_label = "a" * 60
    expanded = spf.expand(".".join([long_label] * 5) + ".%{d}", _context(), "example.com")
    assert len(expanded) <= 253 and expanded.endswith("example.com")


@pytest.mark.parametrize("record", ["v=spf1 ip4:1.2.3.4/33", "v=spf1 a:foo", "v=spf1 exists", "v=spf1 ptr:",
                                    "v=spf1 mx//129", "v=spf1 %{d}", "v=spf1 include:%{c}.example.com"])
def test_parse_record_rejects_bad_syntax(record: str) -> None:
    with pytest.raises(spf.SpfPermError):
        spf.parse_record(record)


def test_parse_record_reads_terms_and_modifiers() -> None:
    record = spf.parse_record("v=spf1 a/24//64 mx:example.org ~ip6:2001:db8::/32 redirect=_spf.example.com x=y")
    assert [m.name for m in record.mechanisms] == ["a", "mx", "ip6"]
    assert (record.mechanisms[0].cidr4, record.mechanisms[0].cidr6) == (24, 64)
    assert record.mechanisms[2].result == "softfail"
    assert record.redirect == "_spf.example.com" and record.unknown_modifiers == ["x=y"]


def test_invalid_client_ip_raises_value_error() -> None:
    with pytest.raises(ValueError):
        spf.check_host(FakeResolver(), "not-an-ip", "example.com")


def test_trail_names_each_lookup_and_the_result() -> None:
    resolver = FakeResolver([("example.com", "TXT", '"v=spf1 include:_spf.example.com -all"'),
                             ("_spf.example.com", "TXT", '"v=spf1 ip4:192.0.2.3 -all"')])
    result = spf.check_host(resolver, "192.0.2.3", "example.com")
    assert result.lookups == 1 and result.mechanism == "include:_spf.example.com"
    assert any("_spf.example.com" in line for line in result.trail) and result.trail[-1] == "result: pass"


def test_analyze_counts_lookups_through_the_include_tree() -> None:
    zone = [("example.com", "TXT", '"v=spf1 include:a.example.com include:b.example.com mx -all"'),
            ("a.example.com", "TXT", '"v=spf1 include:c.example.com a ~all"'), ("a.example.com", "A", "192.0.2.1"),
            ("b.example.com", "TXT", '"v=spf1 ip4:192.0.2.0/24 -all"'),
            ("c.example.com", "TXT", '"v=spf1 exists:%{i}.x.example.com -all"'),
            ("example.com", "MX", "10 mx.example.com.")]
    analysis = spf.analyze(FakeResolver(zone), "example.com")
    assert analysis.lookups == 6 and not analysis.errors and analysis.all_qualifier == "-"
    totals = {entry["domain"]: entry["total"] for entry in analysis.chain}
    assert totals == {"example.com": 6, "a.example.com": 3, "b.example.com": 0, "c.example.com": 1}


def test_analyze_reports_the_total_past_the_limit_and_who_spends_it() -> None:
    includes = " ".join(f"include:i{i}.example.com" for i in range(4))
    zone = [("example.com", "TXT", f'"v=spf1 {includes} -all"')]
    zone += [(f"i{i}.example.com", "TXT", '"v=spf1 a mx ~all"') for i in range(4)]
    zone += [(f"i{i}.example.com", "A", "192.0.2.1") for i in range(4)]
    zone += [(f"i{i}.example.com", "MX", "10 mx.example.com.") for i in range(4)]
    analysis = spf.analyze(FakeResolver(zone), "example.com")
    assert analysis.lookups == 12
    assert any("12 DNS-querying terms" in error for error in analysis.errors)


@pytest.mark.parametrize(("record", "fragment", "kind"), [
    ("v=spf1 +all", "+all authorizes every IP", "errors"),
    ("v=spf1 ?all", "?all gives no protection", "warnings"),
    ("v=spf1 ip4:192.0.2.1", "no terminal all", "warnings"),
    ("v=spf1 ptr -all", "ptr mechanism", "warnings"),
    ("v=spf1 -all ip4:192.0.2.1", "never evaluated", "warnings"),
])
def test_analyze_judges_policy(record: str, fragment: str, kind: str) -> None:
    zone = [("example.com", "TXT", f'"{record}"'), ("example.com", "A", "192.0.2.1")]
    analysis = spf.analyze(FakeResolver(zone), "example.com")
    assert any(fragment in text for text in getattr(analysis, kind)), analysis.to_dict()


def test_analyze_reports_loops_multiple_records_and_dns_failure() -> None:
    loop = spf.analyze(FakeResolver([("example.com", "TXT", '"v=spf1 include:example.com -all"')]), "example.com")
    assert any("loop" in error for error in loop.errors)
    two = spf.analyze(FakeResolver([("example.com", "TXT", '"v=spf1 -all"'), ("example.com", "TXT", '"v=spf1 ~all"')]),
                      "example.com")
    assert any("2 SPF records" in error for error in two.errors)
    broken = spf.analyze(FakeResolver(fail={"example.com": "timeout"}), "example.com")
    assert broken.dns_failure and broken.record is None
