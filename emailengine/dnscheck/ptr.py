"""Per sending IP: PTR present (one, not generic), forward-confirmed (FCrDNS, RFC 8601 §3 iprev), and
equal to the HELO name PowerMTA announces; the HELO name's own A/AAAA and SPF. Pure over a Resolver.
"""

from __future__ import annotations

import ipaddress
import re

from emailengine.dnscheck import spf
from emailengine.dnscheck.findings import Finding, Problem, dns_failure, fold
from emailengine.dnscheck.resolver import DnsTempError, Resolver

MAX_NAMES = 10  # bound the forward lookups as RFC 7208 §5.5 does
# Names that look dynamically assigned: receivers (Yahoo, Microsoft DY-001) penalize them.
_GENERIC = re.compile(r"(\d{1,3}[-.x]\d{1,3}[-.x]\d{1,3}|dynamic|dhcp|dyn[-.]|pool|static|cust|dsl|cable|"
                      r"broadband|ip-\d|host-\d|unassigned)", re.I)


def reverse_name(ip: str) -> str:
    """Return the in-addr.arpa / ip6.arpa name of ip."""
    return ipaddress.ip_address(ip).reverse_pointer


def forward_confirmed(resolver: Resolver, ip: str, names: list[str]) -> list[str]:
    """Return the names (first MAX_NAMES) whose A/AAAA contains ip; DnsTempError propagates."""
    address = ipaddress.ip_address(ip)
    rdtype = "A" if address.version == 4 else "AAAA"
    confirmed = []
    for name in names[:MAX_NAMES]:
        records = resolver.query(name, rdtype).records
        if any(_same(text, address) for text in records):
            confirmed.append(name)
    return confirmed


def _same(text: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        return ipaddress.ip_address(text) == address
    except ValueError:
        return False


def check_ip(resolver: Resolver, ip: str, helo: str) -> list[Finding]:
    """Return the ptr, fcrdns, helo and helo_spf findings for one sending IP and its HELO name."""
    helo = helo.rstrip(".").lower()
    rname = reverse_name(ip)
    try:
        names = sorted(resolver.query(rname, "PTR").records)
    except DnsTempError as error:
        return [dns_failure(ip, check, error, f"the PTR of {ip}") for check in ("ptr", "fcrdns", "helo")] + [
            check_helo_spf(resolver, ip, helo)]
    request = f"ask the IP provider to set the PTR of {ip} to {helo}"
    if not names:
        missing = Finding(ip, "ptr", "error", f"{ip} has no PTR record: Gmail, Yahoo and Microsoft refuse or "
                          "throttle mail from IPs without reverse DNS", request, {"reverse": rname})
        return [missing, Finding(ip, "fcrdns", "error", f"{ip} cannot be forward-confirmed without a PTR", request),
                _helo_finding(resolver, ip, helo, []), check_helo_spf(resolver, ip, helo)]
    return [_ptr_finding(ip, names, helo, rname, request), _fcrdns_finding(resolver, ip, names, request),
            _helo_finding(resolver, ip, helo, names), check_helo_spf(resolver, ip, helo)]


def _ptr_finding(ip: str, names: list[str], helo: str, rname: str, request: str) -> Finding:
    problems = []
    if len(names) > 1:
        problems.append(Problem("warning", f"{ip} has {len(names)} PTR records ({', '.join(names)}); one is "
                                "expected", request))
    generic = [name for name in names if _GENERIC.search(name.split(".")[0])]
    if generic:
        problems.append(Problem("warning", f"PTR {generic[0]} looks generic or dynamic; receivers penalize such "
                                "names", request))
    return fold(ip, "ptr", problems, f"{ip} has PTR {names[0]}", {"reverse": rname, "names": names})


def _fcrdns_finding(resolver: Resolver, ip: str, names: list[str], request: str) -> Finding:
    try:
        confirmed = forward_confirmed(resolver, ip, names)
    except DnsTempError as error:
        return dns_failure(ip, "fcrdns", error, f"forward confirmation of {ip}")
    if confirmed:
        return Finding(ip, "fcrdns", "ok", f"{confirmed[0]} resolves back to {ip} (forward-confirmed)", "",
                       {"names": names, "confirmed": confirmed})
    return Finding(ip, "fcrdns", "error", f"PTR {names[0]} of {ip} does not resolve back to {ip}: FCrDNS fails "
                   "(Gmail 421 4.7.23 / 550 5.7.25)", f"publish an A/AAAA record {names[0]} → {ip}",
                   {"names": names, "confirmed": []})


def _helo_finding(resolver: Resolver, ip: str, helo: str, names: list[str]) -> Finding:
    problems: list[Problem] = []
    labels = helo.split(".")
    if len(labels) < 2 or labels[-1].isdigit() or helo in ("localhost", "localhost.localdomain"):
        problems.append(Problem("error", f"HELO name {helo!r} is not a fully-qualified host name",
                                "set smtp-source-host for this IP to its FQDN"))
    elif names and helo not in names:
        problems.append(Problem("error", f"PTR {names[0]} of {ip} does not equal the HELO name {helo}",
                                f"ask the IP provider to set the PTR of {ip} to {helo}, or change the HELO "
                                "(smtp-source-host) to the PTR name"))
    if len(labels) >= 2:
        try:
            confirmed = forward_confirmed(resolver, ip, [helo])
        except DnsTempError as error:
            return dns_failure(ip, "helo", error, f"the HELO name {helo}")
        if not confirmed:
            problems.append(Problem("error", f"HELO name {helo} does not resolve to {ip}",
                                    f"publish an A/AAAA record {helo} → {ip}"))
    return fold(ip, "helo", problems, f"HELO {helo} equals the PTR and resolves to {ip}", {"helo": helo})


def check_helo_spf(resolver: Resolver, ip: str, helo: str) -> Finding:
    """Check SPF for the HELO identity (RFC 7208 §2.3): bounces (MAIL FROM <>) are judged by it."""
    result = spf.check_host(resolver, ip, helo, sender=f"postmaster@{helo}", helo=helo)
    details = {"result": result.result, "trail": result.trail}
    version = spf.normalize_client_ip(ip).version
    fix = f'publish "v=spf1 ip{version}:{ip} -all" at {helo} (all its IPs: see `ee dns records`)'
    if result.result == "pass":
        return Finding(ip, "helo_spf", "ok", f"SPF of HELO {helo} authorizes {ip}", "", details)
    if result.result == "temperror":
        return Finding(ip, "helo_spf", "error", f"SPF of HELO {helo} could not be checked: {result.explanation}",
                       "check the nameservers; run again", details)
    return Finding(ip, "helo_spf", "warning", f"SPF of HELO {helo} gives {result.result} for {ip} "
                   "(null-sender bounces are judged by it)", fix, details)
