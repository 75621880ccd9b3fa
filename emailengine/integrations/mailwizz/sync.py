"""`ee sync-quotas`: make each mapped MailWizz delivery server match its IP's lifecycle state.

Reads IPs (with mailwizz_server_id) from our database, locks the server rows in MailWizz's
database, plans with quotas.plan_sync, writes only the differences in the same transaction,
audits them, then (when the REST API is configured) reads the servers back and reports any
whose status differs from what was written. MailWizz unreachable → nothing changed, alert,
TemporaryFailure (exit 75).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from emailengine.errors import ConfigError, EEError, UsageError
from emailengine.integrations.mailwizz import mysql
from emailengine.integrations.mailwizz.quotas import CACHE_NOTE, IpInput, Plan, plan_sync

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from emailengine.config import Settings


def load_inputs(engine: Engine) -> list[IpInput]:
    """Mapped IPs with the time their quota was last known fresh (warmup decision or state change)."""
    from sqlalchemy import func, select

    from emailengine.db.engine import session_scope
    from emailengine.db.models import Ip, WarmupDecision

    with session_scope(engine) as session:
        latest = dict(session.execute(select(WarmupDecision.ip_id, func.max(WarmupDecision.created_at))
                                      .group_by(WarmupDecision.ip_id)).all())
        ips = session.scalars(select(Ip).where(Ip.mailwizz_server_id.is_not(None)).order_by(Ip.address))
        return [IpInput(ip.address, ip.state, int(ip.mailwizz_server_id), ip.daily_quota, ip.hourly_quota,
                        _latest(latest.get(ip.id), ip.state_since)) for ip in ips]


def _latest(*stamps: datetime | None) -> datetime | None:
    known = [s.replace(tzinfo=UTC) if s.tzinfo is None else s for s in stamps if s is not None]
    return max(known) if known else None


def _transaction(settings: Settings, inputs: list[IpInput], dry_run: bool, now: datetime) -> Plan:
    """One MailWizz transaction: lock rows, plan, write the changes (or roll back on dry run)."""
    assert settings.mailwizz_db_url is not None
    connection = mysql.connect(settings.mailwizz_db_url.get_secret_value(), settings.mailwizz_timeout)
    try:
        with connection.cursor() as cursor:
            servers = mysql.read_servers(cursor, settings.mailwizz_table_prefix,
                                         sorted({i.server_id for i in inputs}), lock=not dry_run)
            plan = plan_sync(inputs, servers, settings.active_daily_quota, settings.active_hourly_quota, now,
                             timedelta(hours=settings.mailwizz_stale_hours))
            if not dry_run:
                for change in plan.changes:
                    mysql.write_change(cursor, settings.mailwizz_table_prefix, change["server_id"], change["after"])
        if dry_run:
            connection.rollback()
        else:
            connection.commit()
        return plan
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()


def sync_quotas(settings: Settings, engine: Engine, actor: str, *, dry_run: bool = False,
                now: datetime | None = None, require_admin: bool = True) -> dict[str, Any]:
    """Plan (and unless dry_run, write) the MailWizz changes; return a report dict."""
    import pymysql

    from emailengine.alerts import send_alert

    if settings.mailwizz_db_url is None:
        raise ConfigError("EE_MAILWIZZ_DB_URL is not set", "mysql+pymysql://user:pass@host/mailwizz")
    if require_admin and not dry_run:
        _require_admin(engine, actor)
    now = now or datetime.now(UTC)
    inputs = load_inputs(engine)
    try:
        plan = mysql.with_retries(lambda: _transaction(settings, inputs, dry_run, now))
    except pymysql.err.OperationalError as exc:
        error = mysql.temporary(exc)
        send_alert("mailwizz:db", "MailWizz database unreachable", error.one_line(), severity="critical",
                   action="check the MariaDB server and EE_MAILWIZZ_DB_URL; quotas were not synced")
        raise error from exc
    except pymysql.err.ProgrammingError as exc:
        raise UsageError(f"MailWizz database: {mysql.describe_error(exc)}",
                         f"is EE_MAILWIZZ_TABLE_PREFIX ({settings.mailwizz_table_prefix!r}) right?") from exc
    report: dict[str, Any] = {"dry_run": dry_run, "mapped_ips": len(inputs), "changes": plan.changes,
                              "skipped": plan.skipped, "unchanged": len(plan.unchanged), "note": CACHE_NOTE}
    if plan.changes and not dry_run:
        _audit(engine, actor, plan)
        report["readback"] = readback(settings, plan)
    return report


def _require_admin(engine: Engine, actor: str) -> None:
    from emailengine.db.engine import session_scope
    from emailengine.identity import require_role

    with session_scope(engine) as session:
        require_role(session, actor, "admin")


def _audit(engine: Engine, actor: str, plan: Plan) -> None:
    from emailengine import audit
    from emailengine.db.engine import session_scope

    with session_scope(engine) as session:
        for change in plan.changes:
            audit.append(session, actor, "mailwizz.quota", f"delivery_server:{change['server_id']}",
                         before=change["before"], after={**change["after"], "ip": change["ip"]})


def readback(settings: Settings, plan: Plan) -> list[str]:
    """Read the written servers back through the REST API; return lines about mismatches.

    2.1.13's API lists only the key's customer's servers, so system servers are "not visible".
    """
    if not settings.mailwizz_api_url or settings.mailwizz_api_key is None:
        return ["REST API not configured: status not read back"]
    from emailengine.integrations.mailwizz.api import list_delivery_servers

    try:
        visible = {int(r.get("server_id", 0)): r for r in list_delivery_servers(settings)}
    except EEError as exc:
        return [f"read-back through the API failed: {exc.one_line()}"]
    lines = []
    for change in plan.changes:
        record = visible.get(int(change["server_id"]))
        if record is None:
            lines.append(f"server {change['server_id']}: not visible to the API key (system server?)")
        elif str(record.get("status")) != change["after"]["status"]:
            lines.append(f"server {change['server_id']}: API shows status {record.get('status')!r}, "
                         f"wrote {change['after']['status']!r}")
    return lines or ["API read-back: statuses match"]


def check(settings: Settings) -> list[dict[str, str]]:
    """`ee mailwizz check`: test the database path and the REST API path; say which work."""
    return [_check_db(settings), _check_api(settings)]


def _check_db(settings: Settings) -> dict[str, str]:
    if settings.mailwizz_db_url is None:
        return {"path": "database", "ok": "no", "detail": "EE_MAILWIZZ_DB_URL not set"}
    try:
        connection = mysql.connect(settings.mailwizz_db_url.get_secret_value(), timeout=5)
    except EEError as exc:
        return {"path": "database", "ok": "no", "detail": exc.one_line()}
    except Exception as exc:  # noqa: BLE001 - report any driver error as one line
        return {"path": "database", "ok": "no", "detail": mysql.describe_error(exc)}
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) AS n, SUM(warmup_plan_id IS NOT NULL) AS w "  # noqa: S608
                           f"FROM {mysql.table(settings.mailwizz_table_prefix)}")
            row = cursor.fetchone() or {}
        return {"path": "database", "ok": "yes",
                "detail": f"{row.get('n', 0)} delivery servers, {int(row.get('w') or 0)} with a MailWizz warmup plan"}
    except Exception as exc:  # noqa: BLE001
        return {"path": "database", "ok": "no", "detail": mysql.describe_error(exc)}
    finally:
        connection.close()


def _check_api(settings: Settings) -> dict[str, str]:
    label = f"REST API {int(settings.mailwizz_api_version)}.x"
    if not settings.mailwizz_api_url:
        return {"path": label, "ok": "no", "detail": "EE_MAILWIZZ_API_URL not set"}
    from emailengine.integrations.mailwizz.api import list_delivery_servers

    try:
        servers = list_delivery_servers(settings)
    except EEError as exc:
        return {"path": label, "ok": "no", "detail": exc.one_line()}
    return {"path": label, "ok": "yes", "detail": f"{len(servers)} delivery servers visible to the key"}


def plan_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten changes into table rows (before → after)."""
    rows = []
    for change in report["changes"]:
        before, after = change["before"], change["after"]
        rows.append({"server": change["server_id"], "ip": change["ip"], "state": change["state"],
                     "status": _arrow(before["status"], after["status"]),
                     "hourly": _arrow(before["hourly_quota"], after["hourly_quota"]),
                     "daily": _arrow(before["daily_quota"], after["daily_quota"]), "why": change["note"]})
    return rows


def _arrow(before: Any, after: Any) -> str:
    return str(after) if before == after else f"{before} → {after}"

