"""The signing key ring in the database: rotate, list, revoke (admin-only, audit-logged), load.

Secrets live in `signing_keys.secret` because every `ee forward retry` run signs with the
current key. They are returned only by `rotate` (to be shown once or written to a 0600 file)
and by `load_ring` (for signing and verifying in-process); never logged, listed or audited.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emailengine.errors import Conflict, NotFound, UsageError
from emailengine.forwarding.signing import KeyData, new_kid, new_secret, rotation_plan

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

DEFAULT_GRACE = timedelta(days=7)


@dataclass(frozen=True)
class NewKey:
    kid: str
    secret: str
    created_at: datetime
    written_to: Path | None


def load_ring(session: Session) -> list[KeyData]:
    """Return every key (with secrets) as plain data, newest first."""
    from sqlalchemy import select

    from emailengine.db.models import SigningKey

    rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.id.desc()))
    return [KeyData(r.kid, r.secret, r.created_at, r.expires_at, r.current, r.revoked_at) for r in rows]


def key_rows(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Return the ring for display: id, created, expires, current, revoked, usable — never the secret."""
    return [{
        "kid": key.kid,
        "created": key.created_at,
        "expires": key.expires_at,
        "current": key.current,
        "revoked": key.revoked_at,
        "usable": key.usable_for_verify(now) is None,
    } for key in load_ring(session)]


def list_keys(engine: Engine, actor: str, now: datetime) -> list[dict[str, Any]]:
    """Return the key rows (admin only): id, created, expires, current, revoked — never the secret."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        require_admin(session, actor)
        return key_rows(session, now)


def rotate(engine: Engine, actor: str, now: datetime, grace: timedelta = DEFAULT_GRACE,
           out: Path | None = None) -> NewKey:
    """Create a new current key; earlier current keys verify for `grace` more. Admin only.

    With `out`, the secret is written to that file (mode 0600) inside the transaction, so a
    failed write creates no key.
    """
    from sqlalchemy import update

    from emailengine import audit
    from emailengine.db.engine import session_scope
    from emailengine.db.models import SigningKey
    from emailengine.identity import require_role

    if out is not None and out.exists() and out.is_dir():
        raise UsageError(f"{out} is a directory", "give a file path for --out")
    with session_scope(engine) as session:
        require_role(session, actor, "admin")
        ring = load_ring(session)
        plan = rotation_plan(ring, now, grace)
        for kid, until in plan.items():
            session.execute(update(SigningKey).where(SigningKey.kid == kid).values(current=False, expires_at=until))
        key = NewKey(new_kid(now), new_secret(), now, out)
        session.add(SigningKey(kid=key.kid, secret=key.secret, created_at=now, created_by=actor, current=True))
        session.flush()
        audit.append(session, actor, "keys.rotate", key.kid,
                     before={"current": sorted(plan)},
                     after={"current": key.kid, "previous_expire": {k: v.isoformat() for k, v in plan.items()}})
        if out is not None:
            write_secret_file(out, key)
    return key


def write_secret_file(path: Path, key: NewKey) -> None:
    """Write {"kid", "secret", "created_at"} to path with mode 0600 (replacing any old file)."""
    data = json.dumps({"kid": key.kid, "secret": key.secret, "created_at": key.created_at.isoformat()}) + "\n"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(descriptor, 0o600)  # an existing file keeps its mode otherwise
            os.write(descriptor, data.encode())
        finally:
            os.close(descriptor)
    except OSError as error:
        raise UsageError(f"cannot write the key file {path}: {error.strerror}") from None


def revoke(engine: Engine, actor: str, kid: str, now: datetime) -> None:
    """Revoke a key at once: it no longer signs or verifies. Admin only."""
    from sqlalchemy import select

    from emailengine import audit
    from emailengine.db.engine import session_scope
    from emailengine.db.models import SigningKey

    with session_scope(engine) as session:
        require_admin(session, actor)
        row = session.scalar(select(SigningKey).where(SigningKey.kid == kid))
        if row is None:
            raise NotFound(f"no signing key {kid}", "see `ee keys list`")
        if row.revoked_at is not None:
            raise Conflict(f"key {kid} is already revoked")
        before = {"current": row.current, "revoked": None}
        row.revoked_at = now
        row.current = False
        audit.append(session, actor, "keys.revoke", kid, before=before,
                     after={"current": False, "revoked": now.isoformat()})


def require_admin(session: Session, actor: str) -> None:
    from emailengine.identity import require_role

    require_role(session, actor, "admin")


def load_keys_file(path: Path) -> list[KeyData]:
    """Read keys a receiver holds: one {"kid","secret"} object, a list of them, or {kid: secret}."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read keys file {path}: {error}") from None
    from datetime import UTC

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    if isinstance(data, dict) and "kid" in data:
        data = [data]
    if isinstance(data, dict):
        data = [{"kid": k, "secret": v} for k, v in data.items()]
    if not isinstance(data, list) or not all(isinstance(i, dict) and "kid" in i and "secret" in i for i in data):
        raise UsageError(f"keys file {path} must hold {{kid, secret}} objects")
    keys = []
    for item in data:
        expires = item.get("expires_at")
        keys.append(KeyData(str(item["kid"]), str(item["secret"]), epoch,
                            datetime.fromisoformat(expires) if expires else None))
    return keys
