"""The simulator runs the real decision engine over scenarios; scenario files are validated."""

import pytest

from emailengine.errors import UsageError
from emailengine.providers import LANES
from emailengine.warmup import decide as d
from emailengine.warmup.plans import DEFAULT_PLAN
from emailengine.warmup.simulate import (
    BUILTIN_SCENARIOS,
    parse_scenario,
    simulate,
    summarise,
    terminal_chart,
)

SHARES = d.normalise_shares({}, {"gmail": 0.4, "microsoft": 0.3, "yahoo": 0.2, "other": 0.1}, LANES, 0)


def run(name: str, days: int = 60):
    scenario = next(s for s in BUILTIN_SCENARIOS if s.name == name)
    return simulate(DEFAULT_PLAN, 50_000, SHARES, days, scenario, d.Thresholds(), 50_000)


def test_clean_scenario_is_active_after_exactly_42_days():
    rows = run("clean")
    assert summarise("clean", rows)["active_from_day"] == 43
    assert rows[0]["quota"] == sum(d.lane_allowance(1, False, s, DEFAULT_PLAN.volumes(50_000)) for s in SHARES.values())


def test_complaint_spike_pauses_on_day_10_and_delays_graduation():
    rows = run("complaint-spike")
    assert any("pause" in event for event in rows[9]["events"])
    active = summarise("complaint-spike", rows)["active_from_day"]
    assert active is None or active > 43


def test_gmail_block_week_steps_gmail_back_only():
    rows = run("gmail-block-week")
    day15 = rows[14]["lanes"]
    assert day15["gmail"]["decision"] == "step_back" and day15["microsoft"]["decision"] == "advance"


@pytest.mark.parametrize("name", ["clean", "gmail-block-week"])
def test_quota_never_more_than_doubles_in_a_day_after_day_7(name):
    quotas = [row["quota"] for row in run(name) if row["state"] == "WARMING"]
    assert all(b <= 2 * a for a, b in zip(quotas[7:], quotas[8:], strict=False))


def test_scenario_file_parses_and_bad_ones_are_refused():
    scenario = parse_scenario('name = "yahoo"\n[[events]]\nday = 3\nlane = "yahoo"\nmetric = "rep_deferred"\n'
                              'value = 12\n', "s.toml")
    assert scenario.value("rep_deferred", 3, "yahoo") == 12 and scenario.value("rep_deferred", 3, "gmail") == 0
    with pytest.raises(UsageError, match="unknown metric"):
        parse_scenario('{"events": [{"day": 1, "metric": "spam", "value": 1}]}', "s.json")
    with pytest.raises(UsageError, match="unknown lane"):
        parse_scenario('{"events": [{"day": 1, "lane": "aol", "metric": "hard_rate", "value": 0.1}]}', "s.json")


def test_terminal_chart_draws_one_block_per_series():
    lines = terminal_chart({"clean": [1, 2, 3, 4]}, height=4)
    assert lines[0].startswith("clean") and len(lines) == 6 and "█" in lines[4]
