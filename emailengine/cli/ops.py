"""Operations commands: `ee health`, `ee metrics update`, `ee alert test`, `ee validate email`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, exit_for_job, fail, print_json, print_table, settings

app = typer.Typer()
metrics_app = typer.Typer(help="Prometheus metrics.", no_args_is_help=True)
alert_app = typer.Typer(help="Telegram alerts.", no_args_is_help=True)
validate_app = typer.Typer(help="Validate data before sending.", no_args_is_help=True)
app.add_typer(metrics_app, name="metrics")
app.add_typer(alert_app, name="alert")
app.add_typer(validate_app, name="validate")


@app.command("health")
def health(as_json: JsonOption = False) -> None:
    """Check database, PowerMTA, disks, memory, bounce pipe, outbox and jobs (Nagios exit codes).

    Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; the first line is the summary.
    """
    try:
        from emailengine.health import run_health

        report = run_health(settings())
    except Exception as error:  # noqa: BLE001 - a Nagios plugin answers UNKNOWN, never a traceback
        text = error.one_line() if hasattr(error, "one_line") else f"{type(error).__name__}: {error}"
        line = f"EE UNKNOWN - {' '.join(text.split())[:300]}"
        if as_json:
            print_json({"status": "UNKNOWN", "exit_code": 3, "summary": line, "checks": []})
        else:
            typer.echo(line)
        raise typer.Exit(3) from None
    if as_json:
        print_json(report.as_dict())
    else:
        typer.echo(report.summary())
        for check in report.checks:
            typer.echo(f"{check.status.name:8} {check.name}: {check.message}")
    raise typer.Exit(int(report.status))


@metrics_app.command("update")
def metrics_update(as_json: JsonOption = False) -> None:
    """Refresh the state gauges from the database (job metrics-update, every minute)."""
    from emailengine.metrics_update import run_metrics_update

    ctx = run_metrics_update(settings())
    summary = {k: v for k, v in ctx.summary.items() if not k.startswith("_")}
    if as_json:
        print_json(summary)
    else:
        typer.echo(f"{summary.get('samples', 0)} samples written to {', '.join(summary.get('published_to', [])) or 'nowhere (set EE_METRICS_TEXTFILE_DIR or EE_PUSHGATEWAY_URL)'}")
    exit_for_job(ctx)


@alert_app.command("test")
def alert_test(as_json: JsonOption = False) -> None:
    """Send a test message to the Telegram chat (not deduplicated); exit 75 if it cannot be sent."""
    from emailengine.alerts import send_test_alert

    result = send_test_alert(settings())
    if as_json:
        print_json(result)
    else:
        typer.echo(f"test alert sent to chat {result['chat_id']} (message {result['message_id']})")


@validate_app.command("email")
def validate_email(
    addresses: Annotated[list[str] | None, typer.Argument(help="Addresses to check.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="One address per line ('-' = stdin).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Check addresses: syntax, domain MX/A, our suppressions, role and disposable flags.

    Verdicts: valid, risky (role/disposable), unknown (DNS failed), suppressed, invalid.
    """
    from emailengine.validation.cli_support import run_validation

    if not addresses and file is None:
        fail("give addresses or --file", "e.g. `ee validate email bob@example.com`")
    if addresses and file is not None:
        fail("give addresses or --file, not both")
    if file is not None and str(file) != "-" and not file.is_file():
        fail(f"cannot read {file}", "no such file")
    counts = run_validation(addresses or [], file, as_json, sys.stdout, print_table)
    if not as_json and file is not None:
        typer.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no addresses", err=True)
