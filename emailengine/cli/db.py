"""`ee db upgrade|current|downgrade`: the schema, through Alembic."""

from __future__ import annotations

from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, print_json

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


def _engine():  # noqa: ANN202 - an Engine, imported lazily
    from emailengine.cli._shared import settings
    from emailengine.db.engine import create_engine_for

    return create_engine_for(settings().effective_database_url())


@app.command("upgrade")
def upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the database schema up to REVISION (default: the newest)."""
    from emailengine.db.migrate import current_revision
    from emailengine.db.migrate import upgrade as do_upgrade

    engine = _engine()
    before = current_revision(engine)
    do_upgrade(engine, revision)
    typer.echo(f"schema: {before or 'empty'} → {current_revision(engine)}")


@app.command("current")
def current(as_json: JsonOption = False) -> None:
    """Print the database's schema revision and the one this ee needs."""
    from emailengine.db.migrate import SCHEMA_HEAD, current_revision

    revision = current_revision(_engine())
    data = {"current": revision, "head": SCHEMA_HEAD, "up_to_date": revision == SCHEMA_HEAD}
    if as_json:
        print_json(data)
    else:
        state = "up to date" if data["up_to_date"] else "outdated: run `ee db upgrade`"
        typer.echo(f"{revision or 'empty'} (head {SCHEMA_HEAD}, {state})")


@app.command("downgrade")
def downgrade(revision: Annotated[str, typer.Argument(help="Revision to go down to, e.g. 0001 or base.")]) -> None:
    """Migrate the database schema down to REVISION."""
    from emailengine.db.migrate import current_revision
    from emailengine.db.migrate import downgrade as do_downgrade

    engine = _engine()
    before = current_revision(engine)
    do_downgrade(engine, revision)
    typer.echo(f"schema: {before or 'empty'} → {current_revision(engine) or 'empty'}")
