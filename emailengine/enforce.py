"""The one function other jobs call after IPs change state, so the change reaches the senders:
PowerMTA first (the managed config is re-rendered and reloaded: an IP out of rotation leaves
its pools at once), MailWizz second (delivery-server status and quotas).

Implemented by the PowerMTA/MailWizz integration (issue 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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

    Never raises for a sender that is down: the failure is in the result (and alerted).
    """
    return EnforceResult(messages=["PowerMTA/MailWizz integration not configured"])
