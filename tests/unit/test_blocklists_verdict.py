"""Verdicts: every answer maps to exactly one of listed / clean / error (pure, no I/O)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emailengine.blocklists.verdict import (
    Answer,
    ZoneHealth,
    classify,
    final_verdict,
    query_name,
    reverse_ip,
    self_test,
)
from emailengine.blocklists.zones import catalogue_by_name

ZONES = catalogue_by_name()
ZEN, DBL, URIBL, SURBL = (ZONES[name] for name in ("zen.spamhaus.org", "dbl.spamhaus.org", "multi.uribl.com",
                                                    "multi.surbl.org"))
SPAMCOP, UCE = ZONES["bl.spamcop.net"], ZONES["dnsbl-1.uceprotect.net"]


def listed(*values: str, txt: str = "") -> Answer:
    return Answer("NOERROR", tuple(values), txt=txt)


def test_reverse_ipv4_reverses_octets():
    assert reverse_ip("192.0.2.99") == "99.2.0.192"


def test_reverse_ipv6_expands_and_reverses_nibbles():
    assert reverse_ip("2001:db8:1:2:3:4:567:89ab") == \
        "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2"
    assert reverse_ip("2001:db8::1") == "1." + "0." * 23 + "8.b.d.0.1.0.0.2"


def test_reverse_ipv6_rfc5782_test_entry():
    assert reverse_ip("::FFFF:7F00:2") == "2.0.0.0.0.0.f.7.f.f.f.f" + ".0" * 20


@settings(max_examples=60)
@given(st.ip_addresses())
def test_reverse_ip_is_the_reversed_full_form(address):
    labels = reverse_ip(str(address)).split(".")
    if address.version == 4:
        assert ".".join(reversed(labels)) == str(address)
    else:
        assert len(labels) == 32
        assert ipaddress.IPv6Address(int("".join(reversed(labels)), 16)) == address


def test_query_name_appends_zone_fully_qualified():
    assert query_name("192.0.2.99", ZEN) == "99.2.0.192.zen.spamhaus.org."


def test_query_name_reduces_hosts_to_registrable_domain_for_uribl_but_not_dbl():
    assert query_name("click.mail.example.co.uk", URIBL) == "example.co.uk.multi.uribl.com."
    assert query_name("click.mail.example.co.uk", DBL) == "click.mail.example.co.uk.dbl.spamhaus.org."


def test_query_name_keeps_test_entries_as_documented():
    assert query_name("test.uribl.com", URIBL, test_entry=True) == "test.uribl.com.multi.uribl.com."


def test_nxdomain_is_clean():
    assert classify(ZEN, Answer("NXDOMAIN")).status == "clean"


def test_nodata_is_clean():
    assert classify(ZEN, Answer("NOERROR")).status == "clean"


@pytest.mark.parametrize("rcode", ["SERVFAIL", "REFUSED", "TIMEOUT", "NETWORK", "OTHER"])
def test_dns_failures_are_errors(rcode):
    verdict = classify(ZEN, Answer(rcode))
    assert verdict.status == "error"
    assert rcode in verdict.reason


def test_zen_multiple_codes_are_all_decoded():
    verdict = classify(ZEN, listed("127.0.0.4", "127.0.0.2", "127.0.0.10", txt="see check.spamhaus.org"))
    assert verdict.status == "listed"
    assert verdict.codes == ("127.0.0.2", "127.0.0.4", "127.0.0.10")
    assert verdict.tier == "critical"
    assert any("SBL" in m for m in verdict.meanings) and any("PBL" in m for m in verdict.meanings)
    assert "check.spamhaus.org" in verdict.reason


@pytest.mark.parametrize("code", ["127.255.255.252", "127.255.255.254", "127.255.255.255", "127.255.255.250",
                                  "127.255.255.1"])
def test_spamhaus_error_codes_are_errors_never_listings(code):
    verdict = classify(ZEN, listed(code))
    assert verdict.status == "error"
    assert code in verdict.reason


def test_an_error_code_beside_a_listing_code_makes_the_answer_an_error():
    assert classify(ZEN, listed("127.0.0.2", "127.255.255.254")).status == "error"


def test_127_0_0_1_is_never_a_listing():
    assert classify(SPAMCOP, listed("127.0.0.1")).status == "error"
    assert classify(UCE, listed("127.0.0.1")).status == "error"


def test_answer_outside_loopback_is_an_error():
    verdict = classify(SPAMCOP, listed("203.0.113.7"))
    assert verdict.status == "error"
    assert "rewrites" in verdict.reason


def test_unrecognised_code_is_listed_but_never_critical():
    verdict = classify(ZEN, listed("127.0.0.99"))
    assert verdict.status == "listed"
    assert verdict.unrecognised
    assert verdict.tier == "major"


def test_any_127_zone_accepts_undocumented_codes_at_its_tier():
    verdict = classify(UCE, listed("127.0.0.5"))
    assert (verdict.status, verdict.tier, verdict.unrecognised) == ("listed", "minor", False)


def test_dbl_codes_and_tiers():
    assert classify(DBL, listed("127.0.1.2")).tier == "critical"
    assert classify(DBL, listed("127.0.1.102")).tier == "major"
    assert classify(DBL, listed("127.0.1.255")).status == "error"


@pytest.mark.parametrize(("value", "status", "tier"), [
    ("127.0.0.2", "listed", "major"),   # black
    ("127.0.0.4", "listed", "minor"),   # grey
    ("127.0.0.8", "listed", "minor"),   # red
    ("127.0.0.6", "listed", "major"),   # black + grey: the worst tier wins
    ("127.0.0.1", "error", None),       # refused
    ("127.0.0.3", "error", None),       # bit 1 set: refused whatever else
])
def test_uribl_bitmask(value, status, tier):
    verdict = classify(URIBL, listed(value))
    assert (verdict.status, verdict.tier) == (status, tier)


def test_surbl_all_bits_decode_to_four_lists():
    verdict = classify(SURBL, listed("127.0.0.216"))
    assert verdict.status == "listed"
    assert len(verdict.meanings) == 4


def test_surbl_unknown_bit_is_unrecognised_listing():
    verdict = classify(SURBL, listed("127.0.0.32"))
    assert verdict.status == "listed" and verdict.unrecognised


@settings(max_examples=80)
@given(st.integers(min_value=0, max_value=255))
def test_any_spamhaus_error_range_value_is_an_error(last):
    assert classify(ZEN, listed(f"127.255.255.{last}")).status == "error"
    assert classify(DBL, listed(f"127.255.255.{last}")).status == "error"


@settings(max_examples=80)
@given(st.sampled_from(["NXDOMAIN", "NOERROR", "SERVFAIL", "REFUSED", "TIMEOUT"]),
       st.lists(st.ip_addresses(v=4).map(str), max_size=3))
def test_broken_zone_turns_every_answer_into_an_error(rcode, values):
    health = ZoneHealth(False, "test entry 127.0.0.2 not listed")
    assert final_verdict(ZEN, Answer(rcode, tuple(values)), health).status == "error"


def test_self_test_healthy():
    health = self_test(ZEN, listed("127.0.0.2", "127.0.0.4", "127.0.0.10"), Answer("NXDOMAIN"))
    assert health.healthy


def test_self_test_catches_a_list_that_does_not_answer():
    health = self_test(ZEN, Answer("NXDOMAIN"), Answer("NXDOMAIN"))
    assert not health.healthy
    assert "not listed" in health.problem


def test_self_test_catches_a_list_that_lists_everything():
    health = self_test(SPAMCOP, listed("127.0.0.2"), listed("127.0.0.2"))
    assert not health.healthy
    assert "everything" in health.problem


def test_self_test_catches_a_refused_resolver():
    health = self_test(ZEN, listed("127.255.255.254"), listed("127.255.255.254"))
    assert not health.healthy
    assert "public/open resolver" in health.problem


def test_self_test_catches_timeouts():
    assert not self_test(ZEN, Answer("TIMEOUT"), Answer("NXDOMAIN")).healthy
