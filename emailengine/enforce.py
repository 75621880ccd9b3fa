"""The one function other jobs call after IPs change state, so the change reaches the senders:
PowerMTA first (the managed config is re-rendered and reloaded: an IP out of rotation leaves
its pools at once), MailWizz second (delivery-server status and quotas).

Implemented by the PowerMTA/MailWizz integration (issue 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from emailengine.alerts import send_alert
from emailengine.errors import EEError
from emailengine.logs import logger

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from emailengine.config import Settings


@dataclass
class EnforceResult:
    pmta: str = "skipped"        # applied | unchanged | failed | skipped (not configured)
    mailwizz: str = "skipped"    # synced | unchanged | failed | skipped (not configured)
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return "failed" not in (self.pmta, self.mailwizz)


def push_state_to_senders(settings: Settings, engine: Engine, actor: str, reason: str,
                          job_run_id: int | None = None) -> EnforceResult:
    """Re-render and apply the PowerMTA config, then sync MailWizz, after a state change.

    PowerMTA runs when EE_PMTA_MANAGED_CONFIG's directory exists (the operator created it and
    `include`s our file); MailWizz when EE_MAILWIZZ_DB_URL is set. Never raises for a sender
    that is down: the failure is in the result and alerted.
    """
    result = EnforceResult()
    _push_pmta(settings, engine, actor, reason, result)
    _push_mailwizz(settings, engine, actor, result)
    logger.info("pushed state to senders: pmta=%s mailwizz=%s", result.pmta, result.mailwizz,
                extra={"job_run_id": job_run_id, "reason": reason})
    return result


def _push_pmta(settings: Settings, engine: Engine, actor: str, reason: str, result: EnforceResult) -> None:
    if not Path(settings.pmta_managed_config).parent.is_dir():
        result.messages.append(f"PowerMTA: {Path(settings.pmta_managed_config).parent} does not exist; skipped")
        return
    from emailengine.integrations.powermta.service import apply

    try:
        data = apply(settings, engine, actor, reason=reason, require_admin=False)
    except Exception as exc:  # noqa: BLE001 - a sender being down must not break the calling job
        result.pmta = "failed"
        text = exc.one_line() if isinstance(exc, EEError) else f"{type(exc).__name__}: {exc}"
        result.messages.append(f"PowerMTA: {text}")
        send_alert("enforce:pmta", "PowerMTA config not applied after a state change", f"{reason}: {text}",
                   severity="critical", action="run `ee pmta diff` and `ee pmta apply`")
        return
    result.pmta = "applied" if data["outcome"] == "applied" else "unchanged"
    result.messages.append(f"PowerMTA: {data['outcome']}")


def _push_mailwizz(settings: Settings, engine: Engine, actor: str, result: EnforceResult) -> None:
    if settings.mailwizz_db_url is None:
        result.messages.append("MailWizz: EE_MAILWIZZ_DB_URL not set; skipped")
        return
    from emailengine.integrations.mailwizz.sync import sync_quotas

    try:
        report = sync_quotas(settings, engine, actor, require_admin=False)
    except Exception as exc:  # noqa: BLE001 - see above
        result.mailwizz = "failed"
        text = exc.one_line() if isinstance(exc, EEError) else f"{type(exc).__name__}: {exc}"
        result.messages.append(f"MailWizz: {text}")
        send_alert("enforce:mailwizz", "MailWizz not synced after a state change", text,
                   severity="critical", action="run `ee sync-quotas` once MailWizz is reachable")
        return
    result.mailwizz = "synced" if report["changes"] else "unchanged"
    result.messages.append(f"MailWizz: {len(report['changes'])} servers changed ({report['note']})")
