"""What a scan changes: listings, STANDBY / QUARANTINE moves and alerts (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from emailengine.blocklists.effects import OpenListing, plan_effects
from emailengine.blocklists.scan import Result, Target
from emailengine.blocklists.verdict import Verdict, ZoneHealth
from emailengine.blocklists.zones import catalogue_by_name
from emailengine.lifecycle import State

ZONES = catalogue_by_name()
ZEN, SPAMCOP, DBL = ZONES["zen.spamhaus.org"], ZONES["bl.spamcop.net"], ZONES["dbl.spamhaus.org"]
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
IP = "198.51.100.12"
HEALTHY = {ZEN.zone: ZoneHealth(True), SPAMCOP.zone: ZoneHealth(True), DBL.zone: ZoneHealth(True)}


def result(target: str, zone, status: str, tier: str | None = None, kind: str = "ip") -> Result:
    codes = ("127.0.0.2",) if status == "listed" else ()
    return Result(Target(target, kind), zone, Verdict(status, codes, ("meaning",), tier, "the reason"))


def plan(results, open_listings=(), states=None, health=None):
    states = states if states is not None else {IP: State.ACTIVE}
    targets = {r.target.name for r in results} | set(states)
    return plan_effects(list(results), health or HEALTHY, list(open_listings), states, targets, NOW, 72)


def test_new_critical_listing_of_active_ip_moves_it_to_standby_and_alerts():
    p = plan([result(IP, ZEN, "listed", "critical"), result(IP, SPAMCOP, "clean")])
    assert [r.zone.zone for r in p.open] == [ZEN.zone]
    assert [(m.address, m.target) for m in p.moves] == [(IP, State.STANDBY)]
    (alert,) = p.alerts
    assert alert.severity == "critical" and alert.ip == IP
    assert ZEN.zone in alert.title and "the reason" in alert.text and ZEN.delist_url in alert.action


def test_new_critical_listing_of_resting_or_quarantined_ip_also_stands_by():
    for state in (State.RESTING, State.QUARANTINE, State.WARMING, State.RETIRING):
        assert [m.target for m in plan([result(IP, ZEN, "listed", "critical")], states={IP: state}).moves] == \
            [State.STANDBY]


def test_major_listing_alerts_without_standby():
    p = plan([result(IP, SPAMCOP, "listed", "major")])
    assert len(p.open) == 1 and p.moves == []
    assert p.alerts[0].severity == "warning"


def test_error_changes_nothing_and_keeps_open_listing():
    listing = OpenListing(1, IP, "ip", ZEN.zone, "critical")
    p = plan([result(IP, ZEN, "error")], [listing], {IP: State.STANDBY})
    assert (p.open, p.refresh, p.clear, p.moves) == ([], [], [], [])
    assert p.errors_by_zone == {ZEN.zone: 1}
    assert any(a.key == f"lookup-errors:{ZEN.zone}" for a in p.alerts)


def test_error_never_opens_a_listing_or_moves_an_active_ip():
    p = plan([result(IP, ZEN, "error")])
    assert p.open == [] and p.moves == []


def test_still_listed_refreshes_without_alert_or_move():
    listing = OpenListing(7, IP, "ip", ZEN.zone, "critical")
    p = plan([result(IP, ZEN, "listed", "critical")], [listing], {IP: State.ACTIVE})
    assert [listing_id for listing_id, _ in p.refresh] == [7]
    assert p.open == [] and p.moves == [] and p.alerts == []


def test_all_listings_of_standby_ip_cleared_moves_it_to_quarantine():
    listing = OpenListing(3, IP, "ip", ZEN.zone, "critical")
    p = plan([result(IP, ZEN, "clean"), result(IP, SPAMCOP, "clean")], [listing], {IP: State.STANDBY})
    assert p.clear == [(3, "clean")]
    (move,) = p.moves
    assert move.target == State.QUARANTINE
    assert move.changes["quarantine_until"] == NOW + timedelta(hours=72)


def test_one_of_two_listings_cleared_keeps_standby():
    listings = [OpenListing(3, IP, "ip", ZEN.zone, "critical"), OpenListing(4, IP, "ip", SPAMCOP.zone, "major")]
    p = plan([result(IP, ZEN, "clean"), result(IP, SPAMCOP, "listed", "major")], listings, {IP: State.STANDBY})
    assert p.clear == [(3, "clean")]
    assert p.moves == []


def test_cleared_listing_but_error_on_another_listed_zone_keeps_standby():
    listings = [OpenListing(3, IP, "ip", ZEN.zone, "critical"), OpenListing(4, IP, "ip", SPAMCOP.zone, "major")]
    p = plan([result(IP, ZEN, "clean"), result(IP, SPAMCOP, "error")], listings, {IP: State.STANDBY})
    assert p.moves == []


def test_standby_ip_without_any_listing_is_not_released():
    p = plan([result(IP, ZEN, "clean")], [], {IP: State.STANDBY})
    assert p.moves == []


def test_critical_listing_of_standby_ip_does_not_move_it_again():
    p = plan([result(IP, ZEN, "listed", "critical")], [], {IP: State.STANDBY})
    assert len(p.open) == 1 and p.moves == []


def test_domain_listing_alerts_without_moves():
    p = plan([result("example.net", DBL, "listed", "critical", kind="domain")], states={})
    assert len(p.open) == 1 and p.moves == []
    assert p.alerts[0].domain == "example.net"


def test_listing_on_a_zone_no_longer_scanned_is_closed():
    listing = OpenListing(9, IP, "ip", "dnsbl-2.uceprotect.net", "minor")
    p = plan([result(IP, ZEN, "clean")], [listing], {IP: State.ACTIVE})
    assert p.clear == [(9, "zone no longer scanned (disabled or removed)")]


def test_disabling_a_zone_does_not_release_a_standby_ip():
    listing = OpenListing(9, IP, "ip", "dnsbl-2.uceprotect.net", "minor")
    p = plan([result(IP, ZEN, "clean")], [listing], {IP: State.STANDBY})
    assert len(p.clear) == 1
    assert p.moves == []


def test_broken_zone_alerts():
    health = {**HEALTHY, ZEN.zone: ZoneHealth(False, "test entry 127.0.0.2 not listed")}
    p = plan([result(IP, ZEN, "error")], health=health)
    assert any(a.key == f"zone-broken:{ZEN.zone}" for a in p.alerts)
