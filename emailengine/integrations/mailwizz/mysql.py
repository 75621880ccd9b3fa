"""MailWizz's MySQL/MariaDB database: read delivery servers, write quota/status changes.

MailWizz's API cannot change delivery-server quotas or status (mailwizz.md §2), so writes go
to `{prefix}delivery_server` directly, all in one transaction, touching only `status`,
`hourly_quota`, `daily_quota` and `last_updated`, never a row with `warmup_plan_id` set (the
UPDATE re-checks it). Connection errors → TemporaryFailure (exit 75).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from emailengine.errors import ConfigError, TemporaryFailure
from emailengine.integrations.mailwizz.quotas import ServerRow

if TYPE_CHECKING:
    import pymysql

T = TypeVar("T")
TRANSIENT_CODES = frozenset({1205, 1213, 2003, 2006, 2013})  # lock wait, deadlock, can't connect, gone away, lost
PREFIX_RE = re.compile(r"^[A-Za-z0-9_]{0,32}$")


def table(prefix: str, name: str = "delivery_server") -> str:
    """The quoted table name; the prefix is validated (it is spliced into SQL)."""
    if not PREFIX_RE.match(prefix):
        raise ConfigError(f"invalid MailWizz table prefix {prefix!r}")
    return f"`{prefix}{name}`"


def connect(url: str, timeout: float = 10.0) -> pymysql.connections.Connection:
    """Open a pymysql connection from `mysql+pymysql://user:pass@host:port/db` (autocommit off)."""
    import pymysql
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - any parse error is a config error
        raise ConfigError("EE_MAILWIZZ_DB_URL is not a database URL", "mysql+pymysql://user:pass@host/db") from exc
    if not parsed.database:
        raise ConfigError("EE_MAILWIZZ_DB_URL names no database")
    return pymysql.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 3306, user=parsed.username or "",
                           password=parsed.password or "", database=parsed.database, charset="utf8mb4",
                           connect_timeout=int(timeout), read_timeout=int(timeout) * 3,
                           write_timeout=int(timeout) * 3, autocommit=False,
                           cursorclass=pymysql.cursors.DictCursor)


def is_transient(error: BaseException) -> bool:
    import pymysql

    return isinstance(error, pymysql.err.OperationalError) and bool(error.args) and error.args[0] in TRANSIENT_CODES


def with_retries(func: Callable[[], T], attempts: int = 3) -> T:
    """Run func, retrying transient MySQL errors (tenacity, short exponential waits)."""
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    runner = retry(retry=retry_if_exception(is_transient), stop=stop_after_attempt(attempts),
                   wait=wait_exponential(multiplier=0.2, max=2), reraise=True)(func)
    return runner()


def read_servers(cursor: Any, prefix: str, server_ids: list[int], lock: bool = False) -> dict[int, ServerRow]:
    """The delivery-server rows with these ids (FOR UPDATE when lock)."""
    if not server_ids:
        return {}
    marks = ", ".join(["%s"] * len(server_ids))
    sql = (f"SELECT server_id, name, type, status, hourly_quota, daily_quota, warmup_plan_id "  # noqa: S608
           f"FROM {table(prefix)} WHERE server_id IN ({marks})" + (" FOR UPDATE" if lock else ""))
    cursor.execute(sql, list(server_ids))
    rows = {}
    for row in cursor.fetchall():
        rows[int(row["server_id"])] = ServerRow(
            server_id=int(row["server_id"]), name=str(row["name"] or ""), type=str(row["type"] or ""),
            status=str(row["status"] or ""), hourly_quota=int(row["hourly_quota"] or 0),
            daily_quota=int(row["daily_quota"] or 0),
            warmup_plan_id=None if row["warmup_plan_id"] is None else int(row["warmup_plan_id"]))
    return rows


def write_change(cursor: Any, prefix: str, server_id: int, after: dict[str, Any]) -> int:
    """UPDATE one server's status and quotas (never one with a warmup plan); return rows changed."""
    sql = (f"UPDATE {table(prefix)} SET status = %s, hourly_quota = %s, daily_quota = %s, "  # noqa: S608
           "last_updated = NOW() WHERE server_id = %s AND warmup_plan_id IS NULL")
    return cursor.execute(sql, (after["status"], int(after["hourly_quota"]), int(after["daily_quota"]), server_id))


def describe_error(error: BaseException) -> str:
    """One line for a pymysql error, without the URL or password."""
    args = getattr(error, "args", ())
    if len(args) >= 2:
        return f"MySQL error {args[0]}: {str(args[1]).splitlines()[0]}"
    return type(error).__name__


def temporary(error: BaseException) -> TemporaryFailure:
    return TemporaryFailure(f"MailWizz database unreachable: {describe_error(error)}",
                            "nothing was changed; check EE_MAILWIZZ_DB_URL and the MariaDB server")
