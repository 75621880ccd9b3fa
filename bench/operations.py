"""Operations benchmarks: `ee validate email` over 100,000 addresses (loopback DNS with 2,000
domains, 5 ms per answer) and `ee metrics update` over 500 IPs with 30 days of stats.

    .venv/bin/python bench/operations.py [--addresses N]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _environment(workdir: Path) -> None:
    for name in [n for n in os.environ if n.startswith("EE_")]:
        del os.environ[name]
    os.environ.update({"XDG_DATA_HOME": str(workdir / "data"), "XDG_RUNTIME_DIR": str(workdir / "run"),
                       "EE_ENV_FILE": str(workdir / "empty.env"), "EE_METRICS_TEXTFILE_DIR": str(workdir / "prom")})
    (workdir / "empty.env").write_text("")


def bench_validation(count: int, workdir: Path) -> None:
    from emailengine.config import get_settings
    from emailengine.db.engine import database_engine
    from emailengine.standins.dns_server import DNSTestServer
    from emailengine.validation.run import validate_stream

    domains = [f"d{n}.example" for n in range(2000)]
    records = [(d, "MX", f"10 mx.{d}.") for d in domains[:1800]] + [(d, "A", "192.0.2.1") for d in domains[1800:1900]]
    path = workdir / "addresses.txt"
    with path.open("w") as handle:
        for n in range(count):
            handle.write(f"user{n}@{domains[n % len(domains)]}\n" if n % 50 else "broken-address\n")
    with DNSTestServer(records, delay=0.005) as server:
        os.environ["EE_DNS_NAMESERVERS"] = server.nameserver
        get_settings.cache_clear()
        engine = database_engine()
        started = time.perf_counter()
        verdicts: dict[str, int] = {}
        with path.open() as handle:
            for result in validate_stream(handle, get_settings(), engine):
                verdicts[result.verdict] = verdicts.get(result.verdict, 0) + 1
        elapsed = time.perf_counter() - started
        queries = len(server.queries)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"validate email: {count:,} addresses in {elapsed:.1f} s = {count / elapsed:,.0f}/s; "
          f"{queries:,} DNS queries (2,000 domains, 5 ms each); peak RSS {peak:.0f} MiB; {verdicts}")


def bench_metrics(workdir: Path) -> None:
    from sqlalchemy.orm import Session

    from emailengine.config import get_settings
    from emailengine.db.engine import database_engine
    from emailengine.db.models import DeliveryStat, Ip, JobRun, Listing
    from emailengine.metrics_update import run_metrics_update
    from emailengine.providers import LANES

    engine = database_engine()
    now = datetime.now(UTC)
    with Session(engine) as session:
        for n in range(500):
            address = f"10.{n // 250}.{n % 250}.1"
            session.add(Ip(address=address, family=4, hostname=f"h{n}.example", vmta=f"v{n}", state="ACTIVE",
                           daily_quota=50000))
            for day in range(30):
                for lane in LANES:
                    session.add(DeliveryStat(day=(now - timedelta(days=day)).date(), source_ip=address, provider=lane,
                                             vmta=f"v{n}", delivered=1000, hard=10, soft=5, block=3, complaints=1))
            if n % 25 == 0:
                session.add(Listing(target=address, target_kind="ip", zone="zen.spamhaus.org", tier="critical"))
        for _n in range(5000):
            session.add(JobRun(job="health", host="h", pid=1, finished_at=now, outcome="success"))
        session.commit()
    started = time.perf_counter()
    ctx = run_metrics_update(get_settings(), engine)
    elapsed = time.perf_counter() - started
    size = (workdir / "prom" / "ee_metrics_update.prom").stat().st_size
    print(f"metrics update: 500 IPs x 30 days x {len(LANES)} lanes ({500 * 30 * len(LANES):,} stat rows): "
          f"{elapsed:.2f} s, {ctx.summary['samples']:,} samples, {size / 1024:.0f} KiB textfile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--addresses", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        _environment(workdir)
        bench_validation(args.addresses, workdir)  # first, so peak RSS is the validation's own
        bench_metrics(workdir)


if __name__ == "__main__":
    main()
