"""`rotate` and `quarantine release` against real databases, and the tick-twice property."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from emailengine.config import load_settings
from emailengine.db.models import DeliveryStat, Ip, IpEvent, utcnow
from emailengine.errors import PermissionDenied
from emailengine.lifecycle import State
from emailengine.warmup import run
from tests.fakes.warmup import add_ip, lanes, list_ip, set_state, snapshot, today


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    import emailengine.alerts
    import emailengine.enforce

    monkeypatch.setattr(emailengine.alerts, "send_alert", lambda *a, **k: True)
    monkeypatch.setattr(emailengine.enforce, "push_state_to_senders",
                        lambda *a, **k: emailengine.enforce.EnforceResult())


def test_rotate_retires_marked_and_degraded_ips_keeping_the_minimum(engine, session, monkeypatch):
    monkeypatch.setenv("EE_MIN_ACTIVE_IPS", "2")
    for i in range(1, 4):
        add_ip(session, f"192.0.2.{i}", state="ACTIVE")
    add_ip(session, "198.51.100.1", state="ACTIVE")
    session.scalar(select(Ip).where(Ip.address == "192.0.2.1")).retire_requested = True
    session.add(DeliveryStat(day=today() - timedelta(days=1), source_ip="198.51.100.1", provider="gmail",
                             vmta="x", delivered=9000, block=1000))
    session.add(DeliveryStat(day=today() - timedelta(days=1), source_ip="192.0.2.2", provider="gmail",
                             vmta="x", delivered=9000, hard=1000))
    session.commit()
    report = run.rotate(load_settings(), session.get_bind(), "system")
    assert {item["ip"] for item in report.retire} == {"192.0.2.2", "198.51.100.1"}
    assert [item["ip"] for item in report.kept] == ["192.0.2.1"]
    session.expire_all()
    states = dict(session.execute(select(Ip.address, Ip.state)).all())
    assert sorted(states.values()).count("ACTIVE") == 2
    event = session.scalars(select(IpEvent).where(IpEvent.to_state == "RETIRING")).first()
    assert event.reason.startswith("rotation: 30-day")
    retiring = session.scalar(select(Ip).where(Ip.address == "198.51.100.1"))
    assert 0 < retiring.daily_quota < load_settings().active_daily_quota


def test_rotate_dry_run_changes_nothing(engine, session):
    add_ip(session, "192.0.2.1", state="ACTIVE")
    add_ip(session, "192.0.2.2", state="ACTIVE")
    session.scalar(select(Ip).where(Ip.address == "192.0.2.1")).retire_requested = True
    session.commit()
    before = snapshot(session)
    report = run.rotate(load_settings(), session.get_bind(), "system", dry_run=True)
    assert [item["ip"] for item in report.retire] == ["192.0.2.1"]
    assert snapshot(session) == before


def test_rotate_by_a_non_admin_is_refused(engine, session):
    with pytest.raises(PermissionDenied):
        run.rotate(load_settings(), session.get_bind(), "mallory")


def test_quarantine_release_rewarms_unlisted_and_keeps_listed(engine, session):
    settings = load_settings()
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        add_ip(session, address, state="ACTIVE")
        set_state(session, address, State.STANDBY)
        set_state(session, address, State.QUARANTINE, quarantine_until=utcnow() - timedelta(hours=1))
    ip3 = session.scalar(select(Ip).where(Ip.address == "192.0.2.3"))
    ip3.quarantine_until = utcnow() + timedelta(hours=5)
    session.commit()
    list_ip(session, "192.0.2.2")
    report = run.release_quarantine(settings, session.get_bind(), "system")
    assert report.released == ["192.0.2.1"]
    assert report.still_listed == [{"ip": "192.0.2.2", "zones": ["zen.spamhaus.org"]}]
    assert [x["ip"] for x in report.waiting] == ["192.0.2.3"]
    session.expire_all()
    ip = session.scalar(select(Ip).where(Ip.address == "192.0.2.1"))
    assert ip.state == "WARMING" and ip.quarantine_until is None
    assert ip.warmup_day == settings.quarantine_rewarm_day and len(lanes(session, "192.0.2.1")) == 6
    assert session.scalar(select(Ip.state).where(Ip.address == "192.0.2.2")) == "QUARANTINE"


lane_figures = st.fixed_dictionaries({
    "delivered": st.integers(0, 120), "hard": st.integers(0, 10), "block": st.integers(0, 10),
    "complaints": st.integers(0, 3), "deferred": st.integers(0, 30), "rep_deferred": st.integers(0, 2),
})


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.lists(st.dictionaries(st.sampled_from(["gmail", "yahoo", "other"]), lane_figures), min_size=1,
                     max_size=4),
       split=st.integers(0, 4))
def test_property_tick_twice_equals_tick_once(tmp_path_factory, days, split):
    from sqlalchemy.orm import Session

    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import upgrade

    path = tmp_path_factory.mktemp("tick") / "t.db"
    engine = create_engine_for(f"sqlite:///{path}")
    upgrade(engine)
    settings_ = load_settings()
    with Session(engine, expire_on_commit=False) as session:
        add_ip(session, "192.0.2.1")
        add_ip(session, "192.0.2.2")
        run.tick(settings_, engine, "system", today())
        for offset, lanes_of_day in enumerate(days):
            for lane, values in lanes_of_day.items():
                for address in ("192.0.2.1", "192.0.2.2"):
                    session.add(DeliveryStat(day=today() + timedelta(days=offset), source_ip=address,
                                             provider=lane, vmta="v", **values))
        session.commit()
        last = today() + timedelta(days=len(days))
        # Some days ticked first (possibly none), then the rest caught up; then the same date again.
        run.tick(settings_, engine, "system", today() + timedelta(days=min(split, len(days))))
        run.tick(settings_, engine, "system", last)
        once = snapshot(session)
        run.tick(settings_, engine, "system", last)
        assert snapshot(session) == once
    engine.dispose()
