"""The `ee blacklist` operations: I/O around the pure catalogue, verdicts and effects.

check   ad hoc look-ups; writes nothing
scan    the 4-hourly job "blacklist-scan": every inventory IP and every domain's name, return-path
        and tracking domain; stores listings, moves IPs (STANDBY / QUARANTINE), tells the
        senders once, alerts
status  open listings and the last scan
zones   the catalogue with what is enabled
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from emailengine.blocklists import zones as catalogue
from emailengine.blocklists.effects import OpenListing, Plan, plan_effects
from emailengine.blocklists.scan import Progress, ScanReport, Target, scan
from emailengine.errors import UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from emailengine.config import Settings
    from emailengine.jobs import JobContext

JOB_NAME = "blacklist-scan"


# ---- targets --------------------------------------------------------------------------------


def parse_target(text: str) -> Target:
    """Return a Target for an IP address or a domain name; raise UsageError for anything else."""
    from emailengine.inventory import normalize_domain, normalize_ip

    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return Target(normalize_domain(text), "domain")
    return Target(normalize_ip(text), "ip")


def inventory_targets(session: Session) -> list[Target]:
    """Return every inventory IP and every domain's name, return-path and tracking domain."""
    from sqlalchemy import select

    from emailengine.db.models import Domain, Ip

    targets = [Target(address, "ip") for address in session.scalars(select(Ip.address).order_by(Ip.address))]
    seen: set[str] = set()
    for domain in session.scalars(select(Domain).order_by(Domain.name)):
        for name, label in ((domain.name, "sending domain"), (domain.return_path_domain, "return-path domain"),
                            (domain.tracking_domain, "tracking domain")):
            if name and name.lower() not in seen:
                seen.add(name.lower())
                targets.append(Target(name.lower(), "domain", f"{label} of {domain.name}"))
    return targets


# ---- check ----------------------------------------------------------------------------------


def check(texts: list[str], settings: Settings, progress: Progress | None = None) -> dict[str, Any]:
    """Look up the given IPs/domains on every enabled zone; write nothing.

    Return {"results": one dict per applicable (target, zone), "zones": health by zone}.
    """
    if not texts:
        raise UsageError("give at least one IP address or domain")
    targets = list(dict.fromkeys(parse_target(text) for text in texts))
    report = scan(targets, _zones(settings), settings, progress)
    return {"results": [result.to_dict() for result in report.results], "zones": _health_dict(report)}


def _zones(settings: Settings) -> list[catalogue.Zone]:
    """Return the enabled zones; raise UsageError when none is (a scan would close every listing)."""
    zones = catalogue.active_zones(settings)
    if not zones:
        raise UsageError("no blocklist zone is enabled", "check EE_BLOCKLIST_DISABLED / `ee blacklist zones`")
    return zones


def _health_dict(report: ScanReport) -> dict[str, Any]:
    return {name: {"healthy": health.healthy, "problem": health.problem, **health.details}
            for name, health in report.health.items()}


# ---- scan job -------------------------------------------------------------------------------


def run_scan(settings: Settings | None = None, engine: Engine | None = None,
             progress: Progress | None = None) -> tuple[dict[str, Any], JobContext]:
    """Run the job "blacklist-scan"; return (summary, job context for the exit code)."""
    from emailengine.jobs import run_job

    with run_job(JOB_NAME, settings=settings, engine=engine) as ctx:
        summary = scan_inventory(ctx, progress)
    return summary, ctx


def scan_inventory(ctx: JobContext, progress: Progress | None = None) -> dict[str, Any]:
    """Scan the inventory, store listings, apply the effects; return the run's summary."""
    from emailengine.db.engine import session_scope

    settings = ctx.settings
    zones = _zones(settings)
    with session_scope(ctx.engine) as session:
        targets = inventory_targets(session)
    report = scan(targets, zones, settings, progress)
    with session_scope(ctx.engine) as session:
        plan = _plan(session, report, {target.name for target in targets}, settings)
        moved = _apply(session, plan, ctx)
    _after_commit(ctx, plan, moved)
    summary = _summary(report, plan, moved, len(targets))
    ctx.summary.update({key: value for key, value in summary.items() if key != "results"})
    _record_metrics(ctx, report, plan)
    return summary


def _plan(session: Session, report: ScanReport, scanned: set[str], settings: Settings) -> Plan:
    """Load open listings and IP states (fresh, inside the writing transaction) and plan."""
    from sqlalchemy import select

    from emailengine.db.models import Ip, Listing, utcnow
    from emailengine.lifecycle import State

    open_rows = session.scalars(select(Listing).where(Listing.cleared_at.is_(None))).all()
    open_listings = [OpenListing(row.id, row.target, row.target_kind, row.zone, row.tier) for row in open_rows]
    states = {address: State(state) for address, state in session.execute(select(Ip.address, Ip.state))}
    return plan_effects(report.results, report.health, open_listings, states, scanned, utcnow(),
                        settings.quarantine_hours)


def _apply(session: Session, plan: Plan, ctx: JobContext) -> list[dict[str, str]]:
    """Write the plan's listing rows and IP transitions; return the moves made."""
    from sqlalchemy import select

    from emailengine import inventory
    from emailengine.db.models import Ip, Listing, utcnow

    now = utcnow()
    for result in plan.open:
        session.add(Listing(target=result.target.name, target_kind=result.target.kind, zone=result.zone.zone,
                            tier=result.verdict.tier or result.zone.tier, codes=list(result.verdict.codes),
                            reason=result.verdict.reason[:2000], first_seen=now, last_seen=now))
    for listing_id, result in plan.refresh:
        row = session.get(Listing, listing_id)
        if row is not None:
            row.last_seen, row.codes = now, list(result.verdict.codes)
            row.tier, row.reason = result.verdict.tier or result.zone.tier, result.verdict.reason[:2000]
    for listing_id, why in plan.clear:
        row = session.get(Listing, listing_id)
        if row is not None:
            row.cleared_at = now
            if why != "clean":
                row.reason = f"{row.reason} [closed: {why}]"[:2000]
    moved = []
    for move in plan.moves:
        ip = session.scalar(select(Ip).where(Ip.address == move.address))
        if ip is None:
            continue
        before = ip.state
        inventory.transition(session, ip, move.target, move.reason, ctx.actor, job_run_id=ctx.run_id, **move.changes)
        moved.append({"ip": move.address, "from": before, "to": move.target.value, "reason": move.reason})
    session.flush()
    return moved


def _after_commit(ctx: JobContext, plan: Plan, moved: list[dict[str, str]]) -> None:
    """Tell the senders once when IPs moved, then send the alerts; note problems."""
    from emailengine.alerts import send_alert
    from emailengine.enforce import push_state_to_senders

    if moved:
        reason = "blocklist scan: " + ", ".join(f"{move['ip']} → {move['to']}" for move in moved)
        result = push_state_to_senders(ctx.settings, ctx.engine, ctx.actor, reason, ctx.run_id)
        ctx.summary["senders"] = {"pmta": result.pmta, "mailwizz": result.mailwizz}
        if not result.ok:
            ctx.problem(f"senders not updated after the state change: {'; '.join(result.messages)}")
    for alert in plan.alerts:
        send_alert(alert.key, alert.title, alert.text, severity=alert.severity, ip=alert.ip, domain=alert.domain,
                   action=alert.action)
    for zone, count in sorted(plan.errors_by_zone.items()):
        ctx.problem(f"{zone}: {count} lookup(s) ended in error (nothing changed for them)")


def _summary(report: ScanReport, plan: Plan, moved: list[dict[str, str]], target_count: int) -> dict[str, Any]:
    """Return the run's summary (also printed by `ee blacklist scan`)."""
    listed = [result.to_dict() for result in report.results if result.verdict.status == "listed"]
    return {
        "targets": target_count, "zones": len(report.health), "pairs": len(report.results),
        "queries": report.queries, "retries": report.retries, "seconds": round(report.seconds, 2),
        "listed": len(listed), "new_listings": len(plan.open), "cleared": len(plan.clear),
        "errors": sum(plan.errors_by_zone.values()), "errors_by_zone": plan.errors_by_zone,
        "broken_zones": {name: health.problem for name, health in report.health.items() if not health.healthy},
        "moves": moved, "results": listed,
    }


def _record_metrics(ctx: JobContext, report: ScanReport, plan: Plan) -> None:
    """Add the scan's gauges to the job's registry (published with the job heartbeat)."""
    from prometheus_client import Gauge

    listed = Gauge("ee_blocklist_listed", "Targets listed in the last scan, by tier", ["tier"], registry=ctx.registry)
    counts: dict[str, int] = {"critical": 0, "major": 0, "minor": 0}
    for result in report.results:
        if result.verdict.status == "listed" and result.verdict.tier:
            counts[result.verdict.tier] += 1
    for tier, count in counts.items():
        listed.labels(tier).set(count)
    Gauge("ee_blocklist_errors", "Lookups that ended in error in the last scan",
          registry=ctx.registry).set(sum(plan.errors_by_zone.values()))
    Gauge("ee_blocklist_broken_zones", "Zones that failed their self-test in the last scan",
          registry=ctx.registry).set(sum(1 for health in report.health.values() if not health.healthy))
    Gauge("ee_blocklist_queries", "DNS queries sent by the last scan", registry=ctx.registry).set(report.queries)


# ---- status and zones -----------------------------------------------------------------------


def status(engine: Engine | None = None) -> dict[str, Any]:
    """Return the open listings (oldest first) and the last scan's outcome and summary."""
    from sqlalchemy import select

    from emailengine.db.engine import session_scope
    from emailengine.db.models import JobRun, Listing

    with session_scope(engine) as session:
        rows = session.scalars(select(Listing).where(Listing.cleared_at.is_(None))
                               .order_by(Listing.first_seen, Listing.target, Listing.zone)).all()
        listings = [_listing_dict(row) for row in rows]
        last = session.scalars(select(JobRun).where(JobRun.job == JOB_NAME, JobRun.outcome != "skipped")
                               .order_by(JobRun.id.desc()).limit(1)).first()
        last_scan = None
        if last is not None:
            last_scan = {"run_id": last.id, "started_at": last.started_at, "finished_at": last.finished_at,
                         "outcome": last.outcome, "summary": _load_json(last.summary)}
    return {"listings": listings, "last_scan": last_scan}


def _listing_dict(row: Any) -> dict[str, Any]:
    return {"target": row.target, "target_kind": row.target_kind, "zone": row.zone, "tier": row.tier,
            "codes": row.codes, "reason": row.reason, "first_seen": row.first_seen, "last_seen": row.last_seen,
            "cleared_at": row.cleared_at}


def _load_json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def zones_table(settings: Settings) -> list[dict[str, Any]]:
    """Return every catalogued (and extra) zone with what it means and whether it is enabled."""
    return [catalogue.zone_to_dict(zone, settings) for zone in catalogue.all_zones(settings)]


# ---- progress -------------------------------------------------------------------------------


@contextlib.contextmanager
def terminal_progress(title: str, enabled: bool | None = None) -> Iterator[Progress | None]:
    """Yield a progress callback drawing a bar on stderr when it is a terminal, else None."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn(title), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
             console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(title, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update

