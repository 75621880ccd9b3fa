"""`ee users ...`: operators and their roles (admin only, except the very first admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, print_json, print_table

app = typer.Typer(help="Operators and roles.", no_args_is_help=True)


@app.command("add")
def add(name: str, role: Annotated[str, typer.Option("--role", help="admin or user")] = "user") -> None:
    """Add an operator. The first admin may be created by root or while no admin exists."""
    from emailengine import service

    service.add_user(name, role)
    typer.echo(f"added {name} ({role})")


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List operators."""
    from emailengine import service

    rows = service.list_users()
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["name", "role", "created_at", "created_by"], title="operators", empty="no operators")


@app.command("remove")
def remove(name: str) -> None:
    """Remove an operator (admin)."""
    from emailengine import service

    service.remove_user(name)
    typer.echo(f"removed {name}")


@app.command("set-role")
def set_role(name: str, role: str) -> None:
    """Change an operator's role (admin)."""
    from emailengine import service

    service.set_user_role(name, role)
    typer.echo(f"{name} is now {role}")
