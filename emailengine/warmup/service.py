"""The warmup commands as functions: each resolves settings, engine and actor, runs inside the
job runner when it changes things, and returns plain data for the CLI to render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from emailengine.errors import UsageError


@dataclass
class JobOutcome:
    data: dict[str, Any]
    exit_code: int = 0


def _context() -> tuple[Any, Any, str]:
    from emailengine.config import get_settings
    from emailengine.db.engine import database_engine
    from emailengine.identity import current_actor

    settings = get_settings()
    return settings, database_engine(), current_actor(settings.actor)


def _metrics(registry: Any, name: str, help_text: str, values: dict[str, int], label: str) -> None:
    from prometheus_client import Gauge

    gauge = Gauge(name, help_text, [label], registry=registry)
    for key, value in values.items():
        gauge.labels(key).set(value)


def tick(date_text: str | None, dry_run: bool) -> JobOutcome:
    """Run `ee warmup tick` for a run date (default today, UTC), judging the days before it."""
    from emailengine.db.models import utcnow
    from emailengine.jobs import run_job
    from emailengine.warmup import run

    run_date = run.parse_day(date_text, utcnow().date())
    if dry_run:
        settings, engine, actor = _context()
        return JobOutcome(run.tick(settings, engine, actor, run_date, dry_run=True).to_dict())
    with run_job("warmup-tick") as ctx:
        report = run.tick(ctx.settings, ctx.engine, ctx.actor, run_date, job_run_id=ctx.run_id)
        ctx.summary.update(run_date=run_date.isoformat(), judged_days=len(report.days), counts=report.counts,
                           promoted=len(report.promoted), to_resting=len(report.to_resting),
                           rewarmed=len(report.rewarmed))
        _metrics(ctx.registry, "ee_warmup_decisions", "Lane decisions of the last warmup tick", report.counts,
                 "decision")
    return JobOutcome(report.to_dict(), ctx.summary["_result"].exit_code)


def rotate(dry_run: bool) -> JobOutcome:
    """Run `ee rotate` (admin unless the actor is `system`)."""
    from emailengine.jobs import run_job
    from emailengine.warmup import run

    if dry_run:
        settings, engine, actor = _context()
        return JobOutcome(run.rotate(settings, engine, actor, dry_run=True).to_dict())
    with run_job("rotate") as ctx:
        report = run.rotate(ctx.settings, ctx.engine, ctx.actor, job_run_id=ctx.run_id)
        ctx.summary.update(considered=report.considered, retired=len(report.retire), kept=len(report.kept))
        _metrics(ctx.registry, "ee_rotation_ips", "IPs retired or kept by the last rotation",
                 {"retired": len(report.retire), "kept": len(report.kept)}, "outcome")
    return JobOutcome(report.to_dict(), ctx.summary["_result"].exit_code)


def release(dry_run: bool) -> JobOutcome:
    """Run `ee quarantine release`."""
    from emailengine.jobs import run_job
    from emailengine.warmup import run

    if dry_run:
        settings, engine, actor = _context()
        return JobOutcome(run.release_quarantine(settings, engine, actor, dry_run=True).to_dict())
    with run_job("quarantine-release") as ctx:
        report = run.release_quarantine(ctx.settings, ctx.engine, ctx.actor, job_run_id=ctx.run_id)
        ctx.summary.update(released=len(report.released), still_listed=len(report.still_listed),
                           waiting=len(report.waiting))
        _metrics(ctx.registry, "ee_quarantine_ips", "Quarantined IPs by outcome of the last release run",
                 {"released": len(report.released), "still_listed": len(report.still_listed),
                  "waiting": len(report.waiting)}, "outcome")
    return JobOutcome(report.to_dict(), ctx.summary["_result"].exit_code)


def status(address: str | None) -> list[dict[str, Any]]:
    """Return the warmup status rows (`ee warmup status`)."""
    from emailengine.warmup import run

    _, engine, _ = _context()
    return run.status(engine, address)


def plans() -> list[dict[str, Any]]:
    """Return every plan's summary at its pool-independent target (`ee warmup plans`)."""
    from sqlalchemy.orm import Session

    from emailengine.warmup import run
    from emailengine.warmup.plans import plan_summary

    settings, engine, _ = _context()
    with Session(engine) as session:
        stored = run.load_plans(session)
    return [{**plan_summary(plan, settings.warmup_target_daily),
             "default": name == settings.warmup_default_plan} for name, plan in sorted(stored.items())]


def import_plan(path: Path, replace: bool) -> dict[str, Any]:
    """Validate and store a plan file (admin)."""
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role
    from emailengine.warmup import run
    from emailengine.warmup.plans import parse_plan_text, plan_summary

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    plan = parse_plan_text(text, path.name)
    settings, engine, actor = _context()
    with session_scope(engine) as session:
        require_role(session, actor, "admin")
        run.import_plan(session, plan, actor, replace=replace)
    return plan_summary(plan, settings.warmup_target_daily)


def export_plan(name: str, fmt: str) -> str:
    """Return a stored plan as TOML or JSON text."""
    from sqlalchemy.orm import Session

    from emailengine.warmup import run
    from emailengine.warmup.plans import plan_to_json, plan_to_toml

    if fmt not in ("toml", "json"):
        raise UsageError(f"unknown format {fmt!r}", "toml or json")
    _, engine, _ = _context()
    with Session(engine) as session:
        plan = run.get_plan(session, name)
    return plan_to_toml(plan) if fmt == "toml" else plan_to_json(plan)


def assign_plan(address: str, name: str) -> dict[str, Any]:
    """Make an IP follow a plan (admin)."""
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role
    from emailengine.warmup import run

    _, engine, actor = _context()
    with session_scope(engine) as session:
        require_role(session, actor, "admin")
        return run.assign_plan(session, address, name, actor)


def simulate(days: int, scenario_path: Path | None, plan_name: str | None, pool: str | None) -> dict[str, Any]:
    """Run the decision engine over the built-in scenarios (or one scenario file) for `days` days.

    Uses the stored plan (default: EE_WARMUP_DEFAULT_PLAN) when a database is reachable, the
    built-in default plan otherwise; lane shares are the pool's measured mix or the fallback mix.
    """
    from emailengine.config import get_settings
    from emailengine.providers import LANES
    from emailengine.warmup import decide as d
    from emailengine.warmup import simulate as sim
    from emailengine.warmup.plans import DEFAULT_PLAN

    if not 1 <= days <= 400:
        raise UsageError(f"--days {days} is out of range", "1 to 400")
    settings = get_settings()
    scenarios = list(sim.BUILTIN_SCENARIOS)
    if scenario_path is not None:
        try:
            text = scenario_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read {scenario_path}: {error}") from None
        scenarios = [sim.parse_scenario(text, scenario_path.name)]
    plan, shares = _simulation_plan(settings, plan_name or settings.warmup_default_plan, pool)
    if plan is None:
        plan = DEFAULT_PLAN
    if shares is None:
        shares = d.normalise_shares({}, settings.warmup_lane_shares, LANES, settings.warmup_share_min_volume)
    from emailengine.warmup.run import pool_target

    target = pool_target(settings, pool or "default")
    thresholds = d.Thresholds.from_settings(settings)
    results = []
    for scenario in scenarios:
        rows = sim.simulate(plan, target, shares, days, scenario, thresholds, settings.active_daily_quota)
        results.append({"summary": {**sim.summarise(scenario.name, rows), "description": scenario.description},
                        "days": rows})
    return {"plan": plan.name, "plan_steps": plan.length, "target_daily": plan.target_daily or target,
            "shares": {lane: round(share, 4) for lane, share in shares.items()}, "scenarios": results}


def _simulation_plan(settings: Any, name: str, pool: str | None) -> tuple[Any, dict[str, float] | None]:
    """Return (stored plan or None, the pool's measured shares or None) — None when no database."""
    from sqlalchemy.orm import Session

    from emailengine.db.engine import database_engine
    from emailengine.db.models import utcnow
    from emailengine.errors import EEError
    from emailengine.warmup import run

    try:
        engine = database_engine()
    except EEError:
        return None, None
    with Session(engine) as session:
        plan = run.get_plan(session, name)
        shares = run.pool_shares(session, settings, utcnow().date() - timedelta(days=1)).get(pool or "default")
    return plan, shares
