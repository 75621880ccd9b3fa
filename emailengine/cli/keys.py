"""`ee keys ...`: the webhook signing key ring (admin-only, audit-logged; secrets shown once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emailengine.cli._shared import JsonOption, print_json, print_table

app = typer.Typer(help="Webhook signing keys: rotate, list, revoke.", no_args_is_help=True)

LIST_COLUMNS = ["kid", "created", "expires", "current", "revoked", "usable"]


def _actor_and_engine():  # noqa: ANN202 - internal helper
    from emailengine.cli._shared import settings
    from emailengine.db.engine import database_engine
    from emailengine.identity import current_actor

    return current_actor(settings().actor), database_engine()


@app.command("rotate")
def rotate(
    grace: Annotated[str, typer.Option("--grace", help="How long earlier keys still verify: 7d, 12h, 30m.")] = "7d",
    out: Annotated[Path | None, typer.Option("--out", help="Write {kid, secret} to this file (mode 0600) instead of stdout.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a new current signing key (admin). The secret is shown once, or written to --out."""
    from emailengine.db.models import utcnow
    from emailengine.errors import UsageError
    from emailengine.forwarding import keys
    from emailengine.forwarding.signing import parse_duration

    try:
        grace_period = parse_duration(grace)
    except ValueError as error:
        raise UsageError(str(error)) from None
    actor, engine = _actor_and_engine()
    key = keys.rotate(engine, actor, utcnow(), grace_period, out)
    data = {"kid": key.kid, "created": key.created_at.isoformat()}
    if out is None:
        data["secret"] = key.secret
    else:
        data["written_to"] = str(out)
    if as_json:
        print_json(data)
    elif out is None:
        typer.echo(f"new current key {key.kid}")
        typer.echo(f"secret (shown once; give it to the receiver): {key.secret}")
    else:
        typer.echo(f"new current key {key.kid}; secret written to {out} (mode 0600)")


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List keys (admin): id, created, expires, current, revoked — never the secret."""
    from emailengine.db.models import utcnow
    from emailengine.forwarding.keys import list_keys

    actor, engine = _actor_and_engine()
    rows = list_keys(engine, actor, utcnow())
    if as_json:
        print_json(rows)
    else:
        print_table(rows, LIST_COLUMNS, title="signing keys", empty="no signing keys (create one with `ee keys rotate`)")


@app.command("revoke")
def revoke(kid: Annotated[str, typer.Argument(help="The key id to revoke.")], as_json: JsonOption = False) -> None:
    """Revoke a key at once (admin): it no longer signs or verifies."""
    from emailengine.db.models import utcnow
    from emailengine.forwarding import keys

    actor, engine = _actor_and_engine()
    keys.revoke(engine, actor, kid, utcnow())
    if as_json:
        print_json({"revoked": kid})
    else:
        typer.echo(f"revoked {kid}")
