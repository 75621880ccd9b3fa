"""Test zones under the REAL zone names for the blocklist tests, served by DNSTestServer.

ZEN: healthy (test entries), LISTED_IP listed (SBL+XBL, TXT), LISTED_V6 listed, one IP per
Spamhaus error code, one SERVFAIL, one REFUSED, one timeout. SpamCop: lists everything
(127.0.0.1 answers too). PSBL: not served at all (its self-test fails like a typo'd zone).
DBL/URIBL/SURBL: healthy domain lists with LISTED_DOMAIN on DBL and URIBL grey.
"""

from __future__ import annotations

from emailengine.blocklists.verdict import query_name
from emailengine.blocklists.zones import catalogue_by_name

ZONES = catalogue_by_name()
ZEN, SPAMCOP, PSBL = ZONES["zen.spamhaus.org"], ZONES["bl.spamcop.net"], ZONES["psbl.surriel.com"]
DBL, URIBL, SURBL = ZONES["dbl.spamhaus.org"], ZONES["multi.uribl.com"], ZONES["multi.surbl.org"]
SERVED = ("zen.spamhaus.org", "bl.spamcop.net", "psbl.surriel.com", "dbl.spamhaus.org", "multi.uribl.com",
          "multi.surbl.org")

LISTED_IP = "198.51.100.12"
CLEAN_IP = "198.51.100.10"
LISTED_V6 = "2001:db8::12"
CLEAN_V6 = "2001:db8::10"
ERROR_IPS = {"192.0.2.252": "127.255.255.252", "192.0.2.254": "127.255.255.254", "192.0.2.255": "127.255.255.255"}
SERVFAIL_IP, REFUSED_IP, TIMEOUT_IP = "192.0.2.1", "192.0.2.2", "192.0.2.3"
LISTED_DOMAIN, CLEAN_DOMAIN = "spammy.example", "example.net"


def test_entries(zone, positive=("127.0.0.2",)) -> list[tuple[str, str, str]]:
    name = query_name(zone.test_positive, zone, test_entry=True)
    return [(name, "A", value) for value in positive] + [(name, "TXT", '"RFC 5782 test entry"')]


def listing(target: str, zone, *values: str, txt: str = "") -> list[tuple[str, str, str]]:
    name = query_name(target, zone)
    records = [(name, "A", value) for value in values]
    return records + ([(name, "TXT", f'"{txt}"')] if txt else [])


def records() -> list[tuple[str, str, str]]:
    """Return every record of the test zones."""
    result = test_entries(ZEN, ("127.0.0.2", "127.0.0.4", "127.0.0.10"))
    result += listing(LISTED_IP, ZEN, "127.0.0.2", "127.0.0.4", txt=f"https://check.spamhaus.org/sbl/query/{LISTED_IP}")
    result += listing(LISTED_V6, ZEN, "127.0.0.3")
    for address, code in ERROR_IPS.items():
        result += listing(address, ZEN, code, txt="Error: open resolver; https://check.spamhaus.org/returnc/pub/")
    # SpamCop "lists the world": the positive and the negative test entry and every target answer
    for target in ("127.0.0.2", "127.0.0.1", LISTED_IP, CLEAN_IP):
        result += [(query_name(target, SPAMCOP, test_entry=True), "A", "127.0.0.2")]
    result += test_entries(DBL, ("127.0.1.2",)) + listing(LISTED_DOMAIN, DBL, "127.0.1.2", txt="DBL listed")
    result += test_entries(URIBL, ("127.0.0.14",)) + listing(LISTED_DOMAIN, URIBL, "127.0.0.4")
    result += test_entries(SURBL, ("127.0.0.216",))
    return result


def serve(server) -> None:
    """Load the test zones into a running DNSTestServer with the failure behaviours."""
    for name, rdtype, value in records():
        server.add(name, rdtype, value)
    server.behave(query_name(SERVFAIL_IP, ZEN), "servfail")
    server.behave(query_name(REFUSED_IP, ZEN), "refused")
    server.behave(query_name(TIMEOUT_IP, ZEN), "timeout")


def disabled_others() -> str:
    """Return EE_BLOCKLIST_DISABLED naming every default zone the test server does not serve."""
    return " ".join(name for name in ZONES if name not in SERVED)
