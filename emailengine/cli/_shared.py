"""What every command module shares: option aliases, output rendering, the error edge.

Imports only typer and the standard library at module level; rich is loaded when rendering.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from emailengine.config import Settings
    from emailengine.jobs import JobContext

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]


def settings() -> Settings:
    """Return the loaded settings (ConfigError surfaces at the edge as exit 2)."""
    from emailengine.config import get_settings

    return get_settings()


def print_json(data: Any) -> None:
    """Print data as JSON on stdout (datetimes and paths as strings)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None,
                empty: str = "nothing to show") -> None:
    """Print rows as a rich table (plain when stdout is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not rows:
        console.print(empty)
        return
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    console.print(table)


def print_lines(lines: Iterable[str]) -> None:
    """Print text lines with rich markup."""
    from rich.console import Console

    console = Console()
    for line in lines:
        console.print(line)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="seconds") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def fail(message: str, hint: str | None = None, code: int = 2) -> NoReturn:
    """Print `error: message (hint)` on stderr and exit with code."""
    text = f"{message} ({hint})" if hint else message
    sys.stderr.write(f"error: {' '.join(text.split())}\n")
    raise typer.Exit(code)


def exit_for_job(ctx: JobContext) -> None:
    """Exit with the code the job runner decided (returns normally on success)."""
    result = ctx.summary.get("_result")
    code = result.exit_code if result else 0
    if code:
        raise typer.Exit(code)
