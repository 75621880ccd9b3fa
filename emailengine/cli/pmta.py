"""`ee pmta ...`: the managed PowerMTA config (render, diff, apply) and queue monitoring."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from emailengine.cli._shared import DryRunOption, JsonOption, print_json, print_table, settings

app = typer.Typer(help="PowerMTA: managed config (render/diff/apply) and queues.", no_args_is_help=True)


def _engine():  # noqa: ANN202 - keeps sqlalchemy out of module import
    from emailengine.db.engine import database_engine

    return database_engine()


@app.command("render")
def render(output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
           as_json: JsonOption = False) -> None:
    """Print the managed include file rendered from the database (changes nothing)."""
    from emailengine.integrations.powermta.service import render_from_db

    rendered = render_from_db(settings(), _engine())
    if as_json:
        print_json({"host": rendered.host, "sha256": rendered.sha256, "pools": rendered.pools(),
                    "text": rendered.text})
    elif output:
        output.write_text(rendered.text, encoding="utf-8")
        typer.echo(f"wrote {output} ({len(rendered.text)} bytes, sha256 {rendered.sha256[:12]})")
    else:
        sys.stdout.write(rendered.text)


@app.command("diff")
def diff(as_json: JsonOption = False) -> None:
    """Show what `ee pmta apply` would change in EE_PMTA_MANAGED_CONFIG (exit 0 either way)."""
    from emailengine.integrations.powermta.service import diff as diff_

    data = diff_(settings(), _engine())
    if as_json:
        print_json(data)
    elif data["changed"]:
        sys.stdout.write(data["diff"])
    else:
        typer.echo(f"{data['path']} is up to date")


@app.command("apply")
def apply(dry_run: DryRunOption = False, as_json: JsonOption = False,
          reason: Annotated[str, typer.Option("--reason", help="Why (audit log).")] = "manual apply") -> None:
    """Render, write atomically, test, reload, confirm health; roll back on failure (admin)."""
    from emailengine.identity import current_actor
    from emailengine.integrations.powermta.service import apply as apply_

    config = settings()
    data = apply_(config, _engine(), current_actor(config.actor), dry_run=dry_run, reason=reason)
    if as_json:
        print_json(data)
        return
    if data["outcome"] == "dry-run" and data["diff"]:
        sys.stdout.write(data["diff"])
    for step in data.get("steps") or []:
        typer.echo(f"  {step}")
    print_table(data["pools"], ["pool", "members", "excluded"], title="pools")
    typer.echo(f"{data['path']}: {data['outcome']}")


@app.command("queues")
def queues(limit: Annotated[int, typer.Option("--limit", min=1, help="How many queues.")] = 20,
           as_json: JsonOption = False) -> None:
    """Top PowerMTA queues by recipients, with backoff/paused state (management API)."""
    from emailengine.integrations.powermta.service import queues as queues_

    rows = queues_(settings(), limit)
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["queue", "rcpt", "kb", "conn", "mode", "paused", "retry_time"], title="top queues",
                    empty="no queued mail")


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """PowerMTA health and headline figures from the management API (exit 75 when down/unhealthy)."""
    from emailengine.integrations.powermta.service import status as status_

    data = status_(settings())
    if as_json:
        print_json(data)
    else:
        print_table([{"field": k, "value": v} for k, v in data.items()], ["field", "value"], title="PowerMTA")
    if not data["healthy"]:
        raise typer.Exit(75)
