"""The blocklist part of `ee demo`: real scans against a loopback DNS server.

The server answers under the real zone names (Spamhaus ZEN and DBL, SpamCop, PSBL, URIBL) with
their RFC 5782 test entries, and lists 198.51.100.12 on ZEN (SBL, critical). The first scan puts
that IP in STANDBY; the listing is then removed from the server, and the second scan clears it
and moves the IP to QUARANTINE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emailengine.blocklists.verdict import query_name
from emailengine.blocklists.zones import CATALOGUE, catalogue_by_name

if TYPE_CHECKING:
    from emailengine.demo import DemoContext

LISTED_IP = "198.51.100.12"
SERVED = ("zen.spamhaus.org", "bl.spamcop.net", "psbl.surriel.com", "dbl.spamhaus.org", "multi.uribl.com")
TEST_ANSWERS = {"zen.spamhaus.org": ("127.0.0.2", "127.0.0.4", "127.0.0.10"), "dbl.spamhaus.org": ("127.0.1.2",),
                "multi.uribl.com": ("127.0.0.14",)}


def demo_records() -> list[tuple[str, str, str]]:
    """Return the records the demo server serves: test entries of every served zone and the listing."""
    zones = catalogue_by_name()
    records = []
    for name in SERVED:
        zone = zones[name]
        test_name = query_name(zone.test_positive, zone, test_entry=True)
        records += [(test_name, "A", value) for value in TEST_ANSWERS.get(name, ("127.0.0.2",))]
        records.append((test_name, "TXT", '"RFC 5782 test entry"'))
    return records + listing_records()


def listing_records() -> list[tuple[str, str, str]]:
    """Return the records that list LISTED_IP on ZEN (SBL) with its TXT reason."""
    zen = catalogue_by_name()["zen.spamhaus.org"]
    name = query_name(LISTED_IP, zen)
    return [(name, "A", "127.0.0.2"), (name, "TXT", f'"https://check.spamhaus.org/sbl/query/SBL-DEMO {LISTED_IP}"')]


def run_demo(demo: DemoContext) -> list[str]:
    """Scan, show STANDBY; delist, rescan, show QUARANTINE. Return summary lines."""
    from emailengine.blocklists import run
    from emailengine.standins.dns_server import DNSTestServer

    disabled = [zone.zone for zone in CATALOGUE if zone.zone not in SERVED]
    with DNSTestServer(demo_records()) as server:
        settings = demo.settings.model_copy(update={
            "dns_nameservers": [server.nameserver], "dns_timeout": 0.5, "blocklist_disabled": disabled})
        demo.say(f"loopback DNS server {server.nameserver} serving {', '.join(SERVED)}; "
                 f"{LISTED_IP} listed on zen.spamhaus.org (SBL)")
        first, _ = run.run_scan(settings=settings, engine=demo.engine)
        _show(demo, first, "scan 1")
        state_after_listing = _state(demo, LISTED_IP)
        listings = [{**row, "codes": ", ".join(row["codes"])} for row in run.status(demo.engine)["listings"]]
        demo.show(listings, ["target", "zone", "tier", "codes", "reason"], "open listings")
        server.clear(listing_records()[0][0])
        demo.say(f"the listing of {LISTED_IP} is removed from the server (delisted); scanning again")
        second, _ = run.run_scan(settings=settings, engine=demo.engine)
        _show(demo, second, "scan 2")
        state_after_clear = _state(demo, LISTED_IP)
    return [
        f"scan 1: {first['targets']} targets × {first['zones']} zones, {first['queries']} queries in "
        f"{first['seconds']} s; {first['new_listings']} new listing → {LISTED_IP} {state_after_listing}",
        f"scan 2: {second['cleared']} listing cleared → {LISTED_IP} {state_after_clear}",
    ]


def _show(demo: DemoContext, summary: dict[str, Any], title: str) -> None:
    demo.show(summary["moves"], ["ip", "from", "to", "reason"], f"{title}: state changes")
    demo.say(f"{title}: {summary['pairs']} verdicts, {summary['listed']} listed, {summary['cleared']} cleared, "
             f"{summary['errors']} errors, broken zones: {', '.join(summary['broken_zones']) or 'none'}")


def _state(demo: DemoContext, address: str) -> str:
    from sqlalchemy.orm import Session

    from emailengine import inventory

    with Session(demo.engine) as session:
        ip = inventory.get_ip(session, address)
        until = f" until {ip.quarantine_until:%Y-%m-%d %H:%M} UTC" if ip.quarantine_until else ""
        return f"{ip.state}{until}"
