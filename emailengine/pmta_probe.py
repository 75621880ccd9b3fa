"""What operations asks PowerMTA's management API: is it answering, how much is queued, how many
queues are in backoff. Uses the PowerMTA area's client (integrations/powermta/mgmt.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from emailengine.logs import logger

if TYPE_CHECKING:
    from emailengine.config import Settings


@dataclass(frozen=True)
class PmtaStatus:
    """ok: the API answered and PowerMTA is running; queue figures are None when not read."""

    ok: bool
    error: str = ""
    recipients: int | None = None
    backoff_queues: int | None = None


def queue_status(settings: Settings) -> PmtaStatus:
    """Return PowerMTA's state from its management API (EE_PMTA_URL); never raises."""
    try:
        from emailengine.integrations.powermta.mgmt import PmtaClient, health
    except ImportError:  # the PowerMTA area not installed: report what we cannot know
        return PmtaStatus(False, "PowerMTA management client not available")
    try:
        with PmtaClient.from_settings(settings) as client:
            ok, why = health(client.status())
            if not ok:
                return PmtaStatus(False, why)
            queues = client.queues()
    except Exception as error:  # noqa: BLE001 - a probe reports, it does not fail
        text = error.one_line() if hasattr(error, "one_line") else f"{type(error).__name__}: {error}"
        logger.warning("PowerMTA management API: %s", text)
        return PmtaStatus(False, text)
    return PmtaStatus(True, "", sum(q.rcp for q in queues), sum(1 for q in queues if q.mode.lower() == "backoff"))
