"""`ee demo` part: a generated accounting stream for the demo IPs through the real pipeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emailengine.demo import DemoContext

DEMO_IPS = [(f"198.51.100.{n}", f"vmta-{n}") for n in (10, 11, 12, 13)]


def run_demo(demo: DemoContext) -> list[str]:
    """Feed 2,000 generated records (then the same file again) through the pipeline; show stats by class."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from emailengine.bounces.importer import import_files
    from emailengine.bounces.queries import stats
    from emailengine.bounces.sample import write_file
    from emailengine.db.models import OutboxEvent, Suppression

    path = demo.workdir / "acct-demo.csv"
    start = int(datetime.now(UTC).timestamp()) - 3600
    write_file(str(path), 2000, DEMO_IPS, seed=42, start=start, users=5000)
    demo.say(f"bounce pipeline: ingesting {path.name} (2,000 PowerMTA accounting records, 4 demo IPs)")
    first = import_files([path], demo.settings, demo.engine)
    again = import_files([path], demo.settings, demo.engine)
    with Session(demo.engine) as session:
        totals = stats(session, None, "ip", datetime.now(UTC))
        suppressed = session.scalar(select(func.count()).select_from(Suppression)) or 0
        events = session.scalar(select(func.count()).select_from(OutboxEvent)) or 0
    demo.show([{"class": k, "records": v} for k, v in totals["by_class"].items()], ["class", "records"],
              "bounce records by class")
    demo.show(totals["by_ip"], ["ip", "total", "delivered", "hard", "soft", "block", "complaint"], "by source IP")
    demo.data["bounces"] = {"records": first.records, "suppressed": suppressed, "outbox": events}
    return [
        f"bounces: {first.new} records ingested ({first.rejects} rejects); re-import added {again.new}",
        f"bounces: {suppressed} addresses suppressed, {events} forwarding events queued",
    ]
