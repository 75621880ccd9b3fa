"""The zone catalogue and the settings that change it (pure)."""

from __future__ import annotations

import json

import pytest

from emailengine.blocklists.zones import (
    CATALOGUE,
    TIERS,
    active_zones,
    all_zones,
    resolver_warnings,
    zone_to_dict,
)
from emailengine.config import Settings
from emailengine.errors import ConfigError

DQS_KEY = "abcdefghijklmnopqrstuvwxyz"


def make(**values) -> Settings:
    return Settings(**values)


def names(zones) -> set[str]:
    return {zone.zone for zone in zones}


def test_defaults_hold_at_least_nine_ip_lists_and_the_recommended_domain_lists():
    settings = make()
    assert len(active_zones(settings, "ip")) >= 9
    assert {"zen.spamhaus.org", "b.barracudacentral.org", "bl.spamcop.net", "psbl.surriel.com",
            "dnsbl-1.uceprotect.net", "bl.mailspike.net"} <= names(active_zones(settings, "ip"))
    assert {"dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com"} == names(active_zones(settings, "domain"))


def test_dead_and_redundant_lists_are_not_catalogued():
    for zone in CATALOGUE:
        assert not any(dead in zone.zone for dead in ("sorbs", "manitu", "abuseat", "ahbl", "spamcannibal"))


def test_every_zone_is_complete():
    for zone in CATALOGUE:
        assert zone.kind in ("ip", "domain")
        assert zone.tier in TIERS
        assert all(tier in TIERS for tier in [*zone.code_tiers.values(), *zone.bit_tiers.values()])
        assert zone.delist_url.startswith("http")
        assert zone.codes or zone.bitmask or zone.any_127
        assert zone.test_positive and zone.test_negative


def test_spamhaus_zones_carry_the_error_codes():
    zen = next(zone for zone in CATALOGUE if zone.zone == "zen.spamhaus.org")
    assert {"127.255.255.252", "127.255.255.254", "127.255.255.255"} <= set(zen.error_codes)


def test_dqs_key_switches_spamhaus_zones_to_dqs_names():
    zones = {zone.zone: zone for zone in active_zones(make(spamhaus_dqs_key=DQS_KEY))}
    assert zones["zen.spamhaus.org"].queried == f"{DQS_KEY}.zen.dq.spamhaus.net"
    assert zones["dbl.spamhaus.org"].queried == f"{DQS_KEY}.dbl.dq.spamhaus.net"
    assert zones["bl.spamcop.net"].queried == "bl.spamcop.net"


def test_dqs_only_zone_needs_the_key_and_an_explicit_opt_in():
    opt_in = json.dumps([{"zone": "zrd.spamhaus.org"}])
    assert "zrd.spamhaus.org" not in names(active_zones(make(spamhaus_dqs_key=DQS_KEY)))
    assert "zrd.spamhaus.org" not in names(active_zones(make(blocklist_extra_zones=opt_in)))
    zones = {z.zone: z for z in active_zones(make(spamhaus_dqs_key=DQS_KEY, blocklist_extra_zones=opt_in))}
    assert zones["zrd.spamhaus.org"].queried == f"{DQS_KEY}.zrd.dq.spamhaus.net"


def test_zone_listing_never_shows_the_dqs_key():
    settings = make(spamhaus_dqs_key=DQS_KEY)
    text = json.dumps([zone_to_dict(zone, settings) for zone in all_zones(settings)])
    assert DQS_KEY not in text
    assert "<key>.zen.dq.spamhaus.net" in text


def test_dqs_key_with_dots_is_refused():
    with pytest.raises(ConfigError):
        active_zones(make(spamhaus_dqs_key="abc.evil.example.com"))


def test_disabled_zones_are_skipped():
    zones = names(active_zones(make(blocklist_disabled="b.barracudacentral.org, dnsbl-1.uceprotect.net")))
    assert "b.barracudacentral.org" not in zones and "dnsbl-1.uceprotect.net" not in zones
    assert "zen.spamhaus.org" in zones


def test_extra_zone_is_added_and_catalogued_zone_is_enabled():
    extra = json.dumps([
        {"zone": "bl.example-rbl.net", "kind": "ip", "tier": "major", "codes": {"127.0.0.2": "listed"},
         "delist_url": "https://example-rbl.net/remove"},
        {"zone": "dnsbl-2.uceprotect.net"},
    ])
    zones = {zone.zone: zone for zone in active_zones(make(blocklist_extra_zones=extra))}
    assert zones["bl.example-rbl.net"].tier == "major"
    assert zones["bl.example-rbl.net"].codes == {"127.0.0.2": "listed"}
    assert "dnsbl-2.uceprotect.net" in zones


def test_extra_domain_zone_defaults_to_rfc5782_domain_test_names():
    extra = json.dumps([{"zone": "dbl.example.org", "kind": "domain", "tier": "minor"}])
    zone = next(z for z in active_zones(make(blocklist_extra_zones=extra)) if z.zone == "dbl.example.org")
    assert (zone.test_positive, zone.test_negative, zone.any_127) == ("test", "invalid", True)


@pytest.mark.parametrize("text", ["not json", '{"zone": "x"}', '[{"zone": "a.b", "kind": "ip"}]',
                                  '[{"zone": "bad zone", "kind": "ip", "tier": "major"}]',
                                  '[{"zone": "a.b", "kind": "ip", "tier": "severe"}]',
                                  '[{"zone": "a.b", "kind": "ip", "tier": "major", "colour": "red"}]'])
def test_bad_extra_zones_are_config_errors(text):
    with pytest.raises(ConfigError):
        active_zones(make(blocklist_extra_zones=text))


def test_public_resolver_warns():
    warnings = resolver_warnings(make(dns_nameservers="8.8.8.8"))
    assert len(warnings) == 1
    assert "8.8.8.8" in warnings[0] and "zen.spamhaus.org" in warnings[0]


def test_dedicated_resolver_does_not_warn():
    assert resolver_warnings(make(dns_nameservers="127.0.0.1:5353")) == []


def test_system_resolver_and_systemd_stub_warn():
    assert resolver_warnings(make())
    assert any("systemd-resolved" in w for w in resolver_warnings(make(dns_nameservers="127.0.0.53")))


def test_public_resolver_with_only_dqs_and_non_refusing_lists_does_not_warn():
    disabled = "multi.surbl.org multi.uribl.com b.barracudacentral.org all.spamrats.com"
    settings = make(dns_nameservers="1.1.1.1", spamhaus_dqs_key=DQS_KEY, blocklist_disabled=disabled)
    assert resolver_warnings(settings) == []


def test_unknown_disabled_zone_warns():
    warnings = resolver_warnings(make(dns_nameservers="127.0.0.1", blocklist_disabled="zen.spamhaus.orgg"))
    assert any("zen.spamhaus.orgg" in w for w in warnings)
