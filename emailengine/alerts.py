"""Alerts to a human: the one function every job calls.

send_alert never raises and never fails the job. Every alert is logged (journald keeps it); when
EE_TELEGRAM_BOT_TOKEN and EE_TELEGRAM_CHAT_ID are set it is also sent to Telegram, unless the same
key was sent within EE_ALERT_DEDUPE_MINUTES (the shared `alerts` table) or EE_ALERT_MAX_PER_HOUR
messages already went out in the last hour (the `alert_sends` log). A failed send is logged and
recorded (metric ee_alert_send_failures_24h); it is retried at the key's next occurrence.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from emailengine.logs import logger

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from emailengine.config import Settings

SEND, DEDUPLICATED, RATE_LIMITED = "send", "deduplicated", "rate_limited"
_ICONS = {"critical": "🔴", "warning": "🟠", "info": "🔵", "resolved": "🟢"}

# When the database is down we still alert (that is news), deduplicating in this process only.
_local_sent: dict[str, datetime] = {}


def decide(last_sent_at: datetime | None, sent_last_hour: int, now: datetime, dedupe_minutes: int,
           max_per_hour: int, dedupe: bool = True) -> str:
    """Given a key's last send, the sends of the last hour and the limits, return SEND,
    DEDUPLICATED (same key within the window) or RATE_LIMITED (hourly budget spent)."""
    if dedupe and last_sent_at is not None and now - last_sent_at < timedelta(minutes=dedupe_minutes):
        return DEDUPLICATED
    if sent_last_hour >= max_per_hour:
        return RATE_LIMITED
    return SEND


@dataclass(frozen=True)
class Alert:
    key: str
    title: str
    text: str
    severity: str = "warning"
    ip: str | None = None
    domain: str | None = None
    action: str = ""


def format_message(alert: Alert, host: str) -> str:
    """Return the Telegram text: what happened, to which IP/domain, what to do, and where."""
    lines = [f"{_ICONS.get(alert.severity, '⚪')} {alert.severity.upper()}: {alert.title}"]
    if alert.ip:
        lines.append(f"IP: {alert.ip}")
    if alert.domain:
        lines.append(f"Domain: {alert.domain}")
    if alert.text:
        lines += ["", alert.text]
    if alert.action:
        lines += ["", f"What to do: {alert.action}"]
    lines += ["", f"host {host} · key {alert.key}"]
    return "\n".join(lines)


def send_alert(key: str, title: str, text: str, *, severity: str = "warning", ip: str | None = None,
               domain: str | None = None, action: str = "", dedupe: bool = True) -> bool:
    """Raise an alert identified by key (e.g. `listing:1.2.3.4:zen.spamhaus.org`).

    title: what happened; text: details; action: what the operator should do; dedupe=False for
    state-change alerts (each change is news; the hourly limit still applies). Return whether a
    message was sent (False when deduplicated, rate-limited, unconfigured or failed). Never raises.
    """
    logger.warning("alert %s: %s — %s%s", key, title, text, f" — do: {action}" if action else "",
                   extra={"alert_key": key, "severity": severity, "ip": ip, "domain": domain})
    try:
        return _deliver(Alert(key[:255], title, text, severity, ip, domain, action), dedupe)
    except Exception as error:  # noqa: BLE001 - alerting must never fail the job
        logger.error("alert %s could not be handled: %s: %s", key, type(error).__name__, error)
        return False


def _deliver(alert: Alert, dedupe: bool) -> bool:
    from emailengine.config import get_settings
    from emailengine.db.models.base import utcnow
    from emailengine.integrations.telegram import TelegramConfig

    settings = get_settings()
    config = TelegramConfig.from_settings(settings)
    if config is None:
        return False
    now = utcnow()
    engine = _engine_or_none()
    if engine is None:
        return _deliver_without_db(alert, config, settings, now, dedupe)
    try:
        with _alert_session(engine) as session:
            decision = _decision(session, alert.key, settings, now, dedupe)
            if decision != SEND:
                _record(session, alert, now, decision)
                logger.info("alert %s not sent: %s", alert.key, decision)
                return False
    except Exception as error:  # noqa: BLE001 - e.g. SQLite locked by the job's own transaction
        logger.warning("alert state unavailable (%s); deduplicating in this process only", type(error).__name__)
        return _deliver_without_db(alert, config, settings, now, dedupe)
    sent = _send(alert, config)
    try:
        with _alert_session(engine) as session:
            _record(session, alert, now, "sent" if sent else "failed")
    except Exception as error:  # noqa: BLE001
        logger.warning("cannot record alert %s: %s", alert.key, type(error).__name__)
    if sent:
        _local_sent[alert.key] = now
    return sent


@contextlib.contextmanager
def _alert_session(engine: Engine) -> Iterator[Session]:
    """One short transaction. On SQLite, wait at most 2 s for a lock (a job calling send_alert
    may hold the write lock itself) instead of the usual 30 s; then give up and go on."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA busy_timeout=2000")
            connection.commit()  # end the autobegun transaction so the session owns its own
        try:
            with Session(bind=connection) as session:
                yield session
                session.commit()
        finally:
            if sqlite:
                connection.rollback()
                connection.execute(text("PRAGMA busy_timeout=30000"))
                connection.commit()


def _engine_or_none():  # noqa: ANN202 - Engine | None
    try:
        from emailengine.db.engine import database_engine

        return database_engine()
    except Exception as error:  # noqa: BLE001
        logger.warning("alert state unavailable (database: %s); deduplicating in this process only", error)
        return None


def _deliver_without_db(alert: Alert, config: object, settings: Settings, now: datetime, dedupe: bool) -> bool:
    sent_last_hour = sum(1 for at in _local_sent.values() if now - at < timedelta(hours=1))
    decision = decide(_local_sent.get(alert.key), sent_last_hour, now, settings.alert_dedupe_minutes,
                      settings.alert_max_per_hour, dedupe)
    if decision != SEND:
        return False
    sent = _send(alert, config)
    if sent:
        _local_sent[alert.key] = now
    return sent


def _decision(session: Session, key: str, settings: Settings, now: datetime, dedupe: bool) -> str:
    from sqlalchemy import func, select

    from emailengine.db.models import AlertSend, AlertState

    state = session.get(AlertState, key)
    sent_last_hour = session.execute(
        select(func.count()).select_from(AlertSend)
        .where(AlertSend.outcome == "sent", AlertSend.at >= now - timedelta(hours=1))
    ).scalar_one()
    return decide(state.last_sent_at if state else None, sent_last_hour, now, settings.alert_dedupe_minutes,
                  settings.alert_max_per_hour, dedupe)


def _record(session: Session, alert: Alert, now: datetime, outcome: str) -> None:
    from emailengine.db.models import AlertSend, AlertState

    state = session.get(AlertState, alert.key)
    if state is None:
        state = AlertState(key=alert.key, last_state="", sent_count=0, suppressed_count=0)
        session.add(state)
    if outcome == "sent":
        state.last_sent_at = now
        state.sent_count = (state.sent_count or 0) + 1
    elif outcome in (DEDUPLICATED, RATE_LIMITED):
        state.suppressed_count = (state.suppressed_count or 0) + 1
    session.add(AlertSend(key=alert.key, at=now, severity=alert.severity[:16], outcome=outcome,
                          title=alert.title[:500]))


def _send(alert: Alert, config: object) -> bool:
    from emailengine.integrations.telegram import TelegramError, send_message

    try:
        send_message(config, format_message(alert, socket.gethostname()))  # type: ignore[arg-type]
        return True
    except TelegramError as error:
        logger.error("alert %s: Telegram send failed: %s", alert.key, error, extra={"alert_key": alert.key})
        return False


def state_changed(key: str, new_state: str) -> tuple[bool, str]:
    """Store new_state as the key's last state; return (changed?, previous state).

    Used for "alert when the overall state changes" (health). The first observation counts as a
    change only when it is not OK. Without a database, nothing is stored and (False, "") returned.
    """
    engine = _engine_or_none()
    if engine is None:
        return False, ""
    from sqlalchemy.orm import Session

    from emailengine.db.models import AlertState

    with Session(engine) as session, session.begin():
        state = session.get(AlertState, key)
        previous = state.last_state if state else ""
        if state is None:
            session.add(AlertState(key=key, last_state=new_state, sent_count=0, suppressed_count=0))
        else:
            state.last_state = new_state
    changed = previous != new_state and (previous != "" or new_state != "OK")
    return changed, previous


def send_test_alert(settings: Settings) -> dict[str, object]:
    """Send a test message now (no dedupe, no rate limit); return chat id and message id.

    Raise ConfigError when Telegram is not configured, TemporaryFailure when the send fails.
    """
    from emailengine.errors import ConfigError, TemporaryFailure
    from emailengine.integrations.telegram import TelegramConfig, TelegramError, send_message

    config = TelegramConfig.from_settings(settings)
    if config is None:
        raise ConfigError("Telegram is not configured", "set EE_TELEGRAM_BOT_TOKEN and EE_TELEGRAM_CHAT_ID")
    alert = Alert("test", "test alert from ee", "If you read this, ee can reach this chat.", "info",
                  action="nothing; this was `ee alert test`")
    try:
        message_id = send_message(config, format_message(alert, socket.gethostname()))
    except TelegramError as error:
        raise TemporaryFailure(f"cannot send the test alert: {error}", "check the token, chat id and network") from None
    return {"sent": True, "chat_id": config.chat_id, "message_id": message_id}
