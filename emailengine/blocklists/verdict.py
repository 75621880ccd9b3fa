"""Verdicts: what one DNS answer from one zone means (pure; no DNS, no clock).

Three states and nothing else (reference section 0):
  listed  A record(s) whose values the zone defines as listings (or any_127 for lists whose
          codes are unconfirmed); codes, meanings and the TXT reason are kept
  clean   NXDOMAIN (or NOERROR without an A record) from a zone that passed its self-test
  error   everything else: timeout, SERVFAIL, REFUSED, network error, an error/refusal code,
          127.0.0.1, an answer outside 127.0.0.0/8, or any answer from a zone that failed its
          RFC 5782 self-test in this run. An error is never clean and never listed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from emailengine.blocklists.zones import TIERS, Tier, Zone

Status = Literal["listed", "clean", "error"]
# What came back from DNS, reduced to what the verdict needs.
Rcode = Literal["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "TIMEOUT", "NETWORK", "OTHER"]
LOOPBACK_NET = ipaddress.ip_network("127.0.0.0/8")


@dataclass(frozen=True)
class Answer:
    """The raw outcome of one A query (and, for positives, its TXT): rcode, A values, TXT text."""

    rcode: Rcode
    addresses: tuple[str, ...] = ()
    txt: str = ""
    detail: str = ""  # e.g. the exception text of a network error


@dataclass(frozen=True)
class Verdict:
    """The verdict for one (target, zone): status, codes with meanings, tier, reason."""

    status: Status
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    tier: Tier | None = None
    reason: str = ""
    unrecognised: bool = False  # listed with a code the zone does not document

    def to_dict(self) -> dict[str, object]:
        return {"status": self.status, "codes": list(self.codes), "meanings": list(self.meanings),
                "tier": self.tier, "reason": self.reason}


@dataclass(frozen=True)
class ZoneHealth:
    """The result of a zone's RFC 5782 self-test in one run."""

    healthy: bool
    problem: str = ""
    details: dict[str, str] = field(default_factory=dict)


# ---- query names -------------------------------------------------------------------------


@lru_cache(maxsize=65536)  # a scan asks every zone about the same addresses
def reverse_ip(address: str) -> str:
    """Return the DNSBL label form of an IP: IPv4 octets reversed, IPv6 as 32 reversed nibbles.

    192.0.2.99 → 99.2.0.192; 2001:db8::1 → 1.0.0.0 ... 8.b.d.0.1.0.0.2 (RFC 5782 §2.1/§2.4).
    Raise ValueError for text that is not an IP address.
    """
    parsed = ipaddress.ip_address(address.strip())
    suffix = ".in-addr.arpa" if parsed.version == 4 else ".ip6.arpa"
    return parsed.reverse_pointer.removesuffix(suffix)


def registrable_domain(name: str) -> str:
    """Return the registrable domain of a host name (Public Suffix List), or the name itself
    when it is a public suffix or the list cannot be loaded. mail.example.co.uk → example.co.uk."""
    psl = _public_suffix_list()
    found = psl.privatesuffix(name) if psl is not None else None
    return found or name


@lru_cache(maxsize=1)
def _public_suffix_list() -> Any:
    try:
        from publicsuffixlist import PublicSuffixList
    except ImportError:  # the bundled list ships with the package; without it, query names as given
        return None
    return PublicSuffixList()


def query_name(target: str, zone: Zone, *, test_entry: bool = False) -> str:
    """Return the fully qualified query name for target on zone.

    IPs are reversed (octets / nibbles); domains are lower-cased, and reduced to the registrable
    domain for lists that only list those (URIBL, SURBL) unless target is a self-test entry.
    """
    if zone.kind == "ip":
        label = reverse_ip(target)
    else:
        label = target.lower().rstrip(".")
        if zone.registrable_only and not test_entry:
            label = registrable_domain(label)
    return f"{label}.{zone.queried}."


def applicable(target_kind: str, target: str, zone: Zone) -> bool:
    """Return whether the zone can say anything about the target (kind and IP family match)."""
    if target_kind != zone.kind:
        return False
    if target_kind == "ip" and ":" in target:  # normalised IPv6 text always has a colon
        return zone.ipv6
    return True


# ---- decoding ------------------------------------------------------------------------------


def _worst(tiers: list[Tier]) -> Tier:
    """Return the most severe tier of a non-empty list."""
    return min(tiers, key=TIERS.index)


def _error_meaning(zone: Zone, value: str) -> str | None:
    """Return why an A value is an error/refusal for zone, or None when it is not one."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return f"not an IPv4 address: {value}"
    if address.version != 4 or address not in LOOPBACK_NET:
        return f"answer {value} outside 127.0.0.0/8: the resolver rewrites answers"
    if value in zone.error_codes:
        return zone.error_codes[value]
    if any(address in ipaddress.ip_network(net) for net in zone.error_networks):
        return f"error code {value}"
    if zone.bitmask and int(value.rsplit(".", 1)[1]) & zone.error_bits:
        return "query refused/blocked by the list (bit 1)"
    if value == "127.0.0.1":
        return "127.0.0.1 is never a listing (RFC 5782 test entry / refusal)"
    return None


def _decode_bitmask(zone: Zone, value: str) -> tuple[list[str], list[Tier], bool]:
    """Return (meanings, tiers, unrecognised) of a bitmask value (error bits already excluded)."""
    bits = int(value.rsplit(".", 1)[1])
    meanings, tiers = [], []
    for bit, meaning in sorted(zone.bitmask.items()):
        if bits & bit:
            meanings.append(meaning)
            tiers.append(zone.bit_tiers.get(bit, zone.tier))
    unknown = bits & ~sum(zone.bitmask) & ~zone.error_bits
    if unknown:
        meanings.append(f"unrecognised sub-list bits {unknown}")
    return meanings, tiers, bool(unknown)


def classify(zone: Zone, answer: Answer) -> Verdict:
    """Given a zone and one answer (the zone's health aside), return the verdict.

    All A records are read. Any error/refusal value makes the whole answer an error (a refused
    query says nothing about the target). A 127/8 value the zone does not document is a
    listing marked unrecognised, capped at tier major so it never triggers a standby alone.
    """
    if answer.rcode == "NXDOMAIN":
        return Verdict("clean")
    if answer.rcode != "NOERROR":
        detail = f": {answer.detail}" if answer.detail else ""
        return Verdict("error", reason=f"{answer.rcode}{detail}")
    if not answer.addresses:
        return Verdict("clean", reason="NOERROR without A record")
    codes = tuple(sorted(set(answer.addresses), key=ipaddress.ip_address))
    errors = [(value, _error_meaning(zone, value)) for value in codes]
    problems = [f"{value}: {meaning}" for value, meaning in errors if meaning]
    if problems:
        reason = "; ".join(problems) + (f" — {answer.txt}" if answer.txt else "")
        return Verdict("error", codes=codes, reason=reason)
    meanings: list[str] = []
    tiers: list[Tier] = []
    unrecognised = False
    for value in codes:
        if zone.bitmask:
            found, found_tiers, unknown = _decode_bitmask(zone, value)
            meanings += found
            tiers += found_tiers
            unrecognised |= unknown
        elif value in zone.codes:
            meanings.append(zone.codes[value])
            tiers.append(zone.code_tiers.get(value, zone.tier))
        else:
            meanings.append(f"listed ({value})" if zone.any_127 else f"unrecognised code {value}")
            tiers.append(zone.tier)
            unrecognised |= not zone.any_127
    tier = _worst(tiers) if tiers else zone.tier
    if unrecognised and tier == "critical":
        tier = "major"  # an undocumented code alerts but never takes an IP out of rotation alone
    reason = "; ".join(meanings) + (f" — {answer.txt}" if answer.txt else "")
    return Verdict("listed", codes=codes, meanings=tuple(meanings), tier=tier, reason=reason,
                   unrecognised=unrecognised)


def self_test(zone: Zone, positive: Answer, negative: Answer) -> ZoneHealth:
    """Given the answers to the zone's positive and negative test entries, return its health.

    Healthy only when the positive entry is listed and the negative entry is clean. This
    catches a resolver the list refuses (error codes, SERVFAIL, or NXDOMAIN for everything),
    a dead list that lists the world, and a typo in the zone name.
    """
    got_positive = classify(zone, positive)
    got_negative = classify(zone, negative)
    details = {"positive": _describe(positive), "negative": _describe(negative)}
    if got_positive.status != "listed":
        why = ("the list does not answer (refused, emptied, or a typo in the zone name)"
               if got_positive.status == "clean" else got_positive.reason)
        return ZoneHealth(False, f"test entry {zone.test_positive} not listed: {why}", details)
    if got_negative.status != "clean":
        why = ("the list answers listed for everything" if got_negative.status == "listed"
               else got_negative.reason)
        return ZoneHealth(False, f"test entry {zone.test_negative} not clean: {why}", details)
    return ZoneHealth(True, "", details)


def _describe(answer: Answer) -> str:
    """Return a short text of an answer for reports."""
    if answer.rcode == "NOERROR":
        return ",".join(answer.addresses) or "NODATA"
    return answer.rcode


def final_verdict(zone: Zone, answer: Answer, health: ZoneHealth) -> Verdict:
    """Return the verdict of answer, or an error when the zone failed its self-test this run."""
    if not health.healthy:
        return Verdict("error", reason=f"zone failed its self-test this run: {health.problem}")
    return classify(zone, answer)
