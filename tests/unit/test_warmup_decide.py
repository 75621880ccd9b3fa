"""The daily decision table (warmup.md §6.3), idle decay, pauses, and its properties."""

from hypothesis import given, settings
from hypothesis import strategies as st

from emailengine.providers import LANES
from emailengine.warmup import decide as d
from emailengine.warmup.plans import DEFAULT_PLAN, Plan

VOLUMES = DEFAULT_PLAN.volumes(50_000)
T = d.Thresholds()


def clean(sent: int) -> d.Figures:
    return d.Figures(delivered=sent)


def decide_day(day: d.Figures, state: d.LaneState | None = None, lane: str = "gmail", **inputs) -> d.Decision:
    state = state or d.LaneState(plan_day=10, allowance=1000)
    return d.decide(lane, state, d.Inputs(day=day, **inputs), VOLUMES, T)


def test_decide_advances_one_step_on_a_clean_full_day():
    decision = decide_day(clean(1000))
    assert (decision.action, decision.state.plan_day, decision.state.sending_days) == ("advance", 11, 1)


def test_decide_holds_when_sent_is_under_90_percent_of_the_allowance():
    decision = decide_day(clean(899))
    assert decision.action == "hold" and "insufficient volume" in decision.rule
    assert decision.state.sending_days == 1  # a sending day, but no step


def test_decide_advances_at_exactly_90_percent():
    assert decide_day(clean(900)).action == "advance"


def test_decide_holds_step_backs_and_pauses_by_hard_bounce_rate():
    def at(hard: int) -> str:
        return decide_day(d.Figures(delivered=1000 - hard, hard=hard)).action

    assert (at(19), at(20), at(50), at(100)) == ("advance", "hold", "step_back", "pause")


def test_decide_step_back_goes_to_the_highest_step_at_most_half_the_volume():
    decision = decide_day(d.Figures(delivered=950, hard=50), d.LaneState(plan_day=14, allowance=1000))
    assert VOLUMES[decision.state.plan_day - 1] <= VOLUMES[13] / 2 < VOLUMES[decision.state.plan_day]
    assert decision.alert


def test_decide_step_back_days_setting_goes_back_n_steps():
    t = d.Thresholds(step_back_days=3)
    decision = d.decide("gmail", d.LaneState(plan_day=14, allowance=1000),
                        d.Inputs(d.Figures(delivered=950, hard=50)), VOLUMES, t)
    assert decision.state.plan_day == 11


def test_decide_complaints_hold_then_step_back_two_days_running_then_pause():
    one_day = d.Figures(delivered=2000, complaints=2)  # 0.1 %
    assert decide_day(one_day).action == "hold"
    assert decide_day(one_day, previous=one_day).action == "step_back"
    assert decide_day(d.Figures(delivered=2000, complaints=6)).action == "pause"


def test_decide_single_event_on_small_volume_never_fires_a_rule():
    assert decide_day(d.Figures(delivered=50, complaints=1), d.LaneState(plan_day=1, allowance=50)).action == "advance"
    assert decide_day(d.Figures(delivered=50, complaints=2), d.LaneState(plan_day=1, allowance=50)).action == "pause"


def test_decide_pooled_window_can_hold_but_not_step_back():
    window = d.Figures(delivered=1000, block=100)
    decision = decide_day(clean(100), d.LaneState(plan_day=3, allowance=100), window=window)
    assert decision.action == "hold" and "over the last days" in decision.rule


def test_decide_block_and_deferral_rates():
    assert decide_day(d.Figures(delivered=990, block=10)).action == "hold"
    assert decide_day(d.Figures(delivered=970, block=30)).action == "step_back"
    assert decide_day(d.Figures(delivered=1000, deferred=112)).action == "hold"  # 10.07 %
    assert decide_day(d.Figures(delivered=1000, deferred=334)).action == "step_back"  # 25.04 %


def test_decide_reputation_deferrals_hold_big_lanes_only():
    day = d.Figures(delivered=1000, rep_deferred=1)
    assert decide_day(day, lane="gmail").action == "hold"
    assert decide_day(day, lane="other").action == "advance"
    assert decide_day(d.Figures(delivered=1000, rep_deferred=10), lane="yahoo").action == "step_back"


def test_decide_major_listing_pauses_and_minor_listing_holds_with_alert():
    major = decide_day(clean(1000), listing_tiers=("major",))
    assert major.action == "pause" and major.state.paused and major.alert
    minor = decide_day(clean(1000), listing_tiers=("minor",))
    assert minor.action == "hold" and minor.alert


def test_paused_lane_reenters_at_half_volume_after_the_pause_days():
    paused = d.LaneState(plan_day=20, paused=True, allowance=0)
    resumed = d.decide("gmail", paused, d.Inputs(d.Figures()), VOLUMES, T)
    assert resumed.action == "step_back" and not resumed.state.paused
    assert VOLUMES[resumed.state.plan_day - 1] <= VOLUMES[19] / 2
    longer = d.Thresholds(pause_days=3)
    still = d.decide("gmail", paused, d.Inputs(d.Figures()), VOLUMES, longer)
    assert still.action == "pause" and still.state.paused and not still.alert


def test_idle_days_hold_then_step_back_then_restart():
    state = d.LaneState(plan_day=40, allowance=1000)
    actions = []
    for _ in range(30):
        decision = d.decide("gmail", state, d.Inputs(d.Figures()), VOLUMES, T)
        actions.append(decision.action)
        state = decision.state
    assert actions[:2] == ["hold", "hold"]
    assert actions[2:29] == ["step_back"] * 27
    assert actions[-1] == "restart" and state.plan_day == 1
    assert state.sending_days == 0


def test_idle_decay_steps_back_one_step_per_extra_idle_day():
    state = d.LaneState(plan_day=20, idle_days=2, allowance=1000)
    decision = d.decide("gmail", state, d.Inputs(d.Figures()), VOLUMES, T)
    assert (decision.action, decision.state.plan_day) == ("step_back", 19)


def test_lane_allowance_and_hourly_quota():
    assert d.lane_allowance(1, False, 0.35, VOLUMES) == 18
    assert d.lane_allowance(1, True, 0.35, VOLUMES) == 0
    assert d.lane_allowance(43, False, 1.0, VOLUMES) == 50_000
    assert d.hourly_quota(50, 24) == 3


def test_retiring_quota_falls_every_day_to_zero():
    quotas = [d.retiring_quota(50_000, day, 7) for day in range(8)]
    assert quotas[0] < 50_000 and quotas[-1] == 0
    assert all(b < a for a, b in zip(quotas, quotas[1:], strict=False))


def test_normalise_shares_uses_measured_mix_only_with_enough_volume():
    fallback = {"gmail": 1.0}
    assert d.normalise_shares({"yahoo": 10}, fallback, LANES, 1000)["gmail"] == 1.0
    measured = d.normalise_shares({"yahoo": 3000, "gmail": 1000}, fallback, LANES, 1000)
    assert measured["yahoo"] == 0.75 and abs(sum(measured.values()) - 1) < 1e-9


# ---- properties ----------------------------------------------------------------------------

fractions = st.lists(st.floats(min_value=1.0, max_value=2.0), min_size=1, max_size=50).map(
    lambda growth: [min(1.0, 0.001 * _prod(growth[: i + 1])) for i in range(len(growth))])


def _prod(values):
    result = 1.0
    for value in values:
        result *= value
    return result


shares_strategy = st.dictionaries(st.sampled_from(LANES), st.integers(min_value=1, max_value=100), min_size=1)


@settings(max_examples=40, deadline=None)
@given(plan_fractions=fractions, raw_shares=shares_strategy, target=st.integers(min_value=100, max_value=200_000))
def test_property_clean_figures_reach_active_in_exactly_the_plan_length(plan_fractions, raw_shares, target):
    plan = Plan("p", tuple(sorted(plan_fractions)))
    volumes = plan.volumes(target)
    shares = d.normalise_shares(raw_shares, {}, LANES, 0)
    lanes = {lane: d.LaneState(allowance=d.lane_allowance(1, False, shares[lane], volumes)) for lane in LANES}
    day = 0
    while True:
        day += 1
        assert day <= plan.length
        for lane in LANES:
            state = lanes[lane]
            decision = d.decide(lane, state, d.Inputs(d.Figures(delivered=state.allowance)), volumes, T)
            new = decision.state
            lanes[lane] = d.LaneState(new.plan_day, new.sending_days, new.idle_days, new.paused,
                                      d.lane_allowance(new.plan_day, new.paused, shares[lane], volumes))
        if d.graduated([s.plan_day for s in lanes.values()], [s.paused for s in lanes.values()],
                       [shares[lane] for lane in LANES], plan.length):
            break
    assert day == plan.length


counts = st.integers(min_value=0, max_value=5000)


@settings(max_examples=200, deadline=None)
@given(delivered=counts, deferred=counts, rep=st.integers(0, 20), hard=counts, soft=counts, block=counts,
       complaints=st.integers(0, 50), prev_complaints=st.integers(0, 50), lane=st.sampled_from(LANES),
       plan_day=st.integers(1, 42), allowance=st.integers(0, 6000),
       tiers=st.lists(st.sampled_from(["minor", "major", "critical"]), max_size=2))
def test_property_any_threshold_breach_never_advances_that_day(delivered, deferred, rep, hard, soft, block,
                                                                complaints, prev_complaints, lane, plan_day,
                                                                allowance, tiers):
    day = d.Figures(delivered, deferred, rep, hard, soft, block, complaints)
    inputs = d.Inputs(day, d.Figures(delivered=delivered, complaints=prev_complaints), day, tuple(tiers))
    decision = d.decide(lane, d.LaneState(plan_day=plan_day, allowance=allowance), inputs, VOLUMES, T)
    judged = d.rates(inputs, T)
    breach = (
        (judged["hard_rate"] or 0) >= T.hard_hold or (judged["complaint_rate"] or 0) >= T.complaint_hold
        or (judged["block_rate"] or 0) >= T.block_hold or (judged["deferral_rate"] or 0) >= T.deferral_hold
        or (lane in d.BIG_LANES and rep >= T.rep_deferred_hold) or bool(tiers)
    )
    if breach:
        assert decision.action != "advance"
        assert decision.state.plan_day <= plan_day
    if decision.action == "advance":
        assert decision.state.plan_day == plan_day + 1
