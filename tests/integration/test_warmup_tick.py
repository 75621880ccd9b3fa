"""`warmup tick` against real databases: lanes, decisions, idempotence, catch-up, promotion,
pauses with alerts, ramp-down, rest and re-warm (SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from emailengine.config import load_settings
from emailengine.db.models import AuditEntry, Ip, IpEvent, WarmupDecision, WarmupPlan
from emailengine.lifecycle import State
from emailengine.warmup import run
from tests.fakes.warmup import add_ip, backdate, lanes, send_allowance, set_state, snapshot, today


@pytest.fixture
def calls(monkeypatch):
    """Record alerts and pushes to the senders instead of sending them."""
    record = {"alerts": [], "pushes": []}
    import emailengine.alerts
    import emailengine.enforce

    def fake_alert(key, title, text, **kwargs):
        record["alerts"].append((key, title, text))
        return True

    def fake_push(settings, engine, actor, reason, job_run_id=None):
        record["pushes"].append(reason)
        return emailengine.enforce.EnforceResult()

    monkeypatch.setattr(emailengine.alerts, "send_alert", fake_alert)
    monkeypatch.setattr(emailengine.enforce, "push_state_to_senders", fake_push)
    return record


def tick(engine, day, **kwargs):
    return run.tick(load_settings(), engine, "system", day, **kwargs)


def test_tick_gives_lanes_to_warming_ips_without_them(engine, session, calls):
    add_ip(session, "192.0.2.1")
    add_ip(session, "192.0.2.2", state="ACTIVE")
    report = tick(engine, today())
    assert report.initialised == ["192.0.2.1"]
    lane_rows = lanes(session, "192.0.2.1")
    assert set(lane_rows) == {"gmail", "microsoft", "microsoft365", "yahoo", "apple", "other"}
    ip = session.scalar(select(Ip).where(Ip.address == "192.0.2.1"))
    assert ip.daily_quota == sum(row[4] for row in lane_rows.values()) > 0
    assert ip.hourly_quota == -(-ip.daily_quota // 24) and ip.warmup_plan == "default" and ip.warmup_day == 1
    assert lanes(session, "192.0.2.2") == {}
    assert calls["pushes"] == [f"warmup tick {today().isoformat()}"]


def test_clean_days_advance_each_lane_one_step_per_sending_day(engine, session, calls):
    add_ip(session, "192.0.2.1")
    tick(engine, today())
    quotas = []
    for offset in range(3):
        send_allowance(session, "192.0.2.1", today() + timedelta(days=offset))
        report = tick(engine, today() + timedelta(days=offset + 1))
        assert report.counts == {"advance": 6}
        quotas.append(session.scalar(select(Ip.daily_quota).where(Ip.address == "192.0.2.1")))
        session.expire_all()
    assert {row[0] for row in lanes(session, "192.0.2.1").values()} == {4}
    assert quotas == sorted(quotas) and quotas[0] < quotas[-1]
    decision = session.scalars(select(WarmupDecision).where(WarmupDecision.lane == "gmail")).first()
    assert decision.figures["sent"] == decision.figures["allowance"] and decision.rule


def test_tick_twice_for_the_same_date_changes_nothing(engine, session, calls):
    add_ip(session, "192.0.2.1")
    tick(engine, today())
    send_allowance(session, "192.0.2.1", today(), gmail={"delivered": 1, "hard": 5})
    tick(engine, today() + timedelta(days=1))
    once = snapshot(session)
    audit_rows = session.scalar(select(func.count()).select_from(AuditEntry))
    report = tick(engine, today() + timedelta(days=1))
    assert report.days == [] and report.decisions == []
    assert snapshot(session) == once
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_rows


def test_missed_days_are_caught_up_in_order(engine, session, calls):
    add_ip(session, "192.0.2.1")
    tick(engine, today())
    day0 = today()
    send_allowance(session, "192.0.2.1", day0)
    # The timer did not run for three days; the IP sent on day 0 only.
    report = tick(engine, day0 + timedelta(days=3))
    assert report.days == [day0, day0 + timedelta(days=1), day0 + timedelta(days=2)]
    gmail = [row for row in report.decisions if row["lane"] == "gmail"]
    assert [row["decision"] for row in gmail] == ["advance", "hold", "hold"]
    assert lanes(session, "192.0.2.1")["gmail"][:3] == (2, 1, 2)


def test_finishing_the_plan_promotes_to_active_through_the_lifecycle(engine, session, calls):
    session.add(WarmupPlan(name="short", description="", floor=10, target_daily=None,
                           fractions=[0.25, 0.5, 1.0], builtin=False, created_by="t"))
    session.commit()
    add_ip(session, "192.0.2.1", plan="short")
    tick(engine, today())
    for offset in range(3):
        send_allowance(session, "192.0.2.1", today() + timedelta(days=offset))
        report = tick(engine, today() + timedelta(days=offset + 1))
    assert report.promoted == ["192.0.2.1"]
    session.expire_all()
    ip = session.scalar(select(Ip).where(Ip.address == "192.0.2.1"))
    assert ip.state == "ACTIVE" and ip.daily_quota == load_settings().active_daily_quota
    event = session.scalars(select(IpEvent).where(IpEvent.ip_id == ip.id).order_by(IpEvent.id.desc())).first()
    assert (event.from_state, event.to_state) == ("WARMING", "ACTIVE") and "short" in event.reason


def test_complaint_spike_pauses_the_lanes_and_alerts(engine, session, calls):
    add_ip(session, "192.0.2.1")
    tick(engine, today())
    send_allowance(session, "192.0.2.1", today(), gmail={"delivered": 18, "complaints": 3})
    report = tick(engine, today() + timedelta(days=1))
    gmail = lanes(session, "192.0.2.1")["gmail"]
    assert gmail[3] is True and gmail[4] == 0  # paused, no quota
    assert any(row["decision"] == "pause" and row["lane"] == "gmail" for row in report.decisions)
    assert len(calls["alerts"]) == 1 and "gmail: pause" in calls["alerts"][0][2]
    # Next day the lane re-enters (pause over) and the step back alerts again.
    tick(engine, today() + timedelta(days=2))
    assert lanes(session, "192.0.2.1")["gmail"][3] is False
    assert len(calls["alerts"]) == 2


def test_open_critical_listing_pauses_every_lane(engine, session, calls):
    from tests.fakes.warmup import list_ip

    add_ip(session, "192.0.2.1")
    tick(engine, today())
    send_allowance(session, "192.0.2.1", today())
    list_ip(session, "192.0.2.1")
    tick(engine, today() + timedelta(days=1))
    assert all(row[3] for row in lanes(session, "192.0.2.1").values())
    assert session.scalar(select(Ip.daily_quota).where(Ip.address == "192.0.2.1")) == 0


def test_dry_run_writes_nothing_and_alerts_nobody(engine, session, calls):
    add_ip(session, "192.0.2.1")
    before = snapshot(session)
    report = tick(engine, today(), dry_run=True)
    assert report.initialised == ["192.0.2.1"]
    assert snapshot(session) == before and calls == {"alerts": [], "pushes": []}


def test_retiring_ramps_down_then_rests_then_rewarms(engine, session, calls):
    settings = load_settings()
    add_ip(session, "192.0.2.1", state="ACTIVE")
    set_state(session, "192.0.2.1", State.RETIRING)
    quotas = []
    for offset in range(settings.retire_ramp_days):
        tick(engine, today() + timedelta(days=offset))
        session.expire_all()
        quotas.append(session.scalar(select(Ip.daily_quota).where(Ip.address == "192.0.2.1")))
    assert quotas == sorted(quotas, reverse=True) and quotas[-1] > 0
    report = tick(engine, today() + timedelta(days=settings.retire_ramp_days))
    assert report.to_resting == ["192.0.2.1"]
    backdate(session, "192.0.2.1", settings.rest_days)
    report = tick(engine, today())
    assert report.rewarmed == ["192.0.2.1"]
    session.expire_all()
    ip = session.scalar(select(Ip).where(Ip.address == "192.0.2.1"))
    assert ip.state == "WARMING" and ip.warmup_day == settings.rewarm_day
    assert {row[0] for row in lanes(session, "192.0.2.1").values()} == {settings.rewarm_day}


def test_start_warming_is_the_public_entry_for_other_capabilities(engine, session):
    from emailengine.warmup import start_warming

    add_ip(session, "192.0.2.1", state="ACTIVE")
    ip = session.scalar(select(Ip).where(Ip.address == "192.0.2.1"))
    start_warming(session, ip, 5, load_settings())
    session.commit()
    assert {row[0] for row in lanes(session, "192.0.2.1").values()} == {5}
    assert ip.warmup_day == 5 and ip.daily_quota > 0


def test_lanes_go_at_graduation_and_a_manual_rewarm_starts_at_the_rewarm_day(engine, session, calls):
    session.add(WarmupPlan(name="tiny", description="", floor=10, target_daily=None, fractions=[0.5, 1.0],
                           builtin=False, created_by="t"))
    session.commit()
    add_ip(session, "192.0.2.1", plan="tiny")
    tick(engine, today())
    for offset in range(2):
        send_allowance(session, "192.0.2.1", today() + timedelta(days=offset))
        tick(engine, today() + timedelta(days=offset + 1))
    assert lanes(session, "192.0.2.1") == {}
    set_state(session, "192.0.2.1", State.RETIRING)
    set_state(session, "192.0.2.1", State.RESTING)
    set_state(session, "192.0.2.1", State.WARMING)  # what `ee ip set-state` does: no lanes yet
    report = tick(engine, today() + timedelta(days=2))
    assert report.initialised == ["192.0.2.1"]
    expected = min(load_settings().rewarm_day, 2)  # the plan has 2 steps
    assert {row[0] for row in lanes(session, "192.0.2.1").values()} == {expected}


def test_entry_step_depends_on_where_the_ip_came_from():
    settings = load_settings()
    assert run.entry_step(None, 3, settings) == 3
    assert run.entry_step("RESTING", 1, settings) == settings.rewarm_day
    assert run.entry_step("QUARANTINE", 1, settings) == settings.quarantine_rewarm_day
    assert run.entry_step("STANDBY", 9, settings) == 1
