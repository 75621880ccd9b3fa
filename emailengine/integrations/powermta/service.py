"""PowerMTA use cases over the database: render, diff, apply (audited), queues.

The pure parts live in render.py/config.py; this module reads the rows, calls them, and does
the I/O through apply.py and mgmt.py.
"""

from __future__ import annotations

import difflib
import hashlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emailengine.errors import UsageError
from emailengine.integrations.powermta.render import DkimSpec, VmtaSpec, pools_of, render_managed

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from emailengine.config import Settings


@dataclass
class Rendered:
    text: str
    host: str
    ips: list[VmtaSpec]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def pools(self) -> list[dict[str, object]]:
        return pools_of(self.ips)


def current_host(settings: Settings) -> str:
    """EE_PMTA_HOST, or this machine's hostname when unset; '' means all hosts."""
    return socket.gethostname() if settings.pmta_host is None else settings.pmta_host


def host_names(settings: Settings) -> list[str]:
    """Names ips.host may use for this PowerMTA host ([] = all hosts): with EE_PMTA_HOST unset,
    both the short hostname and the FQDN, lower-cased (ips.host is stored normalised)."""
    if settings.pmta_host is None:
        return sorted({socket.gethostname().lower().rstrip("."), socket.getfqdn().lower().rstrip(".")})
    return [settings.pmta_host.lower().rstrip(".")] if settings.pmta_host else []


def load_specs(session: Session, hosts: list[str]) -> tuple[list[VmtaSpec], list[DkimSpec]]:
    """IPs of these hosts (all when empty; IPs without a host belong to every host) with their
    lane quotas, and the DKIM domains."""
    from sqlalchemy import select

    from emailengine.db.models import Domain, Ip, IpLane

    query = select(Ip).order_by(Ip.vmta)
    if hosts:
        query = query.where(Ip.host.in_([*hosts, ""]))
    ips = list(session.scalars(query))
    lanes: dict[int, dict[str, int]] = {}
    paused: dict[int, set[str]] = {}
    for lane in session.scalars(select(IpLane).where(IpLane.ip_id.in_([ip.id for ip in ips]))):
        lanes.setdefault(lane.ip_id, {})[lane.lane] = lane.daily_quota
        if lane.paused:
            paused.setdefault(lane.ip_id, set()).add(lane.lane)
    specs = [VmtaSpec(address=ip.address, hostname=ip.hostname, vmta=ip.vmta, pool=ip.pool, state=ip.state,
                      daily_quota=ip.daily_quota, hourly_quota=ip.hourly_quota, lanes=lanes.get(ip.id, {}),
                      paused_lanes=frozenset(paused.get(ip.id, set()))) for ip in ips]
    dkim = [DkimSpec(d.name, d.dkim_selector or "", d.dkim_key_path or "")
            for d in session.scalars(select(Domain).order_by(Domain.name))]
    return specs, dkim


def render_from_db(settings: Settings, engine: Engine) -> Rendered:
    from emailengine.db.engine import session_scope

    host = current_host(settings)
    with session_scope(engine) as session:
        specs, dkim = load_specs(session, host_names(settings))
        total = _count_ips(session)
    if total and not specs:
        # Rendering nothing would empty every pool: far more likely a host-name mismatch.
        raise UsageError(f"none of the {total} IPs belongs to PowerMTA host {host!r}",
                         "set EE_PMTA_HOST to the name used in `ee ip add --host` ('' = all hosts)")
    return Rendered(render_managed(specs, dkim, host), host, specs)


def _count_ips(session: Session) -> int:
    from sqlalchemy import func, select

    from emailengine.db.models import Ip

    return int(session.scalar(select(func.count()).select_from(Ip)) or 0)


def unified_diff(old: str, new: str, path: str) -> str:
    """A unified diff of the installed file against the rendered text ('' when equal)."""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"{path} (installed)", tofile=f"{path} (rendered)"))


def installed_text(settings: Settings) -> str:
    path = Path(settings.pmta_managed_config)
    return path.read_text(encoding="utf-8") if path.exists() else ""


def diff(settings: Settings, engine: Engine) -> dict[str, Any]:
    rendered = render_from_db(settings, engine)
    text = unified_diff(installed_text(settings), rendered.text, str(settings.pmta_managed_config))
    return {"path": str(settings.pmta_managed_config), "host": rendered.host, "changed": bool(text), "diff": text}


def apply(settings: Settings, engine: Engine, actor: str, *, dry_run: bool = False, reason: str = "manual",
          require_admin: bool = True, health_delay: float = 1.0) -> dict[str, Any]:
    """Render from the database and install it (see apply.apply_text); audit-logged.

    require_admin: checked for operator commands; jobs pushing a state change pass False
    (the state change itself was authorised). A failed apply is audited too, then re-raised.
    """
    from emailengine.db.engine import session_scope
    from emailengine.errors import EEError
    from emailengine.identity import require_role
    from emailengine.integrations.powermta.apply import apply_text

    if require_admin and not dry_run:
        with session_scope(engine) as session:
            require_role(session, actor, "admin")
    rendered = render_from_db(settings, engine)
    before = installed_text(settings)
    change = unified_diff(before, rendered.text, str(settings.pmta_managed_config))
    summary: dict[str, Any] = {"path": str(settings.pmta_managed_config), "host": rendered.host,
                               "sha256": rendered.sha256, "pools": rendered.pools(), "diff": change}
    try:
        result = apply_text(settings, rendered.text, dry_run=dry_run, health_delay=health_delay)
    except EEError as exc:
        _audit(engine, actor, before, rendered.sha256, {"outcome": "rolled-back", "error": exc.one_line(),
                                                        "reason": reason}, settings)
        raise
    summary.update(outcome=result.outcome, steps=result.steps, backup=result.backup)
    if result.outcome == "applied":
        _audit(engine, actor, before, rendered.sha256, {"outcome": "applied", "reason": reason}, settings)
    return summary


def _audit(engine: Engine, actor: str, before: str, new_sha: str, extra: dict[str, Any], settings: Settings) -> None:
    from emailengine import audit
    from emailengine.db.engine import session_scope

    old_sha = hashlib.sha256(before.encode()).hexdigest() if before else None
    with session_scope(engine) as session:
        audit.append(session, actor, "pmta.apply", str(settings.pmta_managed_config),
                     before={"sha256": old_sha}, after={"sha256": new_sha, **extra})


def queues(settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    """Top queues by recipients from the management API (TemporaryFailure when down/garbage)."""
    from emailengine.integrations.powermta.mgmt import PmtaClient, top_queues

    with PmtaClient.from_settings(settings) as client:
        return [q.as_dict() for q in top_queues(client.queues(), limit)]


def status(settings: Settings) -> dict[str, Any]:
    """Health and headline figures from the management API (TemporaryFailure when down/garbage)."""
    from emailengine.integrations.powermta.mgmt import PmtaClient, health

    with PmtaClient.from_settings(settings) as client:
        data = client.status()
        queued = client.queues()
    ok, text = health(data)
    inner = data.get("status") if isinstance(data.get("status"), dict) else {}
    traffic = (inner.get("traffic") or {}).get("lastMin", {}).get("out", {}) if isinstance(inner, dict) else {}
    conn = (inner.get("conn") or {}).get("smtpOut", {}) if isinstance(inner, dict) else {}
    return {"healthy": ok, "state": text, "version": ((data.get("mta") or {}).get("product") or {}).get("version"),
            "out_last_minute": traffic.get("rcp") if isinstance(traffic, dict) else None,
            "smtp_out_connections": conn.get("cur") if isinstance(conn, dict) else None,
            "queues": len(queued), "queued_rcpt": sum(q.rcp for q in queued),
            "backoff_queues": sum(1 for q in queued if q.mode == "backoff"),
            "paused_queues": sum(1 for q in queued if q.paused)}
