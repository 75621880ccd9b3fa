"""Who runs a command, and what their role allows. Identity comes from the OS: `ee` has no
network API, so operators run `sudo -u emailengine ee ...` and SUDO_USER names them.
"""

from __future__ import annotations

import getpass
import os
import re
from typing import TYPE_CHECKING

from emailengine.errors import PermissionDenied, UsageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ROLES = ("admin", "user")
SYSTEM_ACTOR = "system"
_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")


def validate_name(name: str) -> str:
    """Return an operator name if it is a valid POSIX-style user name; raise UsageError otherwise."""
    if not _NAME.match(name):
        raise UsageError(f"invalid operator name {name!r}", "lowercase letters, digits, _ . -")
    return name


def current_actor(fallback: str = "") -> str:
    """Return the actor: SUDO_USER, `system` under a systemd service, the OS user, or EE_ACTOR."""
    sudo_user = os.environ.get("SUDO_USER")
    if sudo_user:
        return sudo_user
    if os.environ.get("INVOCATION_ID") and not os.isatty(0):
        return SYSTEM_ACTOR
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return fallback or "unknown"


def is_root() -> bool:
    """Return whether the process runs as root without sudo naming a person."""
    return os.geteuid() == 0 and not os.environ.get("SUDO_USER")


def role_of(session: Session, actor: str) -> str | None:
    """Return the actor's role: root and `system` act as admin; operators as stored; else None."""
    if actor == SYSTEM_ACTOR or (is_root() and actor in ("root", current_actor())):
        return "admin"
    from sqlalchemy import select

    from emailengine.db.models import Operator

    return session.scalar(select(Operator.role).where(Operator.name == actor))


def require_role(session: Session, actor: str, role: str = "admin") -> None:
    """Raise PermissionDenied unless the actor has the role (admin satisfies user)."""
    have = role_of(session, actor)
    if have is None:
        raise PermissionDenied(f"{actor} is not an ee operator", "an admin adds operators with `ee users add`")
    if role == "admin" and have != "admin":
        raise PermissionDenied(f"{actor} has role {have}; this command needs admin")
