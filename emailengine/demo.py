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
    _reset_demo_database(database)
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


def _reset_demo_database(database: Path) -> None:
    """Start from an empty file: remove an earlier demo database, refuse any other file."""
    from emailengine.errors import UsageError

    marker = database.with_name(database.name + ".ee-demo")
    if database.exists():
        if not marker.exists():
            raise UsageError(f"{database} exists and is not an ee demo database", "give a new path to --db")
        for leftover in (database, database.with_name(database.name + "-wal"),
                         database.with_name(database.name + "-shm")):
            leftover.unlink(missing_ok=True)
    database.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("created by `ee demo`; the demo may replace this database\n")


def load_parts() -> list[tuple[str, Callable[[DemoContext], list[str]] | None]]:
    """Return (title, run_demo function or None when the part is not built) for every part."""
    parts = []
    for title, module_name in PARTS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if not error.name or not module_name.startswith(error.name):
                raise
            parts.append((title, None))
            continue
        parts.append((title, module.run_demo))
    return parts


DEMO_IPS = (
    ("198.51.100.10", "ACTIVE"),
    ("198.51.100.11", "WARMING"),
    ("198.51.100.12", "ACTIVE"),
    ("198.51.100.13", "WARMING"),
    ("198.51.100.14", "ACTIVE"),
    ("2001:db8::10", "WARMING"),
)

# The lifecycle walk the foundation part shows on 198.51.100.14.
LIFECYCLE_WALK = (
    ("RETIRING", "monthly rotation: block rate 6.1% over the last 30 days"),
    ("RESTING", "ramp-down finished"),
    ("WARMING", "rest period over: re-warm from day 8"),
)


def foundation_part(demo: DemoContext) -> list[str]:
    """Add the example inventory and walk one IP through real lifecycle transitions."""
    from sqlalchemy.orm import Session

    from emailengine import audit, inventory
    from emailengine.db.models import Operator
    from emailengine.lifecycle import State

    dkim_path = demo.workdir / "dkim" / "example.net.s1.pem"
    demo.data["dkim_key_path"] = dkim_path
    with Session(demo.engine) as session, session.begin():
        session.add(Operator(name="demo", role="admin", created_by="demo"))
        audit.append(session, demo.actor, "users.add", "demo", None, {"role": "admin"})
        specs = [
            inventory.make_ip_spec(address, f"mta{address.split('.')[-1].split(':')[-1]}.example.net",
                                   f"vmta-{address.split('.')[-1].split(':')[-1]}" + ("-v6" if ":" in address else ""),
                                   "main", "", index + 1, state)
            for index, (address, state) in enumerate(DEMO_IPS)
        ]
        inventory.add_ips(session, specs, demo.actor, reason="demo inventory")
        inventory.add_domain(session, "example.net", demo.actor, "s1", str(dkim_path), "bounce.example.net",
                             "click.example.net")
        inventory.add_domain(session, "example.org", demo.actor, return_path_domain="bounce.example.org")
        walker = inventory.get_ip(session, "198.51.100.14")
        for target, reason in LIFECYCLE_WALK:
            inventory.transition(session, walker, State(target), reason, demo.actor)
        try:
            inventory.transition(session, walker, State.QUARANTINE, "not allowed", demo.actor)
        except Exception as error:  # noqa: BLE001 - the refusal is what we show
            refused = error.one_line() if hasattr(error, "one_line") else str(error)
    with Session(demo.engine) as session:
        ips = [inventory.ip_to_dict(ip) for ip in _all_ips(session)]
        history = inventory.ip_history(inventory.get_ip(session, "198.51.100.14"))
    demo.show(ips, ["address", "vmta", "pool", "state", "hostname"], "inventory")
    demo.show(history, ["at", "from", "to", "reason", "actor"], "history of 198.51.100.14")
    demo.say(f"illegal transition refused: {refused}")
    return [f"{len(ips)} IPs and 2 domains added; 198.51.100.14 walked ACTIVE → RETIRING → RESTING → WARMING",
            "an illegal WARMING → QUARANTINE change was refused"]


def _all_ips(session: Any) -> list[Any]:
    from sqlalchemy import select

    from emailengine.db.models import Ip

    return list(session.scalars(select(Ip).order_by(Ip.family, Ip.address)))


def closing_part(demo: DemoContext) -> list[str]:
    """Show the audit trail and verify its chain."""
    from sqlalchemy.orm import Session

    from emailengine import audit

    with Session(demo.engine) as session:
        rows = audit.load_rows(session)
    demo.show([{"id": r.id, "at": r.at, "actor": r.actor, "action": r.action, "target": r.target} for r in rows[-12:]],
              ["id", "at", "actor", "action", "target"], f"audit log (last {min(12, len(rows))} of {len(rows)})")
    broken = audit.first_broken(rows)
    return [f"audit trail: {len(rows)} rows, chain {'intact' if broken is None else 'BROKEN'}"]


@dataclass
class DemoReport:
    workdir: Path
    database_url: str
    parts: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return all(part["status"] != "failed" for part in self.parts)


def run_demo(demo: DemoContext) -> DemoReport:
    """Run the foundation part, every capability part, and the closing part; collect a summary."""
    from emailengine.errors import EEError

    steps: list[tuple[str, Callable[[DemoContext], list[str]] | None]] = [("foundation", foundation_part)]
    steps += load_parts()
    steps.append(("audit trail", closing_part))
    report = DemoReport(demo.workdir, str(demo.engine.url), [])
    for title, function in steps:
        if function is None:
            report.parts.append({"part": title, "status": "not built yet", "lines": []})
            continue
        demo.say(f"\n[bold]── {title} ──[/bold]")
        try:
            lines = function(demo)
            report.parts.append({"part": title, "status": "ok", "lines": lines})
        except (EEError, Exception) as error:  # noqa: BLE001 - one failing part must not hide the rest
            message = error.one_line() if isinstance(error, EEError) else f"{type(error).__name__}: {error}"
            demo.say(f"[red]{title} failed: {message}[/red]")
            report.parts.append({"part": title, "status": "failed", "lines": [message]})
    return report
