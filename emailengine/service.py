"""The foundation's commands as functions: each opens one transaction, checks the actor's role,
calls the inventory/audit/identity logic and returns plain data for the CLI to render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emailengine.errors import Conflict, NotFound, PermissionDenied, UsageError


def _actor() -> str:
    from emailengine.config import get_settings
    from emailengine.identity import current_actor

    return current_actor(get_settings().actor)


def add_ip(address: str, hostname: str, vmta: str, pool: str, host: str, mailwizz_server_id: int | None,
           state: str) -> dict[str, Any]:
    """Add one IP (admin); return it."""
    from emailengine import inventory
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role

    spec = inventory.make_ip_spec(address, hostname, vmta, pool, host, mailwizz_server_id, state)
    actor = _actor()
    with session_scope() as session:
        require_role(session, actor, "admin")
        (ip,) = inventory.add_ips(session, [spec], actor)
        return inventory.ip_to_dict(ip)


def import_ips(path: Path) -> list[dict[str, Any]]:
    """Add every IP of a CSV file in one transaction (admin); all or none."""
    from emailengine import inventory
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    specs = inventory.parse_ip_csv(text)
    actor = _actor()
    with session_scope() as session:
        require_role(session, actor, "admin")
        return [inventory.ip_to_dict(ip) for ip in inventory.add_ips(session, specs, actor, reason=f"imported from {path.name}")]


def list_ips(state: str | None = None, pool: str | None = None) -> list[dict[str, Any]]:
    """Return IPs (optionally of one state or pool), ordered by address."""
    from sqlalchemy import select

    from emailengine import inventory
    from emailengine.db.engine import session_scope
    from emailengine.db.models import Ip
    from emailengine.lifecycle import parse_state

    query = select(Ip).order_by(Ip.family, Ip.address)
    if state:
        query = query.where(Ip.state == parse_state(state).value)
    if pool:
        query = query.where(Ip.pool == pool)
    with session_scope() as session:
        return [inventory.ip_to_dict(ip) for ip in session.scalars(query)]


def show_ip(address: str) -> dict[str, Any]:
    """Return an IP with its lanes, recent warmup decisions and full history."""
    from sqlalchemy import select

    from emailengine import inventory
    from emailengine.db.engine import session_scope
    from emailengine.db.models import IpLane, WarmupDecision

    with session_scope() as session:
        ip = inventory.get_ip(session, address)
        lanes = [
            {"lane": lane.lane, "plan_day": lane.plan_day, "daily_quota": lane.daily_quota,
             "sending_days": lane.sending_days, "idle_days": lane.idle_days, "paused": lane.paused}
            for lane in session.scalars(select(IpLane).where(IpLane.ip_id == ip.id).order_by(IpLane.lane))
        ]
        decisions = [
            {"day": d.day, "lane": d.lane, "decision": d.decision, "plan_day_before": d.plan_day_before,
             "plan_day_after": d.plan_day_after, "rule": d.rule, "figures": d.figures}
            for d in session.scalars(select(WarmupDecision).where(WarmupDecision.ip_id == ip.id)
                                     .order_by(WarmupDecision.day.desc(), WarmupDecision.lane).limit(30))
        ]
        return {"ip": inventory.ip_to_dict(ip), "lanes": lanes, "decisions": decisions,
                "history": inventory.ip_history(ip)}


def set_ip_state(address: str, state: str, reason: str) -> dict[str, Any]:
    """Move an IP to another state through the lifecycle table (admin), then tell the senders."""
    from emailengine import inventory
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role
    from emailengine.lifecycle import parse_state

    target = parse_state(state)
    actor = _actor()
    with session_scope() as session:
        require_role(session, actor, "admin")
        ip = inventory.get_ip(session, address)
        inventory.transition(session, ip, target, reason, actor)
        result = inventory.ip_to_dict(ip)
    _push_to_senders(actor, f"{address} set to {target.value} by {actor}: {reason}")
    return result


def _push_to_senders(actor: str, reason: str) -> None:
    from emailengine.config import get_settings
    from emailengine.db.engine import database_engine
    from emailengine.enforce import push_state_to_senders
    from emailengine.logs import logger

    result = push_state_to_senders(get_settings(), database_engine(), actor, reason)
    for message in result.messages:
        logger.info(message)


def remove_ip(address: str) -> None:
    """Remove an IP (admin)."""
    from emailengine import inventory
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role

    actor = _actor()
    with session_scope() as session:
        require_role(session, actor, "admin")
        inventory.remove_ip(session, address, actor)


def add_domain(name: str, dkim_selector: str | None, dkim_key: str | None, return_path_domain: str | None,
               tracking_domain: str | None) -> dict[str, Any]:
    """Add a sending domain (admin)."""
    from emailengine import inventory
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role

    actor = _actor()
    with session_scope() as session:
        require_role(session, actor, "admin")
        domain = inventory.add_domain(session, name, actor, dkim_selector, dkim_key, return_path_domain,
                                      tracking_domain)
        return inventory.domain_to_dict(domain)


def list_domains() -> list[dict[str, Any]]:
    """Return every domain, by name."""
    from sqlalchemy import select

    from emailengine import inventory
    from emailengine.db.engine import session_scope
    from emailengine.db.models import Domain

    with session_scope() as session:
        return [inventory.domain_to_dict(d) for d in session.scalars(select(Domain).order_by(Domain.name))]


def show_domain(name: str) -> dict[str, Any]:
    """Return one domain."""
    from emailengine import inventory
    from emailengine.db.engine import session_scope

    with session_scope() as session:
        return inventory.domain_to_dict(inventory.get_domain(session, name))


def remove_domain(name: str) -> None:
    """Remove a domain (admin)."""
    from emailengine import inventory
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role

    actor = _actor()
    with session_scope() as session:
        require_role(session, actor, "admin")
        inventory.remove_domain(session, name, actor)


def _check_role(role: str) -> str:
    from emailengine.identity import ROLES

    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}", "admin or user")
    return role


def add_user(name: str, role: str) -> None:
    """Add an operator. Root, or anyone while no admin exists, may create the first admin."""
    from sqlalchemy import func, select

    from emailengine import audit
    from emailengine.db.engine import session_scope
    from emailengine.db.models import Operator
    from emailengine.identity import require_role, validate_name

    name, role = validate_name(name), _check_role(role)
    actor = _actor()
    with session_scope() as session:
        admins = session.scalar(select(func.count()).select_from(Operator).where(Operator.role == "admin"))
        bootstrap = admins == 0 and role == "admin"
        if not bootstrap:
            require_role(session, actor, "admin")
        if session.scalar(select(Operator.id).where(Operator.name == name)) is not None:
            raise Conflict(f"operator {name} exists already", "use `ee users set-role`")
        session.add(Operator(name=name, role=role, created_by=actor))
        audit.append(session, actor, "users.add", name, None, {"role": role, "bootstrap": bootstrap})


def list_users() -> list[dict[str, Any]]:
    """Return operators."""
    from sqlalchemy import select

    from emailengine.db.engine import session_scope
    from emailengine.db.models import Operator

    with session_scope() as session:
        return [{"name": o.name, "role": o.role, "created_at": o.created_at, "created_by": o.created_by}
                for o in session.scalars(select(Operator).order_by(Operator.name))]


def _get_operator(session: Any, name: str) -> Any:
    from sqlalchemy import select

    from emailengine.db.models import Operator

    operator = session.scalar(select(Operator).where(Operator.name == name))
    if operator is None:
        raise NotFound(f"operator {name} does not exist", "see `ee users list`")
    return operator


def _admin_count(session: Any) -> int:
    from sqlalchemy import func, select

    from emailengine.db.models import Operator

    return session.scalar(select(func.count()).select_from(Operator).where(Operator.role == "admin"))


def remove_user(name: str) -> None:
    """Remove an operator (admin); the last admin cannot be removed."""
    from emailengine import audit
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role

    actor = _actor()
    with session_scope() as session:
        require_role(session, actor, "admin")
        operator = _get_operator(session, name)
        if operator.role == "admin" and _admin_count(session) == 1:
            raise PermissionDenied(f"{name} is the last admin", "add another admin first")
        session.delete(operator)
        audit.append(session, actor, "users.remove", name, {"role": operator.role}, None)


def set_user_role(name: str, role: str) -> None:
    """Change an operator's role (admin); the last admin cannot be demoted."""
    from emailengine import audit
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role

    role = _check_role(role)
    actor = _actor()
    with session_scope() as session:
        require_role(session, actor, "admin")
        operator = _get_operator(session, name)
        if operator.role == "admin" and role != "admin" and _admin_count(session) == 1:
            raise PermissionDenied(f"{name} is the last admin", "add another admin first")
        before = {"role": operator.role}
        operator.role = role
        audit.append(session, actor, "users.set-role", name, before, {"role": role})


def audit_log(since: str | None, actor: str | None, limit: int) -> list[dict[str, Any]]:
    """Return audit rows (admin), oldest first, at most `limit` of the newest."""
    from sqlalchemy import select

    from emailengine.db.engine import session_scope
    from emailengine.db.models import AuditEntry, utcnow
    from emailengine.identity import require_role
    from emailengine.timeutil import parse_since

    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, limit))
    if since:
        query = query.where(AuditEntry.at >= parse_since(since, utcnow()))
    if actor:
        query = query.where(AuditEntry.actor == actor)
    with session_scope() as session:
        require_role(session, _actor(), "admin")
        rows = list(session.scalars(query))
        return [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
                 "before": e.before, "after": e.after, "hash": e.hash} for e in reversed(rows)]


def audit_verify() -> dict[str, Any]:
    """Verify the chain (admin); return ok, row count and the first broken row."""
    from emailengine import audit
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role

    with session_scope() as session:
        require_role(session, _actor(), "admin")
        rows = audit.load_rows(session)
    broken = audit.first_broken(rows)
    if broken is None:
        return {"ok": True, "rows": len(rows), "broken_id": None, "why": None}
    row, why = broken
    return {"ok": False, "rows": len(rows), "broken_id": row.id, "why": why}
