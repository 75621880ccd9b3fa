"""`ee bounce-pipe` (PowerMTA's accounting pipe) and `ee bounces import|stats`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from emailengine.cli._shared import DryRunOption, JsonOption, print_json, print_table, settings

app = typer.Typer()
bounces_app = typer.Typer(help="Backfill accounting files and show bounce statistics.", no_args_is_help=True)
app.add_typer(bounces_app, name="bounces")


@app.command("bounce-pipe")
def bounce_pipe(dry_run: DryRunOption = False, json_output: JsonOption = False) -> None:
    """Read PowerMTA accounting CSV on stdin: spool, classify, store (runs until EOF or SIGTERM).

    Configure it in PowerMTA as `<acct-file |/usr/local/bin/ee bounce-pipe>`. With --dry-run it
    writes nothing and prints one JSON object per record (type, rcpt, ip, class, reason, status, diag).
    """
    if dry_run:
        from emailengine.bounces.importer import dry_run as run_dry

        totals = run_dry(sys.stdin.buffer, sys.stdout)
        sys.stderr.write(f"{totals['records']} records, {totals['rejects']} rejects (dry run: nothing written)\n")
        return
    from emailengine.bounces.run import open_database, run_pipe

    config = settings()
    # the database opens in the background while stdin is read: PowerMTA's data flows from the start
    result = run_pipe(config, lambda: open_database(config), sys.stdin.fileno())
    if json_output:
        print_json(result.as_dict())


@bounces_app.command("import")
def bounces_import(
    files: Annotated[list[Path], typer.Argument(help="Accounting files (plain or .gz).")],
    json_output: JsonOption = False,
) -> None:
    """Ingest PowerMTA accounting files through the bounce pipeline; records already stored are skipped."""
    from emailengine.bounces.importer import import_files
    from emailengine.db.engine import database_engine

    config = settings()
    progress = None
    bar = None
    if sys.stderr.isatty() and not json_output:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        tasks: dict[Path, int] = {}

        def progress(path: Path, done: int, total: int) -> None:
            if path not in tasks:
                tasks[path] = bar.add_task(path.name, total=total)
            bar.update(tasks[path], completed=done)

    try:
        result = import_files(list(files), config, database_engine(), progress=progress)
    finally:
        if bar:
            bar.stop()
    if json_output:
        print_json(result.as_dict())
        return
    print_table([result.as_dict()], ["files", "records", "new", "duplicates", "rejects", "suppressed", "events"],
                title="bounces import")


@bounces_app.command("stats")
def bounces_stats(
    since: Annotated[str | None, typer.Option("--since", help="Window such as 24h, 7d (default: all time).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Break down by ip, provider or reason.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Show record counts by type and class (and by ip, provider or reason)."""
    from datetime import UTC, datetime

    from emailengine.bounces.queries import parse_since, stats
    from emailengine.db.engine import session_scope
    from emailengine.errors import UsageError

    if by is not None and by not in ("ip", "provider", "reason"):
        raise UsageError(f"invalid --by {by!r}", "use ip, provider or reason")
    window = parse_since(since) if since else None
    with session_scope() as session:
        data = stats(session, window, by, datetime.now(UTC))
    if json_output:
        print_json(data)
        return
    print_table([{"type": k, "records": v} for k, v in data["by_type"].items()], ["type", "records"], "by type")
    print_table([{"class": k, "records": v} for k, v in data["by_class"].items()], ["class", "records"], "by class")
    if by:
        rows = data[f"by_{by}"]
        columns = [by, "total", "delivered", "hard", "soft", "block", "complaint"]
        print_table(rows, columns, f"by {by}")
