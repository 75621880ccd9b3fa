"""Benchmark: `ee warmup tick` over 10,000 WARMING IPs (60,000 lanes) on PostgreSQL.

Run: .venv/bin/python bench/warmup_tick.py [--ips N] [--url URL]
URL defaults to $EE_TEST_DATABASE_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test.
A throw-away schema is created and dropped. Target: the judging tick under 5 s.
Every figure is wall-clock seconds, CPU seconds spent in this process (i.e. in `ee`; the
PostgreSQL server's work shows only in the wall time) and the 1-minute load average, so a run on
a busy machine can still be judged.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from emailengine.config import load_settings
from emailengine.db.engine import create_engine_for
from emailengine.db.migrate import upgrade
from emailengine.db.models import DeliveryStat, Ip, IpEvent
from emailengine.providers import LANES
from emailengine.warmup import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ips", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=7, help="days of delivery_stats history per IP")
    parser.add_argument("--url", default=os.environ.get("EE_TEST_DATABASE_URL",
                                                        "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(args.url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in args.url else "?"
    engine = create_engine_for(f"{args.url}{separator}options=-csearch_path%3D{schema}")
    try:
        bench(engine, args.ips, args.days)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Timer:
    """Wall and CPU seconds of a block, and the load average when it ended."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        self.load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU in ee, load average {self.load:.1f} on {os.cpu_count()} CPUs"


def bench(engine: sa.Engine, count: int, history_days: int) -> None:
    settings = load_settings()
    upgrade(engine)
    today = datetime.now(UTC).date()
    start_day = today - timedelta(days=history_days)
    since = datetime.combine(start_day, datetime.min.time(), tzinfo=UTC)
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        rows = [{"address": f"10.{i // 62500}.{(i // 250) % 250}.{i % 250 + 1}", "family": 4,
                 "hostname": f"mta{i}.example.net", "vmta": f"vmta-{i}", "pool": f"pool{i % 4}", "host": "",
                 "state": "WARMING", "state_since": since, "warmup_day": 1, "daily_quota": 0,
                 "hourly_quota": 0, "retire_requested": False, "created_at": since} for i in range(count)]
        session.execute(sa.insert(Ip), rows)
        ids = dict(session.execute(sa.select(Ip.address, Ip.id)).all())
        session.execute(sa.insert(IpEvent), [{"ip_id": ip_id, "from_state": None, "to_state": "WARMING",
                                              "reason": "bench", "actor": "bench", "at": since}
                                             for ip_id in ids.values()])
    print(f"inserted {count:,} WARMING IPs in {time.perf_counter() - started:.2f} s")

    with Timer() as timer:
        report = run.tick(settings, engine, "system", start_day)  # lanes only (nothing to judge yet)
    print(f"initialise lanes ({len(report.initialised):,} IPs, {len(report.initialised) * len(LANES):,} lanes): "
          f"{timer}")

    rng = random.Random(5)
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        quotas = {(ip_id, lane): quota for ip_id, lane, quota in session.execute(
            sa.text("SELECT ip_id, lane, daily_quota FROM ip_lanes"))}
        address_of = {ip_id: address for address, ip_id in ids.items()}
        for offset in range(history_days):
            day = start_day + timedelta(days=offset)
            stats = []
            for (ip_id, lane), quota in quotas.items():
                sent = int(quota * rng.uniform(0.85, 1.05))
                stats.append({"day": day, "source_ip": address_of[ip_id], "provider": lane, "vmta": "",
                              "delivered": sent, "deferred": sent // 30, "rep_deferred": 0,
                              "hard": rng.choice((0, 0, 0, 1)), "soft": 0, "block": 0,
                              "complaints": rng.choice((0,) * 20 + (1,))})
            run.bulk_insert(session, DeliveryStat, stats)  # COPY: the set-up is not what is measured
    print(f"inserted {len(quotas) * history_days:,} delivery_stats rows in {time.perf_counter() - started:.2f} s")

    with engine.connect() as connection:
        connection.execute(sa.text("ANALYZE"))
        connection.commit()

    one_day = today - timedelta(days=history_days - 1)
    with Timer() as timer:
        report = run.tick(settings, engine, "system", one_day)
    decisions = sum(report.counts.values())
    print(f"tick judging 1 day: {timer}; {count:,} IPs, {decisions:,} lane decisions ({report.counts}) -> "
          f"{'OK' if timer.wall < 5 else 'OVER'} the 5 s target")

    with Timer() as timer:
        report = run.tick(settings, engine, "system", one_day)
    print(f"second tick, same date (no-op): {timer}; {sum(report.counts.values())} decisions")

    with Timer() as timer:
        report = run.tick(settings, engine, "system", today)
    print(f"catch-up tick judging {len(report.days)} missed days: {timer}; "
          f"{sum(report.counts.values()):,} decisions")


if __name__ == "__main__":
    main()
