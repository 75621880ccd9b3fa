"""`ee demo`: the whole product on the embedded SQLite default, in a database of its own.

The foundation part adds example IPs and domains and walks them through real transitions;
each capability adds its own part in `emailengine/<area>/demo.py` (a `run_demo(demo)` function
returning summary lines), using loopback stand-ins for what cannot run here.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from emailengine.config import Settings

# Capability parts, in the order the data flows (DESIGN.md §3). A part that is not built yet
# is left out of the run and named in the summary.
PARTS: tuple[tuple[str, str], ...] = (
    ("bounce pipeline", "emailengine.bounces.demo"),
    ("warmup and lifecycle", "emailengine.warmup.demo"),
    ("PowerMTA and MailWizz", "emailengine.integrations.demo"),
    ("blocklists", "emailengine.blocklists.demo"),
    ("DNS validation", "emailengine.dnscheck.demo"),
    ("forwarding", "emailengine.forwarding.demo"),
    ("operations", "emailengine.ops_demo"),
)


@dataclass
class DemoContext:
    """What a demo part gets: its own settings, engine and scratch directory, and output hooks."""

    settings: Settings
    engine: Engine
    workdir: Path
    say: Callable[[str], None]
    show: Callable[[list[dict[str, Any]], list[str], str], None]
    actor: str = "demo"
    data: dict[str, Any] = field(default_factory=dict)  # parts may pass things to later parts


def prepare_environment(db_path: Path | None, workdir: Path | None = None) -> tuple[Path, str]:
    """Point EE_* settings at a scratch directory and database; return (workdir, database URL).

    Never touches the operator's database: the demo runs in its own directory (a fresh one
    unless --db names a file).
    """
    from emailengine.config import get_settings
    from emailengine.db.engine import dispose_engines

    workdir = workdir or Path(tempfile.mkdtemp(prefix="ee-demo-"))
    database = db_path or workdir / "demo.db"
    for name in list(os.environ):
        if name.startswith("EE_") and name not in ("EE_LOG_FORMAT", "EE_LOG_LEVEL", "EE_DEBUG"):
            del os.environ[name]
    os.environ.update({
        "EE_DATABASE_URL": f"sqlite:///{database}",
        "EE_SPOOL_DIR": str(workdir / "spool"),
        "EE_METRICS_TEXTFILE_DIR": str(workdir / "metrics"),
        "EE_PMTA_MANAGED_CONFIG": str(workdir / "pmta" / "ee-managed.conf"),
        "EE_ENV_FILE": str(workdir / "demo.env"),
        "EE_ACTOR": "demo",
    })
    (workdir / "demo.env").write_text("# ee demo: settings come from the environment\n")
    os.environ["XDG_RUNTIME_DIR"] = str(workdir / "run")
    get_settings.cache_clear()
    dispose_engines()
    return workdir, f"sqlite:///{database}"


def load_parts() -> list[tuple[str, Callable[[DemoContext], list[str]] | None]]:
    """Return (title, run_demo function or None when the part is not built) for every part."""
    parts = []
    for title, module_name in PARTS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            parts.append((title, None))
            continue
        parts.append((title, module.run_demo))
    return parts
