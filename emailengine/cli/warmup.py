"""`ee warmup ...`, `ee rotate` and `ee quarantine release`: warmup plans, the daily tick,
monthly rotation and quarantine release. Merged at the top level (see cli/__init__.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from emailengine.cli._shared import DryRunOption, JsonOption, print_json, print_lines, print_table

app = typer.Typer()
warmup_app = typer.Typer(help="IP warmup: plans, the daily decision tick, status, simulation.",
                         no_args_is_help=True)
plan_app = typer.Typer(help="Import, export and assign warmup plans.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Quarantined IPs.", no_args_is_help=True)
app.add_typer(warmup_app, name="warmup")
warmup_app.add_typer(plan_app, name="plan")
app.add_typer(quarantine_app, name="quarantine")

NOTABLE = ("pause", "step_back", "restart")
SHORT = {"gmail": "g", "microsoft": "ms", "microsoft365": "m365", "yahoo": "y", "apple": "a", "other": "o"}


def _finish(code: int) -> None:
    if code:
        raise typer.Exit(code)


@warmup_app.command("tick")
def tick(
    date: Annotated[str | None, typer.Option("--date", help="Run date YYYY-MM-DD (UTC); judges the days "
                                             "before it. Default: today.")] = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Daily warmup (00:00 UTC): decide advance/hold/step back/pause per IP and lane, promote
    finished IPs, ramp RETIRING IPs down, re-warm rested IPs."""
    from emailengine.warmup import service

    outcome = service.tick(date, dry_run)
    data = outcome.data
    if as_json:
        print_json(data)
    else:
        days = ", ".join(str(day) for day in data["judged_days"]) or "none (already judged)"
        counts = ", ".join(f"{k} {v}" for k, v in sorted(data["counts"].items())) or "no decisions"
        print_lines([f"{'[dry run] ' if dry_run else ''}judged days: {days}", f"decisions: {counts}"])
        notable = [row for row in data["decisions"] if row["decision"] in NOTABLE]
        if notable:
            print_table(notable[:200], ["ip", "day", "lane", "decision", "plan_day_before", "plan_day_after", "rule"],
                        title="step backs, pauses, restarts")
        for key, title in (("promoted", "promoted to ACTIVE"), ("to_resting", "RETIRING → RESTING"),
                           ("rewarmed", "RESTING → WARMING"), ("initialised", "lanes initialised")):
            if data[key]:
                print_lines([f"{title}: {', '.join(data[key][:50])}"])
    _finish(outcome.exit_code)


@warmup_app.command("status")
def status(
    ip: Annotated[str | None, typer.Option("--ip", help="One IP, with its recent decisions.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show IPs not ACTIVE (or one IP): state, plan, day, quotas, lanes and the latest decisions."""
    from emailengine.warmup import service

    rows = service.status(ip)
    if as_json:
        print_json(rows)
        return
    table = [{"address": row["address"], "state": row["state"], "plan": row["plan"], "day": row["warmup_day"],
              "daily": row["daily_quota"], "hourly": row["hourly_quota"],
              "lanes": " ".join(f"{SHORT.get(lane, lane)}:{v['plan_day']}{'P' if v['paused'] else ''}"
                                for lane, v in row["lanes"].items()),
              "last": ",".join(sorted({x["decision"] for x in row["last_decisions"]}))} for row in rows]
    print_table(table, ["address", "state", "plan", "day", "daily", "hourly", "lanes", "last"],
                title="warmup", empty="no IP is warming, retiring, resting or quarantined")
    if ip and rows and rows[0].get("decisions"):
        print_table(rows[0]["decisions"], ["day", "lane", "decision", "plan_day_before", "plan_day_after", "rule"],
                    title="recent decisions")


@warmup_app.command("plans")
def plans(as_json: JsonOption = False) -> None:
    """List the warmup plans with their milestones (volumes at the default target)."""
    from emailengine.warmup import service
    from emailengine.warmup.plans import ENGAGEMENT_GUIDANCE

    rows = service.plans()
    if as_json:
        print_json(rows)
        return
    table = [{**row, "name": row["name"] + (" *" if row["default"] else "")} for row in rows]
    print_table(table, ["name", "steps", "target_daily", "day_1", "day_7", "day_14", "day_28", "last", "total"],
                title="warmup plans (* = EE_WARMUP_DEFAULT_PLAN; volumes at EE_WARMUP_TARGET_DAILY)")
    print_lines([f"audience: {ENGAGEMENT_GUIDANCE}"])


@plan_app.command("import")
def plan_import(
    file: Annotated[Path, typer.Argument(help="Plan file: .toml or .json (name, fractions or volumes).")],
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a plan of the same name.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Validate and store a custom plan (admin). A bad file changes nothing."""
    from emailengine.warmup import service

    summary = service.import_plan(file, replace)
    if as_json:
        print_json(summary)
    else:
        typer.echo(f"imported plan {summary['name']} ({summary['steps']} steps, last {summary['last']}/day)")


@plan_app.command("export")
def plan_export(
    name: Annotated[str, typer.Argument(help="Plan name.")] = "default",
    fmt: Annotated[str, typer.Option("--format", help="toml or json (default: from --output, else toml).")] = "",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Print (or write) a plan as TOML or JSON, ready to edit and import."""
    from emailengine.warmup import service

    chosen = fmt or ("json" if output is not None and output.suffix.lower() == ".json" else "toml")
    text = service.export_plan(name, chosen.lower())
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        from emailengine.errors import UsageError

        raise UsageError(f"cannot write {output}: {error}") from None
    typer.echo(f"wrote {output}")


@plan_app.command("assign")
def plan_assign(address: Annotated[str, typer.Argument(help="IP address.")],
                name: Annotated[str, typer.Argument(help="Plan name.")], as_json: JsonOption = False) -> None:
    """Make an IP follow another plan from its current step on (admin)."""
    from emailengine.warmup import service

    ip = service.assign_plan(address, name)
    if as_json:
        print_json(ip)
    else:
        typer.echo(f"{ip['address']} follows plan {ip['warmup_plan']}")


@warmup_app.command("simulate")
def simulate(
    days: Annotated[int, typer.Option("--days", help="Days to simulate.")] = 60,
    scenario: Annotated[Path | None, typer.Option("--scenario", help="Scenario file (TOML/JSON); default: "
                                                  "the built-ins clean, complaint-spike, gmail-block-week.")] = None,
    plan: Annotated[str | None, typer.Option("--plan", help="Plan name (default EE_WARMUP_DEFAULT_PLAN).")] = None,
    pool: Annotated[str | None, typer.Option("--pool", help="Use this pool's target and lane mix.")] = None,
    plot_out: Annotated[Path | None, typer.Option("--plot-out", help="Write a PNG chart here (needs the "
                                                  "`plot` extra; else a terminal chart).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the real decision engine over synthetic figures and show day-by-day volume and decisions."""
    from emailengine.warmup import service
    from emailengine.warmup import simulate as sim

    data = service.simulate(days, scenario, plan, pool)
    series = {item["summary"]["scenario"]: [row["quota"] for row in item["days"]] for item in data["scenarios"]}
    plotted = sim.write_png(series, str(plot_out), f"warmup plan {data['plan']}") if plot_out else False
    if as_json:
        data["plot"] = str(plot_out) if plotted else None
        print_json(data)
        return
    _print_simulation(data)
    if plotted:
        typer.echo(f"chart written to {plot_out}")
    else:
        if plot_out:
            typer.echo("matplotlib is not installed (pip install 'emailengine[plot]'): terminal chart instead", err=True)
        print_lines(sim.terminal_chart(series))


def _print_simulation(data: dict[str, Any]) -> None:
    from emailengine.providers import LANES

    for item in data["scenarios"]:
        summary = item["summary"]
        rows = []
        for day in item["days"]:
            row = {"day": day["day"], "quota": day["quota"], "sent": day["sent"]}
            for lane in LANES:
                lane_row = day["lanes"].get(lane)
                row[SHORT[lane]] = f"{lane_row['plan_day']}{lane_row['decision'][0].upper()}" if lane_row else "-"
            row["events"] = ("ACTIVE " if day["state"] == "ACTIVE" else "") + "; ".join(day["events"])[:100]
            rows.append(row)
        print_table(rows, ["day", "quota", "sent", *(SHORT[lane] for lane in LANES), "events"],
                    title=f"{summary['scenario']}: {summary['description']} (lane step + A/H/S/P/R)")
        active = summary["active_from_day"]
        print_lines([f"{summary['scenario']}: ACTIVE from day {active}" if active else
                     f"{summary['scenario']}: still warming after {summary['days']} days",
                     f"  sent {summary['total_sent']:,}; decisions {summary['decisions']}"])


@app.command("rotate")
def rotate(dry_run: DryRunOption = False, as_json: JsonOption = False) -> None:
    """Monthly rotation (1st, 03:00 UTC; admin by hand): retire degraded, repeatedly listed or
    operator-marked ACTIVE IPs, never below EE_MIN_ACTIVE_IPS."""
    from emailengine.warmup import service

    outcome = service.rotate(dry_run)
    data = outcome.data
    if as_json:
        print_json(data)
    else:
        print_lines([f"{'[dry run] ' if dry_run else ''}{data['active_considered']} ACTIVE IPs considered, "
                     f"{len(data['retire'])} to RETIRING, {len(data['kept'])} kept by a limit"])
        print_table(data["retire"], ["ip", "reason"], title="retiring", empty="nothing to retire")
        if data["kept"]:
            print_table(data["kept"], ["ip", "reason"], title="kept ACTIVE")
    _finish(outcome.exit_code)


@quarantine_app.command("release")
def release(dry_run: DryRunOption = False, as_json: JsonOption = False) -> None:
    """Daily (04:00 UTC): QUARANTINE IPs past quarantine_until with no open listing → WARMING."""
    from emailengine.warmup import service

    outcome = service.release(dry_run)
    data = outcome.data
    if as_json:
        print_json(data)
    else:
        prefix = "[dry run] " if dry_run else ""
        print_lines([f"{prefix}released to WARMING: {', '.join(data['released']) or 'none'}"])
        if data["still_listed"]:
            print_table([{"ip": x["ip"], "zones": ", ".join(x["zones"])} for x in data["still_listed"]],
                        ["ip", "zones"], title="still listed: stay in QUARANTINE")
        if data["waiting"]:
            print_table(data["waiting"], ["ip", "quarantine_until"], title="waiting")
    _finish(outcome.exit_code)
