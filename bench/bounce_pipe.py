"""Benchmark: N accounting records through the real `ee bounce-pipe` into PostgreSQL, against
`psql \\copy` of the same file into a plain table with one text column per field, in one run.

    .venv/bin/python bench/bounce_pipe.py [--records 1000000] [--file acct.csv] [--database-url URL] [--mix ...]

Prints wall times, the ratio pipe/copy (target ≤ 1.0), the pipe's peak RSS (target ≤ 200 MB)
and checks that every record was counted. The generator (emailengine/bounces/sample.py) writes a
realistic mix: 90% d, 5% b, 3% t, 1% rb, 1% f over 20 source IPs, with quoted fields.
"""

from __future__ import annotations

import argparse
import os
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
    admin = sa.create_engine(admin_url.set(query={}), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        connection.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    url = bench_url.render_as_string(hide_password=False)

    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import upgrade

    engine = create_engine_for(url)
    upgrade(engine, "head")
    columns = ", ".join(f'"{name}" text' for name in HEADER)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE TABLE copy_target ({columns})"))
        connection.execute(sa.text("CHECKPOINT"))

    env = {k: v for k, v in os.environ.items() if not k.startswith("EE_")}
    env.update({"EE_DATABASE_URL": url, "EE_SPOOL_DIR": str(work / "spool"), "EE_ENV_FILE": str(work / "empty.env")})
    if args.batch_size:
        env["EE_BOUNCE_BATCH_SIZE"] = str(args.batch_size)
    (work / "empty.env").write_text("")

    pipe_seconds, pipe_rss = run_pipe(path, env)
    with engine.begin() as connection:
        connection.execute(sa.text("CHECKPOINT"))
    copy_seconds = run_copy(path, bench_url)

    with engine.connect() as connection:
        counted = connection.execute(sa.text("SELECT sum(count) FROM bounce_counts")).scalar()
        fingerprints = connection.execute(sa.text("SELECT coalesce(sum(length(fps)), 0) / 8 FROM bounce_fingerprint_blocks")).scalar()
        copied = connection.execute(sa.text("SELECT count(*) FROM copy_target")).scalar()
        by_type = dict(connection.execute(sa.text(
            "SELECT record_type, sum(count) FROM bounce_counts GROUP BY 1 ORDER BY 1")).all())
    engine.dispose()
    size = path.stat().st_size / 1e6
    print(f"file: {path} ({size:.0f} MB), records by type: { {k: int(v) for k, v in by_type.items()} }")
    print(f"ee bounce-pipe : {pipe_seconds:7.2f} s  ({counted:,} records counted, {fingerprints:,} fingerprints, "
          f"peak RSS {pipe_rss / 1024:.0f} MB)")
    print(f"psql \\copy     : {copy_seconds:7.2f} s  ({copied:,} rows)")
    print(f"ratio pipe/copy: {pipe_seconds / copy_seconds:.2f}  (target <= 1.0; RSS target <= 200 MB)")
    ok = counted == copied and pipe_seconds <= copy_seconds and pipe_rss / 1024 <= 200
    print("RESULT:", "PASS" if ok else "FAIL")


def run_pipe(path: Path, env: dict[str, str]) -> tuple[float, int]:
    """Return (wall seconds, peak RSS in KiB) of `ee bounce-pipe < path`."""
    with path.open("rb") as stdin:
        started = time.monotonic()
        process = subprocess.Popen([EE, "bounce-pipe"], stdin=stdin, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"ee bounce-pipe failed with exit {process.returncode}")
    return elapsed, usage.ru_maxrss


def run_copy(path: Path, url) -> float:  # noqa: ANN001
    """Return the wall seconds of psql \\copy of the file into copy_target."""
    command = ["psql", "-q", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
               "-d", url.database, "-c", f"\\copy copy_target FROM '{path}' WITH (FORMAT csv, HEADER true)"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    started = time.monotonic()
    subprocess.run(command, check=True, env=env)
    return time.monotonic() - started


if __name__ == "__main__":
    main()
