"""The DNS records to publish for a sending domain, rendered from the templates in `dns/` (pure).

SPF lists the sending IPs as ip4:/ip6: terms (collapsed into networks), which cost no DNS
lookups, so the record is always within the 10-lookup limit. The DKIM TXT is derived from the
private key file and split into ≤255-byte strings. DMARC is a p=none starter with rua inside the
organizational domain. PTRs are what to request from the IP provider, with the forward A/AAAA;
each HELO name gets an SPF record listing its IPs.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

from emailengine.dnscheck import dkim
from emailengine.dnscheck.dmarc import org_domain
from emailengine.dnscheck.report import DomainTarget, IpTarget

MAX_STRING = 255
SPF_SIZE_WARNING = 450
_BUILTIN = {
    "spf": "$name. 3600 IN TXT $value\n",
    "dkim": "$name. 3600 IN TXT ( $value )\n",
    "dmarc": "$name. 3600 IN TXT $value\n",
    "ptr": "$reverse. IN PTR $hostname.\n$hostname. 3600 IN $rdtype $ip\n",
    "helo": "$hostname. 3600 IN TXT $value\n",
}


def template_dirs() -> list[Path]:
    """Where templates are looked up: the repository's dns/ folder, then the wheel's copy."""
    package = Path(__file__).resolve().parent.parent
    return [package.parent / "dns", package / "_dns"]


@lru_cache(maxsize=8)
def template(kind: str) -> Template:
    """Return the template for kind (spf, dkim, dmarc, ptr, helo); the built-in one if no file is found."""
    for folder in template_dirs():
        path = folder / f"{kind}.tmpl"
        if path.is_file():
            return Template(path.read_text())
    return Template(_BUILTIN[kind])


def split_strings(value: str, size: int = MAX_STRING) -> list[str]:
    """Split value into character-strings of at most size bytes (ASCII record values)."""
    data = value.encode()
    return [data[i:i + size].decode() for i in range(0, len(data), size)] or [""]


def quoted(strings: list[str]) -> str:
    """Return zone-file text for a TXT value: each string quoted, separated by a space."""
    return " ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings)


def spf_value(ips: list[IpTarget], qualifier: str = "~") -> str:
    """Return an SPF record authorizing exactly the given IPs (networks collapsed)."""
    addresses = [ipaddress.ip_address(ip.address) for ip in ips]
    terms = []
    for version, label in ((4, "ip4"), (6, "ip6")):
        networks = ipaddress.collapse_addresses(a for a in addresses if a.version == version)
        for network in networks:
            full = network.prefixlen == network.max_prefixlen
            terms.append(f"{label}:{network.network_address if full else network}")
    return " ".join(["v=spf1", *terms, f"{qualifier}all"])


def render(domain: DomainTarget, ips: list[IpTarget]) -> list[dict[str, Any]]:
    """Return the records for domain: [{kind, name, type, strings, notes, zone}] in publishing order."""
    out = []
    spf = spf_value(ips)
    notes = [] if len(spf) <= SPF_SIZE_WARNING else [f"the record is {len(spf)} bytes; over {SPF_SIZE_WARNING} "
                                                     "may not fit one UDP answer"]
    for name in dict.fromkeys([domain.envelope, domain.name]):
        strings = split_strings(spf)
        out.append(_record("spf", name, strings, notes, domain=domain.name, name=name, value=quoted(strings)))
    out += _dkim(domain)
    dmarc = f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{org_domain(domain.name)}; fo=1"
    strings = split_strings(dmarc)
    out.append(_record("dmarc", f"_dmarc.{domain.name}", strings, [], domain=domain.name,
                       name=f"_dmarc.{domain.name}", value=quoted(strings)))
    by_helo: dict[str, list[IpTarget]] = {}
    for ip in ips:
        address = ipaddress.ip_address(ip.address)
        out.append(_record("ptr", address.reverse_pointer, [ip.hostname], [], kind_type="PTR", ip=ip.address,
                           reverse=address.reverse_pointer, hostname=ip.hostname,
                           rdtype="A" if address.version == 4 else "AAAA"))
        by_helo.setdefault(ip.hostname, []).append(ip)
    for hostname, group in by_helo.items():  # one SPF record per HELO name, even for IPv4 + IPv6
        strings = split_strings(spf_value(group, qualifier="-"))
        out.append(_record("helo", hostname, strings, [], hostname=hostname, value=quoted(strings)))
    return out


def _dkim(domain: DomainTarget) -> list[dict[str, Any]]:
    if not domain.selector:
        return [{"kind": "dkim", "name": None, "type": "TXT", "strings": [], "zone": "",
                 "notes": [f"{domain.name} has no DKIM selector/key configured"]}]
    name = dkim.selector_name(domain.selector, domain.name)
    if domain.key_pem is None:
        reason = domain.key_error or "no key file configured"
        return [{"kind": "dkim", "name": name, "type": "TXT", "strings": [], "zone": "",
                 "notes": [f"cannot derive the DKIM record: {reason}"]}]
    try:
        private = dkim.load_private_key(domain.key_pem)
        value = dkim.public_record_value(private)
    except ValueError as error:
        return [{"kind": "dkim", "name": name, "type": "TXT", "strings": [], "zone": "",
                 "notes": [f"cannot derive the DKIM record: {error}"]}]
    info = f"rsa {private.key_size} bits" if hasattr(private, "key_size") else "ed25519"
    strings = split_strings(value)
    return [_record("dkim", name, strings, [], domain=domain.name, name=name, value=quoted(strings),
                    selector=domain.selector, key_path=domain.key_path or "the signing key file", key_info=info)]


def _record(kind: str, record_name: str, strings: list[str], notes: list[str], kind_type: str = "TXT",
            **values: str) -> dict[str, Any]:
    zone = template(kind).safe_substitute(values)
    return {"kind": kind, "name": record_name, "type": kind_type, "strings": strings, "notes": notes, "zone": zone}
