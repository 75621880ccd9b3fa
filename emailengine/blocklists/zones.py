"""The zone catalogue: every blocklist `ee` knows, as one data table (pure; no I/O).

Each `Zone` says what its answers mean: listing codes (or bitmask bits) with their meaning and
tier, error/refusal codes, the RFC 5782 test entries, the delisting URL and what access it
needs. Facts and sources: shared/reference/dnsbl.md (sections 1, 2.4, 3.1, 3.3). Codes marked
*unconfirmed* there are accepted as "any 127/8 answer that is not an error" (`any_127`).

Operators change the active set with settings, never with code:
  EE_BLOCKLIST_DISABLED      zones to skip (public names, e.g. `dnsbl-1.uceprotect.net`)
  EE_BLOCKLIST_EXTRA_ZONES   JSON list of zone objects (same fields as below; `zone` and `kind`
                             required); an object naming a catalogued zone enables/overrides it
  EE_SPAMHAUS_DQS_KEY        Spamhaus zones are queried as `<key>.<zone>.dq.spamhaus.net`
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from emailengine.errors import ConfigError

if TYPE_CHECKING:
    from emailengine.config import Settings

Tier = Literal["critical", "major", "minor"]
TIERS: tuple[str, ...] = ("critical", "major", "minor")
Kind = Literal["ip", "domain"]

SPAMHAUS_ERRORS = {
    "127.255.255.250": "DQS key disabled",
    "127.255.255.251": "DQS key rejected",
    "127.255.255.252": "typo in the zone name",
    "127.255.255.254": "query via a public/open resolver or one without attributable rDNS",
    "127.255.255.255": "excessive number of queries",
}
SPAMHAUS_ERROR_NETWORKS = ("127.255.255.0/24",)
_DQS_KEY = re.compile(r"^[A-Za-z0-9]{10,64}$")


@dataclass(frozen=True)
class Zone:
    """One blocklist zone and how to read its answers.

    codes: A value → meaning (a listing); code_tiers: per-code tier when it differs from tier;
    bitmask: bit → meaning (SURBL/URIBL: listed iff a listing bit is set); error_codes: A value
    → meaning (never a listing); error_bits: bits that mean "query refused"; any_127: accept
    any other 127/8 value as a listing (codes unconfirmed); test_positive/test_negative: the
    RFC 5782 self-test entries (an IP or a domain name).
    """

    zone: str
    kind: Kind
    title: str
    tier: Tier
    delist_url: str
    codes: dict[str, str] = field(default_factory=dict)
    code_tiers: dict[str, Tier] = field(default_factory=dict)
    bitmask: dict[int, str] = field(default_factory=dict)
    bit_tiers: dict[int, Tier] = field(default_factory=dict)
    error_codes: dict[str, str] = field(default_factory=dict)
    error_networks: tuple[str, ...] = ()
    error_bits: int = 0
    any_127: bool = False
    ipv6: bool = False
    test_positive: str = "127.0.0.2"
    test_negative: str = "127.0.0.1"
    requires: str = ""  # "" | registered-resolver | dqs-key | key | subscription
    refuses_public_resolvers: bool = False
    dqs_name: str = ""  # Spamhaus DQS zone label (zen, dbl, zrd ...)
    default: bool = True
    registrable_only: bool = False  # URIBL/SURBL list registrable domains: strip host parts
    notes: str = ""
    query_zone: str = ""  # the name actually queried (DQS); set by active_zones, never printed

    @property
    def queried(self) -> str:
        """Return the zone name queries are sent under (the DQS name when keyed)."""
        return self.query_zone or self.zone


def _spamhaus(zone: str, kind: Kind, title: str, dqs: str, codes: dict[str, str], **extra: Any) -> Zone:
    """Return a Spamhaus zone: shared error codes, DQS name, refusal of public resolvers."""
    errors = dict(SPAMHAUS_ERRORS)
    errors.update(extra.pop("error_codes", {}))
    return Zone(zone=zone, kind=kind, title=title, dqs_name=dqs, codes=codes, error_codes=errors,
                error_networks=SPAMHAUS_ERROR_NETWORKS, refuses_public_resolvers=True,
                delist_url="https://check.spamhaus.org/", **extra)


ZEN_CODES = {
    "127.0.0.2": "SBL: Spamhaus spam source",
    "127.0.0.3": "CSS: snowshoe/low-reputation sender",
    "127.0.0.4": "XBL: exploited/infected host",
    "127.0.0.5": "XBL (reserved code)",
    "127.0.0.6": "XBL (reserved code)",
    "127.0.0.7": "XBL (reserved code)",
    "127.0.0.9": "DROP: hijacked netblock",
    "127.0.0.10": "PBL: ISP-maintained end-user range (policy; needs removal or another IP)",
    "127.0.0.11": "PBL: Spamhaus-maintained end-user range (policy; needs removal or another IP)",
    "127.0.0.30": "BCL: botnet controller",
}
DBL_CODES = {
    "127.0.1.2": "DBL: low-reputation (spam) domain",
    "127.0.1.3": "DBL: spammed redirector (legacy)",
    "127.0.1.4": "DBL: phishing domain",
    "127.0.1.5": "DBL: malware domain",
    "127.0.1.6": "DBL: botnet C&C domain",
    "127.0.1.102": "DBL: abused legitimate domain (spam)",
    "127.0.1.103": "DBL: abused redirector",
    "127.0.1.104": "DBL: abused legitimate domain (phish)",
    "127.0.1.105": "DBL: abused legitimate domain (malware)",
    "127.0.1.106": "DBL: abused legitimate domain (botnet C&C)",
}

CATALOGUE: tuple[Zone, ...] = (
    # ---- IP lists: the nine defaults (reference 3.1 / 3.3) ----
    _spamhaus("zen.spamhaus.org", "ip", "Spamhaus ZEN (SBL+CSS+XBL+PBL)", "zen", ZEN_CODES,
              tier="critical", ipv6=True,
              notes="Used by Microsoft and Yahoo. Test 127.0.0.2 answers .2 .4 .10 together."),
    Zone("b.barracudacentral.org", "ip", "Barracuda BRBL", "major",
         "https://www.barracudacentral.org/rbl/removal-request", codes={"127.0.0.2": "Barracuda BRBL listing"},
         requires="registered-resolver", refuses_public_resolvers=True,
         notes="Register the resolver's public IP at barracudacentral.org first; IPv4 only."),
    Zone("bl.spamcop.net", "ip", "SpamCop SCBL", "major", "https://www.spamcop.net/bl.shtml",
         codes={"127.0.0.2": "SpamCop: reported spam source"}, ipv6=True,
         notes="Auto-delists 24 h after the last report."),
    Zone("bl.mailspike.net", "ip", "Mailspike BL", "major", "https://mailspike.io/ip_verify",
         codes={"127.0.0.2": "Mailspike: taking part in a spam wave", "127.0.0.10": "Mailspike reputation L5 (worst)",
                "127.0.0.11": "Mailspike reputation L4", "127.0.0.12": "Mailspike reputation L3",
                "127.0.0.13": "Mailspike reputation L2", "127.0.0.14": "Mailspike reputation L1"},
         code_tiers={"127.0.0.13": "minor", "127.0.0.14": "minor"},
         notes="Free up to 100,000 queries/day. .15-.20 are neutral/good reputation (rep/wl zones)."),
    Zone("psbl.surriel.com", "ip", "PSBL (passive spam block list)", "minor", "http://psbl.org/remove",
         codes={"127.0.0.2": "PSBL: spam-trap hit"}, notes="Trap-only; self-service removal."),
    Zone("dnsbl-1.uceprotect.net", "ip", "UCEPROTECT Level 1", "minor", "http://www.uceprotect.net/",
         codes={"127.0.0.2": "UCEPROTECT L1: this IP hit spam traps"}, any_127=True,
         notes="Codes unconfirmed; expires 7 days after last impact; pay-for-express-delist."),
    Zone("all.s5h.net", "ip", "s5h.net", "minor", "http://www.usenix.org.uk/content/rblremove",
         codes={"127.0.0.2": "s5h listing"}, any_127=True, ipv6=True,
         notes="Claims full RFC 5782 compliance; self-delist by one HTTP request from the IP."),
    Zone("bl.0spam.org", "ip", "0spam BL", "minor", "https://0spam.org/",
         codes={"127.0.0.2": "0spam listing"}, any_127=True, notes="IPv4 only; test entry TXT 'RFC 5782 Compliance'."),
    Zone("all.spamrats.com", "ip", "SpamRATS (Dyna+NoPtr+Spam+Auth)", "minor",
         "http://www.spamrats.com/removal.php",
         codes={"127.0.0.36": "SpamRATS Dyna: generic/dynamic-looking rDNS (fix the PTR)",
                "127.0.0.37": "SpamRATS NoPtr: no reverse DNS (fix the PTR)",
                "127.0.0.38": "SpamRATS Spam: spam source", "127.0.0.43": "SpamRATS Auth: auth attacks"},
         any_127=True, refuses_public_resolvers=True,
         notes="Shared hosting/cloud resolvers are not served (timeouts)."),
    # ---- IP lists catalogued but off by default ----
    Zone("dnsbl-2.uceprotect.net", "ip", "UCEPROTECT Level 2 (allocation)", "minor", "http://www.uceprotect.net/",
         codes={"127.0.0.2": "UCEPROTECT L2: the allocation around this IP"}, any_127=True, default=False,
         notes="Lists your neighbours, not you; informational."),
    Zone("dnsbl-3.uceprotect.net", "ip", "UCEPROTECT Level 3 (ASN)", "minor", "http://www.uceprotect.net/",
         codes={"127.0.0.2": "UCEPROTECT L3: the whole ASN"}, any_127=True, default=False,
         notes="Lists the hosting provider's ASN; informational."),
    Zone("ips.backscatterer.org", "ip", "Backscatterer", "minor", "http://www.backscatterer.org/",
         codes={"127.0.0.2": "Backscatterer: sends bounces/backscatter"}, default=False,
         notes="Only relevant for null-sender mail."),
    Zone("dnsbl.dronebl.org", "ip", "DroneBL", "minor", "https://dronebl.org/lookup",
         codes={}, any_127=True, default=False, ipv6=True, notes="Abuse/IRC oriented; class table unconfirmed."),
    Zone("combined.mail.abusix.zone", "ip", "Abusix Mail Intelligence combined", "major",
         "https://lookup.abusix.com/",
         codes={"127.0.0.2": "Abusix: spam-trap hit", "127.0.0.3": "Abusix: heuristic/neighbourhood",
                "127.0.0.4": "Abusix: exploited host", "127.0.0.11": "Abusix policy: generic rDNS",
                "127.0.0.12": "Abusix policy: no rDNS", "127.0.0.200": "Abusix: manual listing"},
         code_tiers={"127.0.0.11": "minor", "127.0.0.12": "minor"}, ipv6=True, requires="key", default=False,
         notes="Needs an API key: add it as an extra zone `<key>.combined.mail.abusix.zone`."),
    # ---- domain lists (reference 1.2 / 3.1) ----
    _spamhaus("dbl.spamhaus.org", "domain", "Spamhaus DBL", "dbl", DBL_CODES, tier="critical",
              code_tiers={code: "major" for code in DBL_CODES if code.split(".")[-1].startswith("10")},
              error_codes={"127.0.1.255": "an IP address was queried against a domain list"},
              test_positive="dbltest.com", test_negative="invalid",
              notes="Wildcarded: full host names can be queried. Abused-legit codes (.102-.106) are major."),
    Zone("multi.surbl.org", "domain", "SURBL multi", "major", "https://surbl.org/lookupform/embed_form.php",
         bitmask={8: "SURBL PH: phishing", 16: "SURBL MW: malware", 64: "SURBL ABUSE: spam",
                  128: "SURBL CR: cracked site"},
         error_bits=1, test_positive="test.surbl.org", test_negative="invalid", registrable_only=True,
         refuses_public_resolvers=True, notes="Bit 1 (127.0.0.1) = query blocked. TXT is not for parsing."),
    Zone("multi.uribl.com", "domain", "URIBL multi", "major", "https://admin.uribl.com/",
         bitmask={2: "URIBL black", 4: "URIBL grey (bulk/opt-out)", 8: "URIBL red (young/private whois)"},
         bit_tiers={4: "minor", 8: "minor"}, error_bits=1, test_positive="test.uribl.com", test_negative="invalid",
         registrable_only=True, refuses_public_resolvers=True,
         notes="127.0.0.1 = query refused (big shared resolvers are refused)."),
    _spamhaus("zrd.spamhaus.org", "domain", "Spamhaus ZRD (zero-reputation domains)", "zrd",
              {f"127.0.2.{code}": "ZRD: domain first seen within the last 24 h" for code in range(2, 25)},
              tier="minor", requires="dqs-key", default=False, test_positive="dbltest.com", test_negative="invalid",
              notes="DQS only; informational for new tracking domains, never a standby trigger."),
)

_FIELDS = {name for name in Zone.__dataclass_fields__ if name != "query_zone"}


def catalogue_by_name() -> dict[str, Zone]:
    """Return the built-in catalogue keyed by public zone name."""
    return {zone.zone: zone for zone in CATALOGUE}


def parse_extra_zones(text: str) -> list[Zone]:
    """Given EE_BLOCKLIST_EXTRA_ZONES (a JSON list of objects), return zones; raise ConfigError.

    An object naming a catalogued zone overrides that entry's fields (and enables it); any other
    object needs `zone`, `kind` (ip|domain) and `tier`; the rest defaults as in `Zone`.
    """
    if not text.strip():
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"EE_BLOCKLIST_EXTRA_ZONES is not valid JSON: {error.msg}") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ConfigError("EE_BLOCKLIST_EXTRA_ZONES must be a JSON list of objects")
    known = catalogue_by_name()
    return [_zone_from_dict(item, known) for item in items]


def _zone_from_dict(item: dict[str, Any], known: dict[str, Zone]) -> Zone:
    """Build one Zone from a settings object, validating names and values."""
    unknown = set(item) - _FIELDS
    if unknown:
        raise ConfigError(f"EE_BLOCKLIST_EXTRA_ZONES: unknown field(s) {sorted(unknown)}")
    name = str(item.get("zone", "")).strip().lower().rstrip(".")
    if not re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)+", name):
        raise ConfigError(f"EE_BLOCKLIST_EXTRA_ZONES: invalid zone name {item.get('zone')!r}")
    values = dict(item, zone=name, default=True)
    if "bitmask" in values:
        values["bitmask"] = {int(bit): str(text) for bit, text in values["bitmask"].items()}
    if "bit_tiers" in values:
        values["bit_tiers"] = {int(bit): tier for bit, tier in values["bit_tiers"].items()}
    if "error_networks" in values:
        values["error_networks"] = tuple(values["error_networks"])
    base = known.get(name)
    if base is None:
        for required in ("kind", "tier"):
            if required not in values:
                raise ConfigError(f"EE_BLOCKLIST_EXTRA_ZONES: zone {name} needs {required!r}")
        values.setdefault("title", name)
        values.setdefault("delist_url", "")
        if "codes" not in values and "bitmask" not in values:
            values["any_127"] = True  # a list without a code table: any 127/8 non-error answer
        if values["kind"] == "domain":
            values.setdefault("test_positive", "test")
            values.setdefault("test_negative", "invalid")
        zone = Zone(**values)
    else:
        zone = replace(base, **values)
    _check(zone)
    return zone


def _check(zone: Zone) -> None:
    """Raise ConfigError when a zone's kind or tiers are not in the vocabulary."""
    if zone.kind not in ("ip", "domain"):
        raise ConfigError(f"zone {zone.zone}: kind must be ip or domain")
    tiers = [zone.tier, *zone.code_tiers.values(), *zone.bit_tiers.values()]
    if any(tier not in TIERS for tier in tiers):
        raise ConfigError(f"zone {zone.zone}: tier must be one of {', '.join(TIERS)}")


def dqs_zone_name(key: str, dqs_name: str) -> str:
    """Return `<key>.<dqs_name>.dq.spamhaus.net`; raise ConfigError for a key that is not alphanumeric.

    The key becomes a DNS label, so it is validated to keep it from changing the query name.
    """
    if not _DQS_KEY.fullmatch(key):
        raise ConfigError("EE_SPAMHAUS_DQS_KEY must be 10-64 letters and digits")
    return f"{key}.{dqs_name}.dq.spamhaus.net"


def all_zones(settings: Settings) -> list[Zone]:
    """Return the catalogue merged with EE_BLOCKLIST_EXTRA_ZONES (overrides replace entries)."""
    merged = {zone.zone: zone for zone in CATALOGUE}
    for zone in parse_extra_zones(settings.blocklist_extra_zones):
        merged[zone.zone] = zone
    return list(merged.values())


def zone_enabled(zone: Zone, settings: Settings) -> tuple[bool, str]:
    """Return (enabled, why not) for a zone under the settings."""
    if zone.zone in {name.lower().rstrip(".") for name in settings.blocklist_disabled}:
        return False, "disabled by EE_BLOCKLIST_DISABLED"
    if zone.requires == "dqs-key" and settings.spamhaus_dqs_key is None:
        return False, "needs EE_SPAMHAUS_DQS_KEY"
    if not zone.default:
        return False, "off by default (enable with EE_BLOCKLIST_EXTRA_ZONES)"
    return True, ""


def active_zones(settings: Settings, kind: Kind | None = None) -> list[Zone]:
    """Return the enabled zones (of one kind), with DQS query names when a key is set."""
    key = settings.spamhaus_dqs_key.get_secret_value() if settings.spamhaus_dqs_key else ""
    zones = []
    for zone in all_zones(settings):
        if kind is not None and zone.kind != kind:
            continue
        enabled, _ = zone_enabled(zone, settings)
        if not enabled:
            continue
        if zone.dqs_name and key:
            zone = replace(zone, query_zone=dqs_zone_name(key, zone.dqs_name), refuses_public_resolvers=False)
        zones.append(zone)
    return zones


def zone_to_dict(zone: Zone, settings: Settings) -> dict[str, Any]:
    """Return the plain-data view of a zone for `ee blacklist zones` (never the DQS key)."""
    enabled, why = zone_enabled(zone, settings)
    dqs = bool(zone.dqs_name and settings.spamhaus_dqs_key is not None)
    return {
        "zone": zone.zone, "kind": zone.kind, "title": zone.title, "tier": zone.tier, "enabled": enabled,
        "why_disabled": why, "queried_as": f"<key>.{zone.dqs_name}.dq.spamhaus.net" if dqs else zone.zone,
        "codes": zone.codes, "code_tiers": zone.code_tiers,
        "bitmask": {str(bit): text for bit, text in zone.bitmask.items()},
        "bit_tiers": {str(bit): tier for bit, tier in zone.bit_tiers.items()},
        "error_codes": zone.error_codes, "error_networks": list(zone.error_networks), "error_bits": zone.error_bits,
        "any_127": zone.any_127, "ipv6": zone.ipv6, "test_positive": zone.test_positive,
        "test_negative": zone.test_negative, "requires": zone.requires,
        "refuses_public_resolvers": zone.refuses_public_resolvers, "delist_url": zone.delist_url,
        "notes": zone.notes,
    }


# Well-known public/shared resolvers that DNSBLs refuse or answer wrongly (reference 2.5).
PUBLIC_RESOLVERS = frozenset({
    "8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844",  # Google
    "1.1.1.1", "1.0.0.1", "2606:4700:4700::1111", "2606:4700:4700::1001",  # Cloudflare
    "9.9.9.9", "149.112.112.112", "2620:fe::fe", "2620:fe::9",  # Quad9
    "208.67.222.222", "208.67.220.220",  # OpenDNS
    "4.2.2.1", "4.2.2.2", "4.2.2.3", "4.2.2.4", "4.2.2.5", "4.2.2.6",  # Level3
    "64.6.64.6", "64.6.65.6", "94.140.14.14", "94.140.15.15", "185.228.168.9", "76.76.2.0", "76.76.19.19",
})
SYSTEMD_STUB = "127.0.0.53"


def resolver_warnings(settings: Settings) -> list[str]:
    """Given settings, return `ee config check` warnings about the blocklist resolver setup.

    Warns when a configured resolver is a public one (or the systemd-resolved stub, or none is
    configured) while enabled lists refuse such resolvers, and names unknown disabled zones.
    """
    from emailengine.config import parse_nameserver

    try:
        zones = active_zones(settings)
    except ConfigError as error:
        return [f"blocklists: {error.one_line()}"]
    refusing = sorted(zone.zone for zone in zones if zone.refuses_public_resolvers)
    warnings = []
    hosts = [parse_nameserver(entry)[0] for entry in settings.dns_nameservers]
    public = [host for host in hosts if host in PUBLIC_RESOLVERS]
    if refusing and public:
        warnings.append(
            f"blocklists: EE_DNS_NAMESERVERS includes public resolver(s) {', '.join(public)}, which "
            f"{', '.join(refusing)} refuse or answer wrongly; use a dedicated non-forwarding resolver "
            "(unbound on loopback) or a Spamhaus DQS key")
    if refusing and SYSTEMD_STUB in hosts:
        warnings.append("blocklists: 127.0.0.53 is the systemd-resolved stub, which forwards to the "
                        "provider's resolver; point EE_DNS_NAMESERVERS at a non-forwarding resolver")
    if refusing and not hosts:
        warnings.append("blocklists: EE_DNS_NAMESERVERS is empty, so /etc/resolv.conf decides; "
                        f"{', '.join(refusing)} refuse public/shared resolvers: set a dedicated resolver")
    known = {zone.zone for zone in all_zones(settings)}
    for name in settings.blocklist_disabled:
        if name.lower().rstrip(".") not in known:
            warnings.append(f"blocklists: EE_BLOCKLIST_DISABLED names unknown zone {name!r}")
    return warnings
