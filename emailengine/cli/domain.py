"""`ee domain ...`: sending domains with their DKIM, return-path and tracking domains."""

from __future__ import annotations

from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, print_json, print_table

app = typer.Typer(help="Sending domains.", no_args_is_help=True)


@app.command("add")
def add(
    name: str,
    dkim_selector: Annotated[str | None, typer.Option("--dkim-selector")] = None,
    dkim_key: Annotated[str | None, typer.Option("--dkim-key", help="Path of the private key PowerMTA signs with.")] = None,
    return_path_domain: Annotated[str | None, typer.Option("--return-path-domain")] = None,
    tracking_domain: Annotated[str | None, typer.Option("--tracking-domain")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a sending domain (admin)."""
    from emailengine import service

    domain = service.add_domain(name, dkim_selector, dkim_key, return_path_domain, tracking_domain)
    if as_json:
        print_json(domain)
    else:
        typer.echo(f"added {domain['name']}")


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List sending domains."""
    from emailengine import service

    rows = service.list_domains()
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["name", "dkim_selector", "return_path_domain", "tracking_domain"], title="domains",
                    empty="no domains (add one with `ee domain add`)")


@app.command("show")
def show(name: str, as_json: JsonOption = False) -> None:
    """Show one domain."""
    from emailengine import service

    data = service.show_domain(name)
    if as_json:
        print_json(data)
    else:
        print_table([{"field": k, "value": v} for k, v in data.items()], ["field", "value"], title=data["name"])


@app.command("remove")
def remove(name: str) -> None:
    """Remove a domain (admin)."""
    from emailengine import service

    service.remove_domain(name)
    typer.echo(f"removed {name}")
