"""Warmup plans: the default table, rounding, plan files (TOML/JSON) and their validation."""

import json

import pytest

from emailengine.errors import UsageError
from emailengine.warmup.plans import (
    DEFAULT_PLAN,
    parse_plan_text,
    plan_summary,
    plan_to_json,
    plan_to_toml,
    round_nice,
)

REFERENCE_TABLE = [50, 80, 140, 220, 370, 610, 1000, 1250, 1600, 2000, 2500, 3150, 3950, 5000, 5650, 6400, 7300,
                   8250, 9350, 10500, 12000, 13500, 15000, 16500, 18500, 20500, 22500, 25000, 26500, 28500, 30500,
                   32500, 35000, 37500, 40000, 41500, 42500, 44000, 45500, 47000, 48500, 50000]


def test_default_plan_reproduces_the_reference_table_at_50000():
    assert DEFAULT_PLAN.length == 42
    assert DEFAULT_PLAN.volumes(50_000) == REFERENCE_TABLE
    assert sum(DEFAULT_PLAN.volumes(50_000)) == 762_370


def test_default_plan_never_grows_more_than_double_and_never_shrinks():
    volumes = DEFAULT_PLAN.volumes(50_000)
    assert all(b >= a and b <= 2 * a for a, b in zip(volumes, volumes[1:], strict=False))


def test_target_scales_the_plan_but_keeps_the_floor():
    volumes = DEFAULT_PLAN.volumes(100_000)
    assert volumes[0] == 100 and volumes[-1] == 100_000
    assert DEFAULT_PLAN.volumes(1_000)[0] == 50


@pytest.mark.parametrize(("value", "expected"), [(82, 80), (137.5, 140), (6_420, 6_400), (12_260, 12_500)])
def test_round_nice_uses_coarser_units_for_larger_volumes(value, expected):
    assert round_nice(value) == expected


def test_toml_and_json_exports_read_back_to_the_same_plan():
    for text, name in ((plan_to_toml(DEFAULT_PLAN), "p.toml"), (plan_to_json(DEFAULT_PLAN), "p.json")):
        plan = parse_plan_text(text, name)
        assert plan.fractions == DEFAULT_PLAN.fractions
        assert plan.name == "default"


def test_volumes_plan_is_stored_as_fractions_of_its_last_step():
    plan = parse_plan_text(json.dumps({"name": "small", "volumes": [100, 150, 200]}), "small.json")
    assert plan.fractions == (0.5, 0.75, 1.0)
    assert plan.volumes(200) == [100, 150, 200]


@pytest.mark.parametrize(("text", "fragment"), [
    ('name = "x"\nfractions = [0.1, 0.5]', "grows 5.00×"),
    ('name = "x"\nfractions = [0.5, 0.2]', "lower than step 1"),
    ('name = "x"', "exactly one of fractions"),
    ('name = "Bad Name"\nfractions = [1.0]', "name must be"),
    ('name = "x"\nfractions = [0.5, 1.0]\ncolour = "red"', "unknown keys colour"),
    ('name = "x"\nfractions = [0.0, 1.0]', "not a positive number"),
    ('name = "x"\nfractions = [0.5, 1.5]', "each must be in (0, 1]"),
    ("name = [", "not valid TOML"),
])
def test_bad_plan_files_are_refused_naming_the_problem(text, fragment):
    with pytest.raises(UsageError) as caught:
        parse_plan_text(text, "plan.toml")
    assert fragment in caught.value.one_line()


def test_bad_json_is_refused():
    with pytest.raises(UsageError, match="not valid JSON"):
        parse_plan_text("{nope", "plan.json")


def test_summary_shows_weekly_milestones():
    summary = plan_summary(DEFAULT_PLAN, 50_000)
    assert (summary["day_1"], summary["day_7"], summary["day_14"], summary["day_42"]) == (50, 1000, 5000, 50000)
