"""Where state lives: setting → systemd directory → XDG → home default (borgmatic's order)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """Return the directory for the default SQLite database and other durable state.

    systemd's `StateDirectory=` (exported as $STATE_DIRECTORY) wins, then $XDG_DATA_HOME,
    then ~/.local/share.
    """
    systemd_state = os.environ.get("STATE_DIRECTORY")
    if systemd_state:
        return Path(systemd_state.split(":")[0])
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "emailengine"


def runtime_dir() -> Path:
    """Return the directory for lock files: $RUNTIME_DIRECTORY, $XDG_RUNTIME_DIR, or the state dir."""
    systemd_runtime = os.environ.get("RUNTIME_DIRECTORY")
    if systemd_runtime:
        return Path(systemd_runtime.split(":")[0])
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "emailengine"
    return state_dir() / "run"


def default_database_url() -> str:
    """Return the embedded SQLite default, a file in the state directory."""
    return f"sqlite:///{state_dir() / 'ee.db'}"


def default_spool_dir() -> Path:
    """Return the default spool directory for `ee bounce-pipe`."""
    return state_dir() / "spool"
