"""The DNS-validation part of `ee demo`: example.net served by a loopback DNSTestServer.

The zone is a good SPF/DKIM/DMARC/PTR setup built from the demo inventory, with one deliberate
problem: the PTR of one IP names mail13.example.net (forward-confirmed, but not the HELO name
PowerMTA announces). The part shows the findings and the readiness verdict.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emailengine.dnscheck import records
from emailengine.dnscheck.report import IpTarget

if TYPE_CHECKING:
    from emailengine.demo import DemoContext

DOMAIN = "example.net"
MISMATCH_IP = "198.51.100.13"


def generate_key(path: Path, bits: int = 2048) -> bytes:
    """Write a new unencrypted PKCS#8 RSA key to path (mode 0600) and return the PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return pem


def good_zone(domain: str, selector: str, key_pem: bytes, ips: list[IpTarget], return_path: str | None = None,
              ptr_overrides: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """Return (name, type, value) records of a correct setup for domain and ips.

    ptr_overrides maps an IP to the PTR name to serve instead of its HELO name (which then also
    gets a forward record, so only the HELO match breaks).
    """
    from emailengine.dnscheck import dkim

    envelope = return_path or domain
    spf = records.quoted(records.split_strings(records.spf_value(ips, qualifier="-")))
    zone = [(name, "TXT", spf) for name in dict.fromkeys([domain, envelope])]
    value = dkim.public_record_value(dkim.load_private_key(key_pem))
    zone += [(f"{selector}._domainkey.{domain}", "TXT", records.quoted(records.split_strings(value))),
             (f"_dmarc.{domain}", "TXT", f'"v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@{domain}; fo=1"'),
             (f"_smtp._tls.{domain}", "TXT", f'"v=TLSRPTv1; rua=mailto:tls-reports@{domain}"'),
             (domain, "MX", f"10 mx.{domain}."), (f"mx.{domain}", "A", "192.0.2.25")]
    if envelope != domain:
        zone.append((envelope, "MX", f"10 mx.{domain}."))
    helo_ips: dict[str, list[IpTarget]] = {}
    for ip in ips:
        address = ipaddress.ip_address(ip.address)
        rdtype = "A" if address.version == 4 else "AAAA"
        ptr_name = (ptr_overrides or {}).get(ip.address, ip.hostname)
        zone.append((address.reverse_pointer, "PTR", f"{ptr_name}."))
        for name in dict.fromkeys([ip.hostname, ptr_name]):
            zone.append((name, rdtype, ip.address))
            helo_ips.setdefault(name, []).append(ip)
    # One SPF record per host name, even when it names an IPv4 and an IPv6 address.
    zone += [(name, "TXT", records.quoted([records.spf_value(group, qualifier="-")]))
             for name, group in helo_ips.items()]
    return zone


def run_demo(demo: DemoContext) -> list[str]:
    """Validate example.net against a loopback DNS server; show the findings and readiness verdict."""
    from sqlalchemy.orm import Session

    from emailengine.dnscheck.resolver import make_resolver
    from emailengine.dnscheck.run import load_targets, validate
    from emailengine.inventory import get_domain
    from emailengine.standins.dns_server import DNSTestServer

    with Session(demo.engine) as session, session.begin():
        row = get_domain(session, DOMAIN)
        key_path = Path(row.dkim_key_path or demo.workdir / "dkim" / f"{DOMAIN}.s1.pem")
        row.dkim_key_path, row.dkim_selector = str(key_path), row.dkim_selector or "s1"
        selector, return_path = row.dkim_selector, row.return_path_domain
    pem = key_path.read_bytes() if key_path.is_file() else generate_key(key_path)
    with Session(demo.engine) as session:
        _, ips = load_targets(session, [DOMAIN])
    zone = good_zone(DOMAIN, selector, pem, ips, return_path, {MISMATCH_IP: "mail13.example.net"})
    with DNSTestServer(zone) as server:
        settings = demo.settings.model_copy(update={"dns_nameservers": [server.nameserver], "dns_timeout": 1.0})
        demo.say(f"serving {len(zone)} records for {DOMAIN} on {server.nameserver}; the PTR of {MISMATCH_IP} "
                 "deliberately names mail13.example.net instead of its HELO name")
        _, report = validate([DOMAIN], settings=settings, engine=demo.engine, resolver=make_resolver(settings))
    rows: list[dict[str, Any]] = [f.to_dict() for f in report.findings]
    demo.show(rows, ["subject", "check", "status", "message"], f"ee dns validate {DOMAIN}")
    verdict = report.readiness[0]
    demo.say(f"{DOMAIN}: bulk-sender readiness {verdict['verdict']}")
    for provider in verdict["providers"].values():
        demo.say(f"  {provider['title']}: {'ready' if provider['ready'] else 'missing ' + ', '.join(provider['missing'])}")
    errors = [f"{f.subject} {f.check}" for f in report.errors]
    return [f"DNS validation of {DOMAIN}: {len(report.findings)} checks, {len(errors)} errors "
            f"({', '.join(errors) or 'none'}); readiness: {verdict['verdict']}"]
