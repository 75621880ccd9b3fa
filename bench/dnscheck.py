"""Benchmark DNS validation: check_host() rate, and `run_checks` over a loopback DNS server with
per-answer latency (what a real resolver pays), showing the effect of concurrency.

    .venv/bin/python bench/dnscheck.py
"""

from __future__ import annotations

import time

from emailengine.config import Settings
from emailengine.dnscheck import spf
from emailengine.dnscheck.demo import generate_key, good_zone
from emailengine.dnscheck.report import DomainTarget, IpTarget
from emailengine.dnscheck.resolver import make_resolver
from emailengine.dnscheck.run import run_checks
from emailengine.standins.dns_server import DNSTestServer


def main() -> None:
    import tempfile
    from pathlib import Path

    ips = [IpTarget(f"198.51.100.{i}", f"mta{i}.example.net") for i in range(1, 41)]
    pem = generate_key(Path(tempfile.mkdtemp()) / "k.pem")
    zone = []
    domains = []
    for n in range(5):
        name = f"brand{n}.example"
        zone += good_zone(name, "s1", pem, ips, f"bounce.{name}")
        domains.append(DomainTarget(name, "s1", pem, None, f"bounce.{name}"))
    zone = list(dict.fromkeys(zone))
    with DNSTestServer(zone, delay=0.01) as server:
        settings = Settings(dns_nameservers=[server.nameserver], dns_timeout=2)
        resolver = make_resolver(settings)
        started = time.perf_counter()
        for ip in ips:
            spf.check_host(resolver, ip.address, "bounce.brand0.example")
        cold = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(50):
            for ip in ips:
                spf.check_host(resolver, ip.address, "bounce.brand0.example")
        warm = time.perf_counter() - started
        print(f"check_host: {len(ips) / cold:.0f}/s cold (10 ms DNS latency), {50 * len(ips) / warm:.0f}/s cached")
        for workers in (1, 16):
            resolver = make_resolver(settings)
            started = time.perf_counter()
            report = run_checks(resolver, domains, ips, now=0, workers=workers)
            elapsed = time.perf_counter() - started
            print(f"run_checks {len(domains)} domains x {len(ips)} IPs, {workers:>2} workers: {elapsed:.2f} s, "
                  f"{len(report.findings)} findings, {resolver.queries} DNS queries, "
                  f"{len(report.errors)} errors")


if __name__ == "__main__":
    main()
