"""Benchmark: N accounting records through the real `ee bounce-pipe` into PostgreSQL, against
`psql \\copy` of the same file into a plain table with one text column per field, in one run.

    .venv/bin/python bench/bounce_pipe.py [--records 1000000] [--file acct.csv] [--rounds 4] [--mix ...]

Each round times both commands on a fresh database, each after a checkpoint, a sync and a second
of rest; which goes first alternates, because on the build machine the command that follows
another's writes of hundreds of MB pays for them (measured: up to 0.5 s). Prints the wall times,
the ratio pipe/copy per round and its median (target ≤ 1.0), the pipe's peak RSS (target ≤ 200 MB)
and checks that every record was counted. The generator (emailengine/bounces/sample.py) writes a
realistic mix: 90% d, 5% b, 3% t, 1% rb, 1% f over 20 source IPs, with quoted fields.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emailengine.bounces.sample import HEADER, write_file  # noqa: E402

EE = str(Path(sys.executable).parent / "ee")
DATABASE = "ee_bench_bounces"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, help="reuse (or create) this accounting file")
    parser.add_argument("--database-url", default=os.environ.get(
        "EE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--batch-size", type=int, default=0, help="EE_BOUNCE_BATCH_SIZE (default: the setting)")
    parser.add_argument("--rounds", type=int, default=4, help="measurements of both commands (median ratio)")
    parser.add_argument("--mix", default="0.90,0.05,0.03,0.01,0.01",
                        help="shares of d,b,t,rb,f in a generated file (e.g. 0,0.7,0.1,0.1,0.1: no deliveries, "
                             "the worst case for memory)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ee-bench-bounces-"))
    path = args.file or work / "acct.csv"
    if not path.exists():
        started = time.monotonic()
        # records of the last days: older ones would fall out of the fingerprint retention (90 days)
        start = int(time.time()) - args.records // 12 - 86400
        mix = tuple(float(share) for share in args.mix.split(","))
        write_file(str(path), args.records, [(f"198.51.100.{i}", f"vmta-{i}") for i in range(10, 30)], start=start,
                   mix=mix)
        print(f"generated {args.records:,} records ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.monotonic() - started:.1f}s: {path}")

    admin_url = make_url(args.database_url)
    bench_url = admin_url.set(database=DATABASE, query={})
    env = {k: v for k, v in os.environ.items() if not k.startswith("EE_")}
    env.update({"EE_SPOOL_DIR": str(work / "spool"), "EE_ENV_FILE": str(work / "empty.env"),
                "EE_DATABASE_URL": bench_url.render_as_string(hide_password=False)})
    if args.batch_size:
        env["EE_BOUNCE_BATCH_SIZE"] = str(args.batch_size)
    (work / "empty.env").write_text("")
    size = path.stat().st_size / 1e6
    print(f"file: {path} ({size:.0f} MB); {args.rounds} rounds, each on a fresh database, the first command "
          "alternating (the one after another's writes pays for them)")

    ratios, peaks, ok = [], [], True
    for number in range(1, args.rounds + 1):
        engine = fresh_database(admin_url, bench_url)
        if number % 2:
            pipe_seconds, pipe_rss = run_pipe(path, env, engine)
            copy_seconds = run_copy(path, bench_url, engine)
        else:
            copy_seconds = run_copy(path, bench_url, engine)
            pipe_seconds, pipe_rss = run_pipe(path, env, engine)
        counted, fingerprints, copied, by_type = outcome(engine)
        engine.dispose()
        ratios.append(pipe_seconds / copy_seconds)
        peaks.append(pipe_rss / 1024)
        ok = ok and counted == copied == fingerprints
        first = "pipe" if number % 2 else "copy"
        print(f"round {number} ({first} first): ee bounce-pipe {pipe_seconds:5.2f} s, peak RSS {pipe_rss / 1024:.0f} MB"
              f" | psql \\copy {copy_seconds:5.2f} s | ratio {pipe_seconds / copy_seconds:.2f}"
              f" | {counted:,} records counted, {fingerprints:,} fingerprints, {copied:,} rows copied")
    print(f"records by type: { {k: int(v) for k, v in by_type.items()} }")
    median = statistics.median(ratios)
    print(f"ratio pipe/copy: median {median:.2f} (min {min(ratios):.2f}, max {max(ratios):.2f}; target <= 1.0), "
          f"peak RSS max {max(peaks):.0f} MB (target <= 200 MB)")
    print("RESULT:", "PASS" if ok and median <= 1.0 and max(peaks) <= 200 else "FAIL")


def fresh_database(admin_url, bench_url):  # noqa: ANN001, ANN201
    """Create the benchmark database anew, migrated, with the plain copy target; return its engine."""
    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import upgrade

    admin = sa.create_engine(admin_url.set(query={}), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        connection.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    engine = create_engine_for(bench_url.render_as_string(hide_password=False))
    upgrade(engine, "head")
    columns = ", ".join(f'"{name}" text' for name in HEADER)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE TABLE copy_target ({columns})"))
    return engine


def settle(engine) -> None:  # noqa: ANN001
    """Flush what earlier commands wrote (PostgreSQL's checkpoint, the page cache) before timing the next."""
    with engine.begin() as connection:
        connection.execute(sa.text("CHECKPOINT"))
    os.sync()
    time.sleep(1.0)


def outcome(engine) -> tuple[int, int, int, dict]:  # noqa: ANN001
    """Return (records counted, fingerprints stored, rows copied, counts by record type)."""
    with engine.connect() as connection:
        scalar = lambda sql: int(connection.execute(sa.text(sql)).scalar() or 0)  # noqa: E731
        by_type = dict(connection.execute(sa.text(
            "SELECT record_type, sum(count) FROM bounce_counts GROUP BY 1 ORDER BY 1")).all())
        return (scalar("SELECT sum(count) FROM bounce_counts"),
                scalar("SELECT coalesce(sum(length(fps)), 0) / 8 FROM bounce_fingerprint_blocks"),
                scalar("SELECT count(*) FROM copy_target"), by_type)


def run_pipe(path: Path, env: dict[str, str], engine) -> tuple[float, int]:  # noqa: ANN001
    """Return (wall seconds, peak RSS in KiB) of `ee bounce-pipe < path`."""
    settle(engine)
    with path.open("rb") as stdin:
        started = time.monotonic()
        process = subprocess.Popen([EE, "bounce-pipe"], stdin=stdin, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"ee bounce-pipe failed with exit {process.returncode}")
    return elapsed, usage.ru_maxrss


def run_copy(path: Path, url, engine) -> float:  # noqa: ANN001
    """Return the wall seconds of psql \\copy of the file into copy_target."""
    command = ["psql", "-q", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
               "-d", url.database, "-c", f"\\copy copy_target FROM '{path}' WITH (FORMAT csv, HEADER true)"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    settle(engine)
    started = time.monotonic()
    subprocess.run(command, check=True, env=env)
    return time.monotonic() - started


if __name__ == "__main__":
    main()
