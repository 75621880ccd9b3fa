"""MailWizz delivery-server targets from IP lifecycle state (pure; time is a parameter).

Contract (issue 4): quotas come from the database, never from warmup internals:
- ACTIVE: EE_ACTIVE_DAILY_QUOTA, hourly EE_ACTIVE_HOURLY_QUOTA or ceil(daily/24);
- WARMING, RETIRING: ips.daily_quota / ips.hourly_quota (hourly 0 → ceil(daily/24)); a daily
  quota of 0 means warmup has not set one, and MailWizz reads 0 as unlimited, so the server is
  made inactive instead;
- RESTING, STANDBY, QUARANTINE: status inactive (quotas left as they are).
Fail safe: an unknown state → inactive; stale quota data (no warmup decision or state change
within EE_MAILWIZZ_STALE_HOURS) never raises a quota and never activates a server.
Servers with MailWizz's own warmup plan, or with a status ee does not manage (disabled, hidden,
pending-delete), are skipped and reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emailengine.lifecycle import SENDING_STATES, State

ACTIVE = "active"
INACTIVE = "inactive"
MANAGED_STATUSES = frozenset({"active", "in-use", "inactive"})  # in-use is treated like active
CACHE_NOTE = ("MailWizz caches each server's remaining quota for up to 300 s and a running batch keeps "
              "its loaded server row: changes take effect from the next batch, within about 5 minutes")


@dataclass(frozen=True)
class IpInput:
    address: str
    state: str
    server_id: int
    daily_quota: int
    hourly_quota: int
    fresh_at: datetime | None  # last warmup decision or state change


@dataclass(frozen=True)
class Target:
    status: str
    daily: int | None  # None: leave as is
    hourly: int | None
    note: str = ""
    stale: bool = False


@dataclass(frozen=True)
class ServerRow:
    server_id: int
    name: str
    type: str
    status: str
    hourly_quota: int
    daily_quota: int
    warmup_plan_id: int | None

    def values(self) -> dict[str, Any]:
        return {"status": self.status, "hourly_quota": self.hourly_quota, "daily_quota": self.daily_quota}


@dataclass
class Plan:
    changes: list[dict[str, Any]] = field(default_factory=list)    # server_id, ip, before, after, note
    skipped: list[dict[str, Any]] = field(default_factory=list)    # server_id, ip, reason
    unchanged: list[dict[str, Any]] = field(default_factory=list)  # server_id, ip


def hourly_of(daily: int, hourly: int) -> int:
    return hourly if hourly > 0 else math.ceil(max(daily, 0) / 24)


def target_for(ip: IpInput, active_daily: int, active_hourly: int, now: datetime, stale_after: timedelta) -> Target:
    """The status and quotas ip's delivery server should have."""
    try:
        state = State(ip.state)
    except ValueError:
        return Target(INACTIVE, None, None, f"unknown state {ip.state!r}: made inactive")
    if state not in SENDING_STATES:
        return Target(INACTIVE, None, None, f"{state.value}: not sending")
    if state == State.ACTIVE:
        return Target(ACTIVE, active_daily, hourly_of(active_daily, active_hourly), "ACTIVE: full capacity")
    if ip.daily_quota <= 0:
        return Target(INACTIVE, None, None, f"{state.value} without a warmup quota yet: made inactive")
    stale = ip.fresh_at is None or now - ip.fresh_at > stale_after
    note = f"{state.value}: warmup quota" + (" (stale: not raised)" if stale else "")
    return Target(ACTIVE, ip.daily_quota, hourly_of(ip.daily_quota, ip.hourly_quota), note, stale)


def _lower(current: int, wanted: int) -> int:
    """The lower of two MailWizz quotas, where 0 means unlimited."""
    if current == 0:
        return wanted
    if wanted == 0:
        return current
    return min(current, wanted)


def desired_values(target: Target, server: ServerRow) -> dict[str, Any]:
    """The row values to write, honouring the stale rule (never raise, never activate)."""
    current = server.values()
    wanted = dict(current)
    if target.daily is not None:
        wanted["daily_quota"] = _lower(server.daily_quota, target.daily) if target.stale else target.daily
    if target.hourly is not None:
        wanted["hourly_quota"] = _lower(server.hourly_quota, target.hourly) if target.stale else target.hourly
    is_active = server.status in ("active", "in-use")
    if target.status == INACTIVE:
        wanted["status"] = INACTIVE
    elif not is_active and not target.stale:
        wanted["status"] = ACTIVE
    return wanted


def plan_sync(ips: list[IpInput], servers: dict[int, ServerRow], active_daily: int, active_hourly: int,
              now: datetime, stale_after: timedelta) -> Plan:
    """Compare each mapped IP's target with its server row; return what to change and why not."""
    plan = Plan()
    for ip in sorted(ips, key=lambda i: i.server_id):
        server = servers.get(ip.server_id)
        base = {"server_id": ip.server_id, "ip": ip.address, "state": ip.state}
        if server is None:
            plan.skipped.append({**base, "reason": "no such delivery server in MailWizz"})
            continue
        if server.warmup_plan_id is not None:
            plan.skipped.append({**base, "reason": f"MailWizz warmup plan {server.warmup_plan_id} attached: "
                                                   "not managed by ee"})
            continue
        if server.status not in MANAGED_STATUSES:
            plan.skipped.append({**base, "reason": f"status {server.status!r} is set by an operator: not managed"})
            continue
        target = target_for(ip, active_daily, active_hourly, now, stale_after)
        wanted = desired_values(target, server)
        if wanted == server.values():
            plan.unchanged.append({**base, "note": target.note})
        else:
            plan.changes.append({**base, "name": server.name, "before": server.values(), "after": wanted,
                                 "note": target.note})
    return plan
