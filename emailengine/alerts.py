"""Alerts to a human: the one function every job calls.

send_alert never raises and never fails the job: a failed send is logged and counted.
Delivery (Telegram), deduplication and rate limiting are implemented by the operations issue;
until configured, alerts are logged at WARNING so journald keeps them.
"""

from __future__ import annotations

from emailengine.logs import logger


def send_alert(key: str, title: str, text: str, *, severity: str = "warning", ip: str | None = None,
               domain: str | None = None, action: str = "") -> bool:
    """Raise an alert identified by key (e.g. `listing:1.2.3.4:zen.spamhaus.org`).

    title: what happened; text: details; action: what the operator should do. Return whether
    a message was sent (False when deduplicated, rate-limited, unconfigured or failed).
    """
    logger.warning("alert %s: %s — %s%s", key, title, text, f" — do: {action}" if action else "",
                   extra={"alert_key": key, "severity": severity, "ip": ip, "domain": domain})
    return False
