"""Which ACTIVE IPs the monthly rotation retires (pure: plain data in, a plan out).

Rotation is event-driven (warmup.md §5): an IP is retired because its last-30-day figures are
degraded, because it was listed repeatedly, or because the operator marked it. A periodic share
(EE_ROTATION_SHARE) exists but is off by default: spreading one stream over changing IPs is what
receivers and Spamhaus call snowshoeing. Two limits always hold: at least EE_MIN_ACTIVE_IPS stay
ACTIVE, and the traffic a retiring IP sheds each day must fit in the daily growth cap of the
IPs that absorb it, never counting the /24 neighbours of an IP retired for listings (Spamhaus
CSS: traffic moved next door keeps the listing alive and widens it).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ActiveIp:
    """An ACTIVE IP with its last-30-day figures."""

    address: str
    pool: str = "default"
    attempts: int = 0
    hard: int = 0
    block: int = 0
    complaints: int = 0
    delivered: int = 0
    listings: int = 0  # blocklist listings first seen in the window
    retire_requested: bool = False
    active_since_days: int = 0  # how long it has been ACTIVE (oldest first for the periodic share)


@dataclass(frozen=True)
class RotationLimits:
    max_hard_rate: float = 0.05
    max_complaint_rate: float = 0.003
    max_block_rate: float = 0.03
    max_listings: int = 2
    min_attempts: int = 5000
    share: float = 0.0
    min_active: int = 1
    growth_cap: float = 0.2
    ramp_days: int = 7


@dataclass(frozen=True)
class Retirement:
    address: str
    reason: str
    listed: bool = False


@dataclass
class RotationPlan:
    retire: list[Retirement] = field(default_factory=list)
    kept: list[Retirement] = field(default_factory=list)  # wanted, but a limit kept them ACTIVE


def subnet24(address: str) -> str:
    """Return the /24 (IPv4) or /64 (IPv6) network of an address: its 'vicinity'."""
    ip = ipaddress.ip_address(address)
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def degraded_reason(ip: ActiveIp, limits: RotationLimits) -> str | None:
    """Return why an IP's 30-day figures are degraded, or None."""
    if ip.listings >= limits.max_listings:
        return f"listed {ip.listings} times in 30 days (≥ {limits.max_listings})"
    if ip.attempts >= limits.min_attempts:
        checks = (("hard-bounce", ip.hard, ip.attempts, limits.max_hard_rate),
                  ("block", ip.block, ip.attempts, limits.max_block_rate),
                  ("complaint", ip.complaints, ip.delivered, limits.max_complaint_rate))
        for name, events, denominator, limit in checks:
            if denominator and events / denominator >= limit:
                return f"30-day {name} rate {events / denominator:.2%} ≥ {limit:.2%}"
    return None


def candidates(ips: Sequence[ActiveIp], limits: RotationLimits) -> list[Retirement]:
    """Return the IPs the rotation wants to retire, most urgent first: degraded (listings
    first), operator-marked, then the periodic share of the oldest ACTIVE IPs."""
    wanted: list[Retirement] = []
    chosen: set[str] = set()
    for ip in sorted(ips, key=lambda item: (-item.listings, item.address)):
        reason = degraded_reason(ip, limits)
        if reason:
            wanted.append(Retirement(ip.address, reason, listed=ip.listings >= limits.max_listings))
            chosen.add(ip.address)
    for ip in sorted(ips, key=lambda item: item.address):
        if ip.retire_requested and ip.address not in chosen:
            wanted.append(Retirement(ip.address, "marked for retirement by an operator"))
            chosen.add(ip.address)
    periodic = math.floor(limits.share * len(ips))
    for ip in sorted(ips, key=lambda item: (-item.active_since_days, item.address)):
        if periodic <= 0:
            break
        if ip.address not in chosen:
            wanted.append(Retirement(ip.address, f"periodic rotation share {limits.share:.0%}"))
            chosen.add(ip.address)
            periodic -= 1
    return wanted


def plan_rotation(ips: Sequence[ActiveIp], limits: RotationLimits) -> RotationPlan:
    """Return which ACTIVE IPs to retire now and which wanted ones a limit keeps ACTIVE.

    Guarantees: the number left ACTIVE is ≥ min(min_active, len(ips)); in each pool the daily
    volume shed by retiring IPs (one ramp step, 1/(R+1) of an IP's volume) stays within the
    growth cap of the pool's remaining IPs, excluding /24 neighbours of IPs retired for listings.
    """
    plan = RotationPlan()
    by_address = {ip.address: ip for ip in ips}
    remaining = set(by_address)
    for wanted in candidates(ips, limits):
        if len(remaining) - 1 < limits.min_active:
            plan.kept.append(Retirement(wanted.address, f"{wanted.reason}; kept: EE_MIN_ACTIVE_IPS={limits.min_active}"))
            continue
        if not _fits_growth_cap(by_address, remaining - {wanted.address}, plan.retire + [wanted], limits):
            plan.kept.append(Retirement(wanted.address,
                                        f"{wanted.reason}; deferred: the pool cannot absorb its traffic within the "
                                        f"{limits.growth_cap:.0%} daily growth cap"))
            continue
        remaining.discard(wanted.address)
        plan.retire.append(wanted)
    return plan


def _fits_growth_cap(by_address: dict[str, ActiveIp], remaining: set[str], retiring: list[Retirement],
                     limits: RotationLimits) -> bool:
    per_day_shed = 1 / (limits.ramp_days + 1)  # in units of one IP's active volume
    pools = {by_address[item.address].pool for item in retiring}
    for pool in pools:
        leaving = [item for item in retiring if by_address[item.address].pool == pool]
        excluded = {subnet24(item.address) for item in leaving if item.listed}
        absorbers = [address for address in remaining
                     if by_address[address].pool == pool and subnet24(address) not in excluded]
        if not absorbers:
            return False
        if len(leaving) * per_day_shed > limits.growth_cap * len(absorbers) + 1e-9:
            return False
    return True
