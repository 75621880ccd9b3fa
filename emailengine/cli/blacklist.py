"""`ee blacklist ...`: DNS blocklist checks, the scan job, open listings and the zone catalogue."""

from __future__ import annotations

from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, exit_for_job, print_json, print_lines, print_table, settings

app = typer.Typer(help="DNS blocklists: check, scan, status, zones.", no_args_is_help=True)

RESULT_COLUMNS = ["target", "zone", "status", "tier", "codes", "reason"]
LISTING_COLUMNS = ["target", "zone", "tier", "codes", "first_seen"]
ZONE_COLUMNS = ["zone", "kind", "tier", "enabled", "requires", "why_disabled"]


@app.command("check")
def check(
    targets: Annotated[list[str], typer.Argument(help="IP addresses and/or domain names.")],
    as_json: JsonOption = False,
) -> None:
    """Look targets up on every enabled list now; changes nothing."""
    from emailengine.blocklists import run

    with run.terminal_progress("checking") as progress:
        outcome = run.check(targets, settings(), progress)
    if as_json:
        print_json(outcome["results"])
        return
    print_table([_row(result) for result in outcome["results"]], RESULT_COLUMNS, title="blocklist check")
    _print_broken(outcome["zones"])


@app.command("scan")
def scan(as_json: JsonOption = False) -> None:
    """Scan every inventory IP and domain (job `blacklist-scan`, every 4 h); store listings, apply effects."""
    from emailengine.blocklists import run

    with run.terminal_progress("scanning") as progress:
        summary, ctx = run.run_scan(progress=progress)
    if as_json:
        print_json(summary)
    else:
        print_table([_row(result) for result in summary["results"]], RESULT_COLUMNS, title="listed", empty="nothing listed")
        print_lines([
            f"{summary['targets']} targets × {summary['zones']} zones: {summary['queries']} queries in "
            f"{summary['seconds']} s; {summary['listed']} listed ({summary['new_listings']} new), "
            f"{summary['cleared']} cleared, {summary['errors']} errors",
            *(f"zone {zone} broken: {problem}" for zone, problem in summary["broken_zones"].items()),
            *(f"{move['ip']}: {move['from']} → {move['to']} ({move['reason']})" for move in summary["moves"]),
        ])
    exit_for_job(ctx)


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Show open listings and the last scan."""
    from emailengine.blocklists import run

    data = run.status()
    if as_json:
        print_json(data)
        return
    print_table([_row(row) for row in data["listings"]], LISTING_COLUMNS, title="open listings", empty="no open listings")
    last = data["last_scan"]
    print_lines([f"last scan: run {last['run_id']} at {last['started_at']}: {last['outcome']}" if last
                 else "no scan has run yet (`ee blacklist scan`)"])


@app.command("zones")
def zones(as_json: JsonOption = False) -> None:
    """Show the zone catalogue: kind, tier, codes, requirements, delisting links, enabled or not."""
    from emailengine.blocklists import run

    rows = run.zones_table(settings())
    if as_json:
        print_json(rows)
        return
    print_table(rows, ZONE_COLUMNS, title="blocklist zones")


def _row(result: dict) -> dict:
    """Return a table row with codes as text."""
    return {**result, "codes": ", ".join(result.get("codes") or [])}


def _print_broken(zones: dict) -> None:
    print_lines(f"zone {name} broken: {health['problem']}" for name, health in zones.items() if not health["healthy"])
