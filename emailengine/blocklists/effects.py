"""What a scan changes: listings to open, refresh and clear, IPs to move, alerts (pure).

Rules (issue 6):
* listed  → open a listing (first_seen = now) or refresh the open one (last_seen = now);
            a NEW listing at tier critical moves the IP to STANDBY when the lifecycle allows it
            (any state but STANDBY: in rotation, resting, or waiting in quarantine)
* clean   → close the open listing (cleared_at = now)
* error   → nothing changes: an open listing stays open, no listing is opened (no flapping)
* a STANDBY IP whose listings are all closed, at least one of them by this run → QUARANTINE
  with quarantine_until = now + EE_QUARANTINE_HOURS
* listings on zones no longer scanned (disabled) or of targets no longer in the inventory are
  closed: the operator removed them from what `ee` watches. Such a closure is not a delisting:
  it never moves a STANDBY IP to QUARANTINE by itself (the operator decides that)
* new listings alert with zone, reason and delisting link (critical: severity critical);
  clearances alert as info; broken zones and errors alert as warnings
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emailengine.alerts import Alert
from emailengine.blocklists.scan import Result
from emailengine.blocklists.verdict import ZoneHealth
from emailengine.lifecycle import State, can_transition

SEVERITY = {"critical": "critical", "major": "warning", "minor": "info"}


@dataclass(frozen=True)
class OpenListing:
    """An open row of the listings table, as plain data."""

    id: int
    target: str
    target_kind: str
    zone: str
    tier: str



@dataclass(frozen=True)
class Move:
    """One IP state change: address, target state, reason, extra columns."""

    address: str
    target: State
    reason: str
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """Everything the scan run must write and tell."""

    open: list[Result] = field(default_factory=list)
    refresh: list[tuple[int, Result]] = field(default_factory=list)
    clear: list[tuple[int, str]] = field(default_factory=list)  # (listing id, why)
    moves: list[Move] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    errors_by_zone: dict[str, int] = field(default_factory=dict)


def plan_effects(results: list[Result], health: dict[str, ZoneHealth], open_listings: list[OpenListing],
                 ip_states: dict[str, State], scanned_targets: set[str], now: datetime,
                 quarantine_hours: int) -> Plan:
    """Given one scan's results and the database state, return what to change and alert."""
    plan = Plan()
    by_pair = {(listing.target, listing.zone): listing for listing in open_listings}
    cleared_targets: set[str] = set()
    standby: dict[str, list[str]] = defaultdict(list)
    for result in results:
        _apply_result(plan, result, by_pair.get((result.target.name, result.zone.zone)), ip_states,
                      cleared_targets, standby)
    scanned_zones = {name for name in health}
    for listing in open_listings:
        why = ("zone no longer scanned (disabled or removed)" if listing.zone not in scanned_zones else
               "target no longer in the inventory" if listing.target not in scanned_targets else "")
        if why:
            # closed, but not a delisting: it never releases a STANDBY IP on its own
            plan.clear.append((listing.id, why))
    for address, zones in standby.items():
        plan.moves.append(Move(address, State.STANDBY, f"listed on critical blocklist {', '.join(zones)}"))
    _plan_quarantine(plan, open_listings, ip_states, cleared_targets, now, quarantine_hours)
    _alert_health(plan, health)
    return plan


def _apply_result(plan: Plan, result: Result, listing: OpenListing | None, ip_states: dict[str, State],
                  cleared_targets: set[str], standby: dict[str, list[str]]) -> None:
    """Add what one (target, zone) verdict changes to the plan."""
    status, target, zone = result.verdict.status, result.target, result.zone
    if status == "error":
        plan.errors_by_zone[zone.zone] = plan.errors_by_zone.get(zone.zone, 0) + 1
        return
    if status == "clean":
        if listing is not None:
            plan.clear.append((listing.id, "clean"))
            cleared_targets.add(target.name)
            plan.alerts.append(Alert(f"delisted:{target.name}:{zone.zone}", f"{target.name} no longer listed on {zone.zone}",
                                     f"{zone.title}: answered not listed", "info", **_who(target.kind, target.name)))
        return
    if listing is not None:
        plan.refresh.append((listing.id, result))
        return
    plan.open.append(result)
    tier = result.verdict.tier or zone.tier
    state = ip_states.get(target.name) if target.kind == "ip" else None
    moving = tier == "critical" and state is not None and can_transition(state, State.STANDBY)
    if moving:
        standby[target.name].append(zone.zone)
    action = f"request delisting: {zone.delist_url}" if zone.delist_url else "find the cause and request delisting"
    if moving:
        action = f"{target.name} moved to STANDBY (out of PowerMTA pools and MailWizz); {action}"
    plan.alerts.append(Alert(
        f"listing:{target.name}:{zone.zone}", f"{target.name} listed on {zone.zone} ({tier})",
        f"{zone.title}: codes {', '.join(result.verdict.codes)}; {result.verdict.reason}",
        SEVERITY.get(tier, "warning"), action=action, **_who(target.kind, target.name)))


def _who(kind: str, name: str) -> dict[str, str]:
    return {"ip": name} if kind == "ip" else {"domain": name}


def _plan_quarantine(plan: Plan, open_listings: list[OpenListing], ip_states: dict[str, State],
                     cleared_targets: set[str], now: datetime, quarantine_hours: int) -> None:
    """Move STANDBY IPs whose every listing is now closed (one closed by this run) to QUARANTINE."""
    cleared_ids = {listing_id for listing_id, _ in plan.clear}
    still_open = {listing.target for listing in open_listings if listing.id not in cleared_ids}
    still_open |= {result.target.name for result in plan.open}
    until = now + timedelta(hours=quarantine_hours)
    for address in sorted(cleared_targets):
        if ip_states.get(address) != State.STANDBY or address in still_open:
            continue
        plan.moves.append(Move(address, State.QUARANTINE, "every blocklist listing cleared",
                               {"quarantine_until": until}))
        plan.alerts.append(Alert(f"delisted-ip:{address}", f"{address} delisted everywhere: QUARANTINE",
                                 f"quarantine until {until.isoformat(timespec='minutes')}", "info", ip=address,
                                 action="nothing; it re-warms after the quarantine"))


def _alert_health(plan: Plan, health: dict[str, ZoneHealth]) -> None:
    """Alert once per broken zone and once per zone with lookup errors."""
    for zone, zone_health in sorted(health.items()):
        if not zone_health.healthy:
            plan.alerts.append(Alert(f"zone-broken:{zone}", f"blocklist {zone} failed its self-test",
                                     f"{zone_health.problem}; its answers count as errors this run",
                                     "warning", action="check the resolver (EE_DNS_NAMESERVERS) and the zone name"))
    for zone, count in sorted(plan.errors_by_zone.items()):
        if health.get(zone, ZoneHealth(True)).healthy:
            plan.alerts.append(Alert(f"lookup-errors:{zone}", f"{count} lookup error(s) on {zone}",
                                     "timeouts, SERVFAIL/REFUSED or error codes; nothing was changed for them",
                                     "warning", action="check the resolver; the next scan retries"))
