"""Receiving-provider lanes, decided from the recipient domain and, when known, the MX host.

One list of lanes for the whole product: the bounce pipeline counts per lane, warmup tracks a
plan position per lane, PowerMTA rendering limits per lane.
"""

from __future__ import annotations

LANES: tuple[str, ...] = ("gmail", "microsoft", "microsoft365", "yahoo", "apple", "other")

_DOMAINS: dict[str, str] = {
    **dict.fromkeys(("gmail.com", "googlemail.com"), "gmail"),
    **dict.fromkeys(
        ("outlook.com", "hotmail.com", "live.com", "msn.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de",
         "hotmail.it", "hotmail.es", "live.co.uk", "live.fr", "live.de", "outlook.fr", "outlook.de",
         "windowslive.com", "passport.com"),
        "microsoft",
    ),
    **dict.fromkeys(
        ("yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it", "yahoo.ca",
         "yahoo.com.br", "yahoo.co.jp", "ymail.com", "rocketmail.com", "aol.com", "aol.co.uk", "aim.com",
         "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "frontier.com"),
        "yahoo",
    ),
    **dict.fromkeys(("icloud.com", "me.com", "mac.com"), "apple"),
}

# MX host suffixes (PowerMTA's dsnMta / the MX of the recipient domain) → lane.
_MX_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".google.com", "gmail"),
    (".googlemail.com", "gmail"),
    (".mail.protection.outlook.com", "microsoft365"),
    (".olc.protection.outlook.com", "microsoft"),
    (".hotmail.com", "microsoft"),
    (".outlook.com", "microsoft"),
    (".yahoodns.net", "yahoo"),
    (".aol.com", "yahoo"),
    (".icloud.com", "apple"),
    (".mail.me.com", "apple"),
)


def lane_for(domain: str, mx_host: str = "") -> str:
    """Return the provider lane of a recipient domain, using the MX host when the domain is unknown."""
    lane = _DOMAINS.get(domain.lower().rstrip("."))
    if lane:
        return lane
    host = mx_host.lower().strip().rstrip(".")
    if host:
        host = "." + host.split()[0]
        for suffix, mx_lane in _MX_SUFFIXES:
            if host.endswith(suffix):
                return mx_lane
    return "other"
