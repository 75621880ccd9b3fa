"""`ee audit log|verify`: the hash-chained audit trail (admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, print_json, print_table

app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@app.command("log")
def log(
    since: Annotated[str | None, typer.Option("--since", help="ISO date/time or an age like 24h, 7d.")] = None,
    actor: Annotated[str | None, typer.Option("--actor")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 200,
    as_json: JsonOption = False,
) -> None:
    """Show audit rows, newest last (admin)."""
    from emailengine import service

    rows = service.audit_log(since, actor, limit)
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["id", "at", "actor", "action", "target"], title="audit log", empty="no audit rows")


@app.command("verify")
def verify(as_json: JsonOption = False) -> None:
    """Verify the hash chain; exit 1 naming the first broken row (admin)."""
    from emailengine import service

    result = service.audit_verify()
    if as_json:
        print_json(result)
    elif result["ok"]:
        typer.echo(f"audit trail intact ({result['rows']} rows)")
    else:
        typer.echo(f"audit trail BROKEN at row {result['broken_id']}: {result['why']}", err=True)
    if not result["ok"]:
        raise typer.Exit(1)
