"""decide_row (the tick's hot path over plain values) gives exactly what decide() gives."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from emailengine.providers import LANES
from emailengine.warmup import decide as d
from emailengine.warmup.plans import DEFAULT_PLAN, Plan

VOLUMES = DEFAULT_PLAN.volumes(50_000)
SHORT = Plan(name="short", fractions=(0.01, 0.02, 0.04, 1.0)).volumes(50_000)
THRESHOLDS = [d.Thresholds(), d.Thresholds(step_back_days=3, pause_days=3), d.Thresholds(min_events=1),
              d.Thresholds(min_attempts=50, min_delivered=100, hard_hold=0.03, hard_step_back=0.02),
              d.Thresholds(rep_deferred_hold=5, rep_deferred_step_back=3, idle_grace_days=0, idle_restart_days=3)]


def small(top: int) -> st.SearchStrategy[int]:
    # Mostly zero or tiny (where the minimum-evidence rules bite), sometimes large.
    return st.one_of(st.just(0), st.integers(0, 3), st.integers(0, top))


counts = st.one_of(st.none(), st.tuples(
    small(3000), small(800), small(15), small(150), small(50), small(100), small(8),  # the day
    small(3000), small(8),  # the day before: delivered, complaints
    small(20000), small(5000), small(900), small(300), small(600), small(40),  # the window
))


def _same(lane, plan_day, sending_days, idle_days, paused, allowance, figures, tiers, volumes, t) -> None:
    decision, text = d.decide_row(lane, plan_day, sending_days, idle_days, paused, allowance, figures, tiers,
                                  volumes, t)
    c = figures or d.NO_COUNTS
    inputs = d.Inputs(d.Figures(*c[:7]), d.Figures(delivered=c[7], complaints=c[8]),
                      d.Figures(c[9], c[10], 0, c[11], c[12], c[13], c[14]), tiers)
    expected = d.decide(lane, d.LaneState(plan_day, sending_days, idle_days, paused, allowance), inputs, volumes, t)
    assert (decision.action, decision.rule, decision.state, decision.alert, decision.sent) == (
        expected.action, expected.rule, expected.state, expected.alert, expected.sent)
    assert text == json.dumps(expected.figures, separators=(",", ":"))
    assert json.loads(text) == expected.figures


@settings(max_examples=400, deadline=None)
@given(lane=st.sampled_from([*LANES, "unknown"]), plan_day=st.integers(1, 45), sending_days=st.integers(0, 50),
       idle_days=st.integers(0, 40), paused=st.booleans(), allowance=small(20000), figures=counts,
       tiers=st.sampled_from([(), ("minor",), ("major",), ("critical", "minor")]),
       volumes=st.sampled_from([VOLUMES, SHORT]), t=st.sampled_from(THRESHOLDS))
def test_decide_row_equals_decide(lane, plan_day, sending_days, idle_days, paused, allowance, figures, tiers,
                                  volumes, t):
    _same(lane, plan_day, sending_days, idle_days, paused, allowance, figures, tiers, volumes, t)


@settings(max_examples=300, deadline=None)
@given(lane=st.sampled_from(LANES), plan_day=st.integers(1, 44), allowance=st.integers(1, 5000),
       ratio=st.floats(0.5, 1.2), hard=small(40), complaints=small(4), idle_days=st.integers(0, 3))
def test_decide_row_equals_decide_on_the_common_clean_day(lane, plan_day, allowance, ratio, hard, complaints,
                                                          idle_days):
    # The bench's shape: sent around the allowance, a few bounces and complaints, nothing paused.
    sent = int(allowance * ratio)
    day = (sent, sent // 30, 0, hard, 0, 0, complaints)
    _same(lane, plan_day, 3, idle_days, False, allowance, (*day, 0, 0, sent, sent // 30, hard, 0, 0, complaints), (),
          VOLUMES, d.Thresholds())


def test_decide_row_takes_the_fast_path_for_clean_and_idle_lanes():
    decision, text = d.decide_row("gmail", 10, 3, 0, False, 1000, (1000, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 0, 0, 0, 0, 0),
                                  (), VOLUMES, d.Thresholds())
    assert (decision.action, decision.state.plan_day, json.loads(text)["sent_ratio"]) == ("advance", 11, 1.0)
    decision, text = d.decide_row("yahoo", 10, 3, 2, False, 1000, None, (), VOLUMES, d.Thresholds())
    assert (decision.action, decision.state.plan_day, json.loads(text)["sent"]) == ("step_back", 9, 0)


def test_thresholds_floors_are_the_lowest_limit_of_each_signal():
    t = d.Thresholds(hard_hold=0.2, hard_step_back=0.05, hard_pause=0.1, rep_deferred_hold=7, rep_deferred_step_back=3)
    assert t.floors == (0.05, t.complaint_hold, t.block_hold, t.deferral_hold, 3)
