"""Forwarding throughput: N outbox events to a loopback scraper-pro stand-in (SQLite, then
PostgreSQL when EE_TEST_DATABASE_URL is set). Prints events/s and the claim/complete cost.

    .venv/bin/python bench/forwarding.py [N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def run(url: str, count: int, label: str) -> None:
    from emailengine.config import load_settings
    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import upgrade
    from emailengine.forwarding.run import deliver_due
    from emailengine.standins.scraper import ScraperStandIn
    from tests.fakes.forwarding import insert_events, make_key

    engine = create_engine_for(url)
    upgrade(engine, "head")
    make_key(engine)
    insert_events(engine, count)
    with ScraperStandIn() as receiver:
        settings = load_settings(scraper_url=receiver.url, forward_run_seconds=600)
        started = time.perf_counter()
        stats = deliver_due(settings, engine)
        elapsed = time.perf_counter() - started
    print(f"{label:10s} {stats[0].delivered:6d} events in {stats[0].batches} batches of {settings.forward_batch}: "
          f"{elapsed:.2f} s, {stats[0].delivered / elapsed:,.0f} events/s")
    engine.dispose()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    scratch = tempfile.mkdtemp(prefix="ee-bench-forward-")
    os.environ.update({"XDG_DATA_HOME": scratch, "XDG_RUNTIME_DIR": scratch,
                       "EE_ENV_FILE": str(Path(scratch) / "empty.env")})
    (Path(scratch) / "empty.env").write_text("")
    run(f"sqlite:///{scratch}/bench.db", count, "sqlite")
    pg = os.environ.get("EE_TEST_DATABASE_URL")
    if pg:
        import sqlalchemy as sa

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(pg)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            separator = "&" if "?" in pg else "?"
            run(f"{pg}{separator}options=-csearch_path%3D{schema}", count, "postgresql")
        finally:
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
