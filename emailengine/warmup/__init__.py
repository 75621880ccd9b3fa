"""Warmup and lifecycle automation: plans, the daily decision engine, rotation, quarantine release.

Pure modules: plans.py, decide.py, rotation.py, quarantine.py, simulate.py. I/O: run.py.
Other capabilities that move an IP into WARMING call `start_warming` in the same transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from emailengine.config import Settings
    from emailengine.db.models import Ip


def start_warming(session: Session, ip: Ip, plan_day: int, settings: Settings) -> None:
    """(Re)create the IP's provider lanes at plan_day of its plan and set its warmup day and quotas.

    Call it right after `inventory.transition(session, ip, State.WARMING, ...)`, in the same session.
    """
    from emailengine.warmup.run import start_warming as _start

    _start(session, ip, plan_day, settings)
