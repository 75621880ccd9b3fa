"""`ee forward ...`: deliver the outbox (signed webhooks to scraper-pro, feedback to MailWizz)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, exit_for_job, print_json, print_table

app = typer.Typer()
forward_app = typer.Typer(help="Forward bounces and complaints: retry, status, requeue, verify.",
                          no_args_is_help=True)
app.add_typer(forward_app, name="forward")

STATUS_COLUMNS = ["destination", "configured", "pending", "due", "oldest_pending_age_seconds",
                  "delivered_today", "dead", "note"]
RUN_COLUMNS = ["destination", "delivered", "failed", "dead", "batches", "skipped"]

DestinationOption = Annotated[str | None, typer.Option("--destination", help="Only this destination (scraper, mailwizz).")]


@forward_app.command("retry")
def retry(
    destination: DestinationOption = None,
    runner: Annotated[str | None, typer.Option(
        "--runner", help="Run as an extra parallel runner with its own job lock (forward-retry@NAME).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Deliver due outbox events (the every-2-minutes job `forward-retry`)."""
    from emailengine.forwarding.run import JOB_NAME, run_retry
    from emailengine.jobs import run_job

    name = f"{JOB_NAME}@{runner}" if runner else JOB_NAME
    with run_job(name) as ctx:
        stats = run_retry(ctx, only=destination)
    rows = [{k: v for k, v in entry.__dict__.items() if k != "problems"} for entry in stats]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, RUN_COLUMNS, title="forward retry", empty="no destinations")
    exit_for_job(ctx)


@forward_app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Per destination: pending, due, oldest pending age, delivered today, dead letters."""
    from emailengine.cli._shared import settings
    from emailengine.db.engine import database_engine
    from emailengine.forwarding.run import status_rows

    rows = status_rows(settings(), database_engine())
    if as_json:
        print_json(rows)
    else:
        print_table(rows, STATUS_COLUMNS, title="forwarding outbox")


@forward_app.command("requeue")
def requeue(
    dead: Annotated[bool, typer.Option("--dead", help="Also (or, with --id, only) revive dead letters.")] = False,
    event: Annotated[str | None, typer.Option("--id", help="Outbox row id or event id.")] = None,
    destination: DestinationOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make pending events due now; with --dead revive dead letters; with --id one event."""
    from emailengine.cli._shared import settings
    from emailengine.db.engine import database_engine
    from emailengine.forwarding.run import requeue_events
    from emailengine.identity import current_actor

    count = requeue_events(database_engine(), current_actor(settings().actor), dead, event, destination)
    if as_json:
        print_json({"requeued": count})
    else:
        typer.echo(f"requeued {count} outbox rows")


@forward_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="Saved request: JSON {method,url,headers,body} or raw HTTP/1.1 text.")],
    keys_file: Annotated[Path | None, typer.Option(
        "--keys-file", help="JSON keys ({kid, secret} objects) instead of the database key ring.")] = None,
    jti_cache: Annotated[Path | None, typer.Option(
        "--jti-cache", help="File of seen JWT ids: a repeat is a replay; valid ids are appended.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a saved webhook request's signatures; exit 1 when it is not valid."""
    from emailengine.cli._shared import settings
    from emailengine.forwarding.run import verify_saved_request

    engine = None
    if keys_file is None:
        from emailengine.db.engine import database_engine

        engine = database_engine()
    result = verify_saved_request(engine, settings(), file, keys_file, jti_cache)
    if as_json:
        print_json(result)
    else:
        state = "valid" if result["valid"] else "INVALID"
        typer.echo(f"{state}: key {result['kid'] or '-'}, hmac {'ok' if result['checks'].get('hmac') else 'bad'}, "
                   f"jwt {'ok' if result['checks'].get('jwt') else 'bad'}, {result['events']} events")
        for problem in result["problems"]:
            typer.echo(f"  - {problem}")
    if not result["valid"]:
        raise typer.Exit(1)
