"""decide_row (the tick's hot path over plain values) gives exactly what decide() gives."""

import itertools
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


# The minimum volumes of the thresholds below, and their neighbours: where < and <= differ.
EDGES = st.sampled_from([49, 50, 51, 99, 100, 101, 199, 200, 201, 999, 1000, 1001])
# The plan's last steps: where "advance", "last step passed" and "plan complete" differ.
PLAN_DAY = st.one_of(st.integers(1, 45), st.sampled_from([len(VOLUMES) - 1, len(VOLUMES), len(VOLUMES) + 1]))


def small(top: int) -> st.SearchStrategy[int]:
    # Mostly zero or tiny (where the minimum-evidence rules bite), sometimes large or at an edge.
    return st.one_of(st.just(0), st.integers(0, 3), st.integers(0, top), EDGES)


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
@given(lane=st.sampled_from([*LANES, "unknown"]), plan_day=PLAN_DAY, sending_days=st.integers(0, 50),
       idle_days=st.integers(0, 40), paused=st.booleans(), allowance=small(20000), figures=counts,
       tiers=st.sampled_from([(), ("minor",), ("major",), ("critical", "minor")]),
       volumes=st.sampled_from([VOLUMES, SHORT]), t=st.sampled_from(THRESHOLDS))
def test_decide_row_equals_decide(lane, plan_day, sending_days, idle_days, paused, allowance, figures, tiers,
                                  volumes, t):
    _same(lane, plan_day, sending_days, idle_days, paused, allowance, figures, tiers, volumes, t)


@settings(max_examples=300, deadline=None)
@given(lane=st.sampled_from(LANES), plan_day=PLAN_DAY, allowance=st.one_of(st.integers(1, 5000), EDGES),
       ratio=st.floats(0.5, 1.2), hard=small(40), complaints=small(4), idle_days=st.integers(0, 3))
def test_decide_row_equals_decide_on_the_common_clean_day(lane, plan_day, allowance, ratio, hard, complaints,
                                                          idle_days):
    # The bench's shape: sent around the allowance, a few bounces and complaints, nothing paused.
    sent = int(allowance * ratio)
    day = (sent, sent // 30, 0, hard, 0, 0, complaints)
    _same(lane, plan_day, 3, idle_days, False, allowance, (*day, 0, 0, sent, sent // 30, hard, 0, 0, complaints), (),
          VOLUMES, d.Thresholds())


# Rates just under, at and over every limit of the default thresholds (and zero).
near_limits = st.sampled_from([0.0, 0.0009, 0.001, 0.0029, 0.003, 0.009, 0.01, 0.019, 0.02, 0.029, 0.03, 0.049,
                               0.05, 0.099, 0.1, 0.25, 0.3])


@settings(max_examples=400, deadline=None)
@given(lane=st.sampled_from([*LANES, "unknown"]), sent=st.one_of(st.integers(1, 4000), EDGES),
       window_factor=st.integers(1, 7),
       hard=near_limits, block=near_limits, deferral=near_limits, complaint=near_limits, previous=near_limits,
       rep=st.integers(0, 12), allowance=st.integers(0, 5000), t=st.sampled_from(THRESHOLDS))
def test_decide_row_equals_decide_near_the_limits(lane, sent, window_factor, hard, block, deferral, complaint,
                                                  previous, rep, allowance, t):
    hard_n, block_n = round(sent * hard), round(sent * block)
    delivered = max(0, sent - hard_n - block_n)
    day = (delivered, round(sent * deferral), rep, hard_n, 0, block_n, round(delivered * complaint))
    window = tuple(value * window_factor for value in (day[0], day[1], day[3], day[4], day[5], day[6]))
    figures = (*day, delivered, round(delivered * previous), *window)
    _same(lane, 12, 5, 0, False, allowance, figures, (), VOLUMES, t)


def test_decide_row_equals_decide_at_the_minimum_volumes():
    # Exactly at the minimum attempts/delivered (200/1,000 by default) a day is judged on its own
    # and the window is not: every combination around those edges, exhaustively.
    for delivered, hard, block, deferred, complaints, factor, lane in itertools.product(
            (199, 200, 201, 999, 1000, 1001), (0, 1, 2, 5), (0, 1, 3), (0, 1, 25, 60), (0, 1, 2), (1, 3, 200, 1000),
            ("gmail", "other")):
        # factor 200/1000: the window's attempts (or delivered) exactly at the minimum instead.
        w_delivered = delivered * factor if factor < 10 else max(0, factor - 3 * hard - 3 * block)
        window = (w_delivered, deferred * 3, hard * 3, 0, block * 3, complaints * 3) if factor >= 10 else (
            w_delivered, deferred * factor, hard * factor, 0, block * factor, complaints * factor)
        figures = (delivered, deferred, 0, hard, 0, block, complaints, delivered, complaints, *window)
        _same(lane, 42, 5, 0, False, delivered, figures, (), VOLUMES, d.Thresholds())


def test_decide_row_takes_the_fast_path_for_clean_and_idle_lanes():
    decision, text = d.decide_row("gmail", 10, 3, 0, False, 1000, (1000, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 0, 0, 0, 0, 0),
                                  (), VOLUMES, d.Thresholds())
    assert (decision.action, decision.state.plan_day, json.loads(text)["sent_ratio"]) == ("advance", 11, 1.0)
    decision, text = d.decide_row("yahoo", 10, 3, 2, False, 1000, None, (), VOLUMES, d.Thresholds())
    assert (decision.action, decision.state.plan_day, json.loads(text)["sent"]) == ("step_back", 9, 0)


def test_thresholds_floors_are_the_lowest_limit_of_each_signal():
    t = d.Thresholds(hard_hold=0.2, hard_step_back=0.05, hard_pause=0.1, rep_deferred_hold=7, rep_deferred_step_back=3)
    assert t.floors == (0.05, t.complaint_hold, t.block_hold, t.deferral_hold, 3)
