"""`ee demo` part: the demo's WARMING IPs go through simulated days with generated
delivery_stats (one clean, one with a complaint spike), then a short simulation summary."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emailengine.demo import DemoContext

DAYS = 6
SPIKE_DAY = 3  # 0-based day on which the second IP gets complaints


def _write_stats(demo: DemoContext, day, clean: str, spiky: str | None, spike: bool) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from emailengine.db.models import DeliveryStat, Ip, IpLane

    with Session(demo.engine) as session, session.begin():
        for address in [a for a in (clean, spiky) if a]:
            ip = session.scalar(select(Ip).where(Ip.address == address))
            for lane in session.scalars(select(IpLane).where(IpLane.ip_id == ip.id)):
                sent = lane.daily_quota
                if not sent:
                    continue
                complaints = max(2, sent // 50) if (spike and address == spiky) else 0
                session.merge(DeliveryStat(day=day, source_ip=address, provider=lane.lane, vmta="demo-warmup",
                                           delivered=sent, deferred=sent // 50, rep_deferred=0, hard=0, soft=0,
                                           block=0, complaints=complaints))


def run_demo(demo: DemoContext) -> list[str]:
    """Tick the demo's WARMING IPs through a few days and show the decisions; simulate 60 days."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from emailengine.db.models import Ip, utcnow
    from emailengine.warmup import run
    from emailengine.warmup import service as warmup_service

    today = utcnow().date()
    with Session(demo.engine) as session:
        warming = list(session.scalars(select(Ip.address).where(Ip.state == "WARMING").order_by(Ip.address)))
    if not warming:
        demo.say("no WARMING IP in the demo inventory; skipping the tick walk-through")
        return ["warmup: no WARMING IP to tick"]
    clean, spiky = warming[0], (warming[1] if len(warming) > 1 else None)
    run.tick(demo.settings, demo.engine, demo.actor, today)  # gives `ee ip add`-ed IPs their lanes
    demo.say(f"{clean} sends its full allowance every day; {spiky or '-'} gets a complaint spike on day "
             f"{SPIKE_DAY + 1}; other WARMING IPs send nothing (idle)")
    quota_rows, notable = [], []
    for offset in range(DAYS):
        day = today + timedelta(days=offset)
        _write_stats(demo, day, clean, spiky, spike=offset == SPIKE_DAY)
        report = run.tick(demo.settings, demo.engine, demo.actor, day + timedelta(days=1))
        by_ip: dict[str, list[str]] = {}
        for row in report.decisions:
            by_ip.setdefault(row["ip"], []).append(row["decision"])
            if row["decision"] not in ("advance",) and row["ip"] in (clean, spiky) and row["lane"] == "gmail":
                notable.append({"day": row["day"], "ip": row["ip"], "lane": row["lane"], "decision": row["decision"],
                                "step": f"{row['plan_day_before']} → {row['plan_day_after']}", "rule": row["rule"]})
        status = {row["address"]: row for row in run.status(demo.engine)}
        quota_rows.append({"day": day, **{address: f"day {status[address]['warmup_day']}, "
                                                   f"{status[address]['daily_quota']}/d"
                                          for address in (clean, spiky) if address and address in status},
                           "decisions": "; ".join(f"{ip}: {_counts(values)}" for ip, values in by_ip.items())})
    columns = ["day", clean, *([spiky] if spiky else []), "decisions"]
    demo.show(quota_rows, columns, "warmup tick, day by day (quota after the tick)")
    if notable:
        demo.show(notable, ["day", "ip", "lane", "decision", "step", "rule"], "gmail lane: holds, pauses, step-backs")
    simulation = warmup_service.simulate(60, None, None, None)
    summaries = [item["summary"] for item in simulation["scenarios"]]
    demo.show([{"scenario": s["scenario"], "active_from_day": s["active_from_day"] or "-",
                "total_sent": s["total_sent"], "decisions": s["decisions"]} for s in summaries],
              ["scenario", "active_from_day", "total_sent", "decisions"], "ee warmup simulate --days 60 (summary)")
    with Session(demo.engine) as session:
        quotas = dict(session.execute(select(Ip.address, Ip.daily_quota).where(Ip.address.in_([clean, spiky or clean]))).all())
    return [f"warmup: {DAYS} ticks; {clean} clean → quota {quotas.get(clean)}/d"
            + (f", {spiky} complaint spike → quota {quotas.get(spiky)}/d" if spiky else ""),
            "warmup simulate: " + ", ".join(f"{s['scenario']} ACTIVE day {s['active_from_day'] or '>60'}"
                                            for s in summaries)]


def _counts(values: list[str]) -> str:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return " ".join(f"{k} {v}" for k, v in sorted(counts.items()))
