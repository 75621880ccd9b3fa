"""Which QUARANTINE IPs go back to WARMING (pure; time is a parameter).

An IP whose quarantine_until has passed and which has no open blocklist listing is released to
WARMING at EE_QUARANTINE_REWARM_DAY; one still listed stays in QUARANTINE and is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class QuarantinedIp:
    address: str
    quarantine_until: datetime | None
    open_listings: tuple[str, ...] = ()  # zone names of open listings


@dataclass
class ReleasePlan:
    release: list[str] = field(default_factory=list)
    still_listed: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    waiting: list[tuple[str, datetime]] = field(default_factory=list)


def plan_release(ips: Sequence[QuarantinedIp], now: datetime) -> ReleasePlan:
    """Given the quarantined IPs and the current UTC time, return who is released, who is due but
    still listed, and who is still waiting (an unset quarantine_until counts as due)."""
    plan = ReleasePlan()
    for ip in sorted(ips, key=lambda item: item.address):
        if ip.quarantine_until is not None and ip.quarantine_until > now:
            plan.waiting.append((ip.address, ip.quarantine_until))
        elif ip.open_listings:
            plan.still_listed.append((ip.address, tuple(sorted(ip.open_listings))))
        else:
            plan.release.append(ip.address)
    return plan
