"""Rotation (event-driven, never below the minimum active count) and quarantine release."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from emailengine.warmup.quarantine import QuarantinedIp, plan_release
from emailengine.warmup.rotation import ActiveIp, RotationLimits, candidates, plan_rotation, subnet24

LIMITS = RotationLimits(min_active=1)


def healthy(address: str, **changes) -> ActiveIp:
    values = {"attempts": 100_000, "delivered": 99_000, "hard": 500, "block": 500, "complaints": 10}
    values.update(changes)
    return ActiveIp(address, **values)


def test_rotation_retires_nothing_when_every_ip_is_healthy_and_share_is_zero():
    ips = [healthy(f"192.0.2.{i}") for i in range(1, 6)]
    assert plan_rotation(ips, LIMITS).retire == []


def test_rotation_retires_degraded_marked_and_repeatedly_listed_ips_with_reasons():
    ips = [healthy("192.0.2.1", block=5000), healthy("192.0.2.2", retire_requested=True),
           healthy("198.51.100.3", listings=2), *(healthy(f"203.0.113.{i}") for i in range(1, 20))]
    plan = plan_rotation(ips, LIMITS)
    reasons = {item.address: item.reason for item in plan.retire}
    assert set(reasons) == {"192.0.2.1", "192.0.2.2", "198.51.100.3"}
    assert "block rate" in reasons["192.0.2.1"] and "operator" in reasons["192.0.2.2"]
    assert "listed 2 times" in reasons["198.51.100.3"]


def test_rotation_ignores_rates_below_the_minimum_volume():
    assert candidates([healthy("192.0.2.1", attempts=100, delivered=90, hard=10)], LIMITS) == []


def test_rotation_never_goes_below_min_active_and_says_why():
    ips = [healthy("192.0.2.1", retire_requested=True), healthy("192.0.2.2", retire_requested=True)]
    plan = plan_rotation(ips, RotationLimits(min_active=2))
    assert plan.retire == [] and len(plan.kept) == 2 and "EE_MIN_ACTIVE_IPS" in plan.kept[0].reason


def test_rotation_share_retires_the_oldest_ips():
    ips = [healthy(f"192.0.2.{i}", active_since_days=i) for i in range(1, 11)]
    plan = plan_rotation(ips, RotationLimits(share=0.2, min_active=1))
    assert {item.address for item in plan.retire} == {"192.0.2.10", "192.0.2.9"}


def test_listed_ip_traffic_is_not_shifted_onto_its_24_neighbours():
    # The only other IPs in the pool share the listed IP's /24: nobody may absorb its traffic.
    ips = [healthy("192.0.2.1", listings=3), healthy("192.0.2.2"), healthy("192.0.2.3")]
    plan = plan_rotation(ips, LIMITS)
    assert plan.retire == [] and "growth cap" in plan.kept[0].reason
    # With IPs in another /24 in the pool, it can go.
    more = ips + [healthy(f"198.51.100.{i}") for i in range(1, 4)]
    assert [item.address for item in plan_rotation(more, LIMITS).retire] == ["192.0.2.1"]


def test_subnet24():
    assert subnet24("192.0.2.77") == "192.0.2.0/24"
    assert subnet24("2001:db8::1") == "2001:db8::/64"


ip_strategy = st.builds(
    ActiveIp,
    address=st.integers(1, 250).map(lambda i: f"10.{i % 3}.0.{i}"),
    pool=st.sampled_from(["a", "b"]),
    attempts=st.integers(0, 100_000), hard=st.integers(0, 10_000), block=st.integers(0, 10_000),
    complaints=st.integers(0, 1_000), delivered=st.integers(0, 100_000), listings=st.integers(0, 4),
    retire_requested=st.booleans(), active_since_days=st.integers(0, 400),
)


@settings(max_examples=150, deadline=None)
@given(ips=st.lists(ip_strategy, max_size=30, unique_by=lambda ip: ip.address),
       min_active=st.integers(0, 10), share=st.floats(0, 0.5))
def test_property_rotation_never_drops_below_the_minimum_active_count(ips, min_active, share):
    plan = plan_rotation(ips, RotationLimits(min_active=min_active, share=share))
    remaining = len(ips) - len(plan.retire)
    assert remaining >= min(min_active, len(ips))
    assert len({item.address for item in plan.retire}) == len(plan.retire)


NOW = datetime(2026, 11, 25, 4, tzinfo=UTC)


def test_quarantine_release_due_unlisted_ips_and_reports_listed_ones():
    plan = plan_release([
        QuarantinedIp("192.0.2.1", NOW - timedelta(hours=1)),
        QuarantinedIp("192.0.2.2", NOW - timedelta(hours=1), ("zen.spamhaus.org",)),
        QuarantinedIp("192.0.2.3", NOW + timedelta(hours=1)),
        QuarantinedIp("192.0.2.4", None),
    ], NOW)
    assert plan.release == ["192.0.2.1", "192.0.2.4"]
    assert plan.still_listed == [("192.0.2.2", ("zen.spamhaus.org",))]
    assert [address for address, _ in plan.waiting] == ["192.0.2.3"]
