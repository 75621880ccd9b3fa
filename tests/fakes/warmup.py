"""Helpers for warmup tests: add IPs in a state, backdate them, write delivery_stats rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from emailengine import inventory
from emailengine.db.models import DeliveryStat, Ip, IpLane, Listing, WarmupDecision
from emailengine.lifecycle import State


def add_ip(session, address: str, state: str = "WARMING", pool: str = "main", plan: str | None = None) -> Ip:
    last = address.replace(":", "-").split(".")[-1]
    spec = inventory.make_ip_spec(address, f"mta{last}.example.net", f"vmta-{address}", pool, state=state)
    (ip,) = inventory.add_ips(session, [spec], "tester")
    if plan:
        ip.warmup_plan = plan
    session.commit()
    return ip


def backdate(session, address: str, days: int) -> None:
    ip = session.scalar(select(Ip).where(Ip.address == address))
    ip.state_since = ip.state_since - timedelta(days=days)
    session.commit()


def today() -> date:
    return datetime.now(UTC).date()


def send_allowance(session, address: str, day: date, **overrides) -> None:
    """Write one delivery_stats row per lane: the lane's whole allowance delivered (plus overrides)."""
    ip = session.scalar(select(Ip).where(Ip.address == address))
    for lane in session.scalars(select(IpLane).where(IpLane.ip_id == ip.id)):
        values = {"delivered": lane.daily_quota}
        values.update(overrides.get(lane.lane, {}))
        session.merge(DeliveryStat(day=day, source_ip=address, provider=lane.lane, vmta=ip.vmta, **values))
    session.commit()


def lanes(session, address: str) -> dict[str, tuple]:
    ip = session.scalar(select(Ip).where(Ip.address == address))
    session.expire_all()
    return {lane.lane: (lane.plan_day, lane.sending_days, lane.idle_days, lane.paused, lane.daily_quota)
            for lane in session.scalars(select(IpLane).where(IpLane.ip_id == ip.id))}


def snapshot(session) -> tuple:
    """Everything a tick writes, as comparable plain data."""
    session.expire_all()
    ips = sorted((ip.address, ip.state, ip.warmup_plan, ip.warmup_day, ip.daily_quota, ip.hourly_quota)
                 for ip in session.scalars(select(Ip)))
    all_lanes = sorted((lane.ip_id, lane.lane, lane.plan_day, lane.sending_days, lane.idle_days, lane.paused,
                        lane.daily_quota, lane.last_sent_day) for lane in session.scalars(select(IpLane)))
    decisions = sorted((x.ip_id, x.day, x.lane, x.decision, x.plan_day_after)
                       for x in session.scalars(select(WarmupDecision)))
    return ips, all_lanes, decisions


def list_ip(session, address: str, zone: str = "zen.spamhaus.org", tier: str = "critical") -> None:
    session.add(Listing(target=address, target_kind="ip", zone=zone, tier=tier, codes=[], reason="test"))
    session.commit()


def set_state(session, address: str, state: State, **changes) -> None:
    ip = session.scalar(select(Ip).where(Ip.address == address))
    inventory.transition(session, ip, state, "test", "tester", **changes)
    session.commit()
