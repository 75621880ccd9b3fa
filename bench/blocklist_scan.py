"""Benchmark: 1,024 IPs × 12 zones against the loopback DNS server answering after 30 ms.

    .venv/bin/python bench/blocklist_scan.py [--ips 1024] [--zones 12] [--delay 0.03] [--sample 100]

The server (emailengine.standins.dns_server.DNSTestServer) runs in its own process, as a real
resolver would, so the scanner and the server do not share one interpreter lock. It serves the
RFC 5782 test entries of every zone and lists ~2% of the IPs, so the scan also pays for TXT
look-ups. The sequential figure is a plain loop over the same queries (one dnspython
`Resolver.resolve` at a time), timed on a sample and extrapolated to the full query count.
Prints wall time, queries/s, the speed-up, and the highest per-zone rate seen in any 1-second
window against EE_BLOCKLIST_ZONE_QPS (the rate limit must never be exceeded).
"""

from __future__ import annotations

import argparse
import ipaddress
import multiprocessing
import os
import time


def _serve(records: list[tuple[str, str, str]], delay: float, connection: multiprocessing.connection.Connection) -> None:
    from emailengine.standins.dns_server import DNSTestServer

    server = DNSTestServer(records, delay=delay).start()
    connection.send(server.nameserver)
    connection.recv()  # wait for the parent to finish
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ips", type=int, default=1024)
    parser.add_argument("--zones", type=int, default=12)
    parser.add_argument("--delay", type=float, default=0.03)
    parser.add_argument("--sample", type=int, default=100, help="sequential queries to time")
    options = parser.parse_args()

    from emailengine.blocklists import scan as scanning
    from emailengine.blocklists.verdict import query_name
    from emailengine.blocklists.zones import CATALOGUE
    from emailengine.config import Settings

    zones = [zone for zone in CATALOGUE if zone.kind == "ip"][: options.zones]
    if len(zones) < options.zones:
        raise SystemExit(f"only {len(zones)} IP zones in the catalogue")
    ips = [str(ipaddress.ip_address("10.20.0.0") + index) for index in range(options.ips)]
    records = []
    for zone in zones:
        records.append((query_name("127.0.0.2", zone), "A", "127.0.0.2"))
        records.append((query_name("127.0.0.2", zone), "TXT", '"test entry"'))
        for address in ips[::50]:  # ~2% listed
            records.append((query_name(address, zone), "A", "127.0.0.2"))
            records.append((query_name(address, zone), "TXT", f'"listed {address}"'))

    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(records, options.delay, child), daemon=True)
    process.start()
    nameserver = parent.recv()
    try:
        settings = Settings(dns_nameservers=[nameserver], dns_timeout=2.0)
        targets = [scanning.Target(address, "ip") for address in ips]
        load = os.getloadavg()[0]
        cpu_before, server_before = time.process_time(), _cpu_seconds(process.pid)
        report = scanning.scan(targets, zones, settings)
        scanner_cpu = time.process_time() - cpu_before
        server_cpu = _cpu_seconds(process.pid) - server_before
        statuses: dict[str, int] = {}
        for result in report.results:
            statuses[result.verdict.status] = statuses.get(result.verdict.status, 0) + 1
        sequential = _sequential_rate(settings, [query_name(a, z) for a in ips for z in zones], options.sample)
    finally:
        parent.send("stop")
        process.join(5)

    pairs = len(report.results)
    sequential_seconds = report.queries / sequential
    print(f"pairs (IPs × zones):       {pairs} ({options.ips} × {len(zones)}), verdicts {statuses}")
    print(f"queries sent:              {report.queries} (incl. {2 * len(zones)} self-tests, TXT for listings, "
          f"{report.retries} retries)")
    print(f"server delay per answer:   {options.delay * 1000:.0f} ms")
    print(f"concurrency / zone qps:    {settings.blocklist_concurrency} / {settings.blocklist_zone_qps:g}")
    print(f"async scan wall time:      {report.seconds:.2f} s  ({report.queries / report.seconds:,.0f} queries/s; "
          f"CPU: scanner {scanner_cpu:.2f} s, DNS server {server_cpu:.2f} s; 1-min load average before {load:.1f} on {os.cpu_count()} CPUs)")
    print(f"sequential (extrapolated): {sequential_seconds:.1f} s  ({sequential:,.1f} queries/s, "
          f"sample {options.sample})")
    print(f"speed-up:                  {sequential_seconds / report.seconds:.1f}×")
    print(f"peak per-zone rate:        {report.max_zone_qps:.0f} queries in a 1 s window "
          f"(limit {settings.blocklist_zone_qps:g}/s): {'OK' if report.max_zone_qps <= settings.blocklist_zone_qps else 'EXCEEDED'}")
    print(f"targets: ≥20× → {'met' if sequential_seconds / report.seconds >= 20 else 'MISSED'}, "
          f"< 5 s → {'met' if report.seconds < 5 else 'MISSED'}")


def _cpu_seconds(pid: int | None) -> float:
    """Return the user+system CPU seconds of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: PTH123, SIM115
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sequential_rate(settings: object, names: list[str], sample: int) -> float:
    """Return queries/s of a one-at-a-time loop of dnspython resolves over the first names."""
    import dns.resolver

    from emailengine.integrations.dns import make_resolver

    resolver = make_resolver(settings)  # type: ignore[arg-type]
    started = time.perf_counter()
    for name in names[:sample]:
        try:
            resolver.resolve(name, "A")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            pass
    return sample / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
