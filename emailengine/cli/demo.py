"""`ee demo`: the whole product, on a SQLite database of its own, with loopback stand-ins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, print_json

app = typer.Typer()


@app.command("demo")
def demo(
    db: Annotated[Path | None, typer.Option("--db", help="SQLite file to use (default: a fresh one).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show every capability working on a throw-away SQLite database (never the operator's)."""
    import io
    import logging
    import os

    from rich.console import Console

    from emailengine import demo as demo_module
    from emailengine.cli._shared import print_table
    from emailengine.db.engine import get_engine

    if os.environ.get("EE_DEBUG") != "1":
        # The demo prints what happens; the jobs' info logs would only repeat it.
        logging.getLogger("emailengine").setLevel(logging.WARNING)
    workdir, url = demo_module.prepare_environment(db.resolve() if db else None)
    console = Console(file=io.StringIO()) if as_json else Console()

    def show(rows, columns, title):  # noqa: ANN001, ANN202 - rendering callback
        if not as_json:
            print_table(rows, columns, title=title)

    context = demo_module.DemoContext(
        settings=_settings(), engine=get_engine(url), workdir=workdir, say=console.print, show=show,
    )
    report = demo_module.run_demo(context)
    if as_json:
        print_json({"workdir": str(workdir), "database": url, "ok": report.ok, "parts": report.parts})
    else:
        console.print("\n[bold]── summary ──[/bold]")
        for part in report.parts:
            mark = {"ok": "[green]✔[/green]", "failed": "[red]✘[/red]"}.get(part["status"], "·")
            console.print(f"{mark} [bold]{part['part']}[/bold] ({part['status']})")
            for line in part["lines"]:
                console.print(f"    {line}")
        console.print(f"\ndemo database: {url}\nscratch directory: {workdir}")
    if not report.ok:
        raise typer.Exit(1)


def _settings():  # noqa: ANN202
    from emailengine.config import get_settings

    return get_settings()
