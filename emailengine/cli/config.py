"""`ee config show|check`: the effective settings (secrets masked) and their validation."""

from __future__ import annotations

import typer

from emailengine.cli._shared import JsonOption, print_json, print_table

app = typer.Typer(help="Show and check the settings.", no_args_is_help=True)


@app.command("show")
def show(as_json: JsonOption = False) -> None:
    """Print the effective settings, secrets masked."""
    from emailengine.settings_report import settings_view

    rows = settings_view()
    if as_json:
        print_json({row["name"]: row["value"] for row in rows})
    else:
        print_table(rows, ["name", "value", "source"], title="ee settings")


@app.command("check")
def check(as_json: JsonOption = False) -> None:
    """Validate every setting; exit 2 with one line per problem."""
    from emailengine.settings_report import check_settings

    problems, warnings = check_settings()
    if as_json:
        print_json({"ok": not problems, "problems": problems, "warnings": warnings})
    else:
        for warning in warnings:
            typer.echo(f"warning: {warning}", err=True)
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        if not problems:
            typer.echo("settings OK" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    if problems:
        raise typer.Exit(2)


