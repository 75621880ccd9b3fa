"""`ee ip ...`: the IP inventory and manual lifecycle changes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, print_json, print_table

app = typer.Typer(help="Sending IPs: inventory and lifecycle state.", no_args_is_help=True)

LIST_COLUMNS = ["address", "vmta", "pool", "state", "warmup_day", "daily_quota", "hostname"]


@app.command("add")
def add(
    address: Annotated[str, typer.Argument(help="IPv4 or IPv6 address.")],
    hostname: Annotated[str, typer.Option("--hostname", help="HELO name (must match the PTR).")],
    vmta: Annotated[str, typer.Option("--vmta", help="PowerMTA virtual-mta name.")],
    pool: Annotated[str, typer.Option("--pool", help="virtual-mta-pool name.")] = "default",
    host: Annotated[str, typer.Option("--host", help="PowerMTA host that owns the IP.")] = "",
    mailwizz_server_id: Annotated[int | None, typer.Option("--mailwizz-server-id")] = None,
    state: Annotated[str, typer.Option("--state", help="Initial state.")] = "WARMING",
    as_json: JsonOption = False,
) -> None:
    """Add one IP (admin)."""
    from emailengine import service

    ip = service.add_ip(address, hostname, vmta, pool, host, mailwizz_server_id, state)
    if as_json:
        print_json(ip)
    else:
        typer.echo(f"added {ip['address']} ({ip['vmta']}, {ip['state']})")


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="CSV: ip,hostname,vmta[,pool,host,mailwizz_server_id,state]")],
            as_json: JsonOption = False) -> None:
    """Add many IPs from a CSV file in one transaction (admin): all rows or none."""
    from emailengine import service

    added = service.import_ips(file)
    if as_json:
        print_json({"added": len(added), "ips": added})
    else:
        typer.echo(f"imported {len(added)} IPs")


@app.command("list")
def list_(state: Annotated[str | None, typer.Option("--state", help="Only IPs in this state.")] = None,
          pool: Annotated[str | None, typer.Option("--pool")] = None, as_json: JsonOption = False) -> None:
    """List IPs."""
    from emailengine import service

    rows = service.list_ips(state, pool)
    if as_json:
        print_json(rows)
    else:
        print_table(rows, LIST_COLUMNS, title="IPs", empty="no IPs (add one with `ee ip add`)")


@app.command("show")
def show(address: str, as_json: JsonOption = False) -> None:
    """Show one IP: state, warmup day, quotas, lanes, decisions and the full transition history."""
    from emailengine import service

    data = service.show_ip(address)
    if as_json:
        print_json(data)
        return
    print_table([{"field": k, "value": v} for k, v in data["ip"].items()], ["field", "value"], title=address)
    if data["lanes"]:
        print_table(data["lanes"], ["lane", "plan_day", "daily_quota", "sending_days", "idle_days", "paused"],
                    title="warmup lanes")
    if data["decisions"]:
        print_table(data["decisions"], ["day", "lane", "decision", "plan_day_before", "plan_day_after", "rule"],
                    title="recent warmup decisions")
    print_table(data["history"], ["at", "from", "to", "reason", "actor"], title="history")


@app.command("set-state")
def set_state(address: str, state: str,
              reason: Annotated[str, typer.Option("--reason", help="Why (kept in the history).")],
              as_json: JsonOption = False) -> None:
    """Move an IP to another lifecycle state (admin)."""
    from emailengine import service

    ip = service.set_ip_state(address, state, reason)
    if as_json:
        print_json(ip)
    else:
        typer.echo(f"{ip['address']} is now {ip['state']}")


@app.command("remove")
def remove(address: str) -> None:
    """Remove an IP from the inventory (admin)."""
    from emailengine import service

    service.remove_ip(address)
    typer.echo(f"removed {address}")
