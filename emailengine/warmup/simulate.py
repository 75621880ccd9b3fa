"""Run the real decision engine over synthetic daily figures (pure; no I/O, no clock).

A scenario is a baseline of clean rates plus events: from day N for K days, on one lane or all,
set a metric (complaint_rate, hard_rate, block_rate, deferral_rate, rep_deferred, sent_ratio,
listing). Built-ins: clean, complaint-spike (day 10), gmail-block-week (days 15-21).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from emailengine.errors import UsageError
from emailengine.providers import LANES
from emailengine.warmup import decide as d
from emailengine.warmup.plans import Plan

METRICS = ("complaint_rate", "hard_rate", "block_rate", "deferral_rate", "rep_deferred", "sent_ratio", "listing")
BASELINE = {"complaint_rate": 0.0002, "hard_rate": 0.005, "block_rate": 0.002, "deferral_rate": 0.02,
            "rep_deferred": 0.0, "sent_ratio": 1.0, "listing": 0.0}
LISTING_TIERS = {1: "minor", 2: "major", 3: "critical"}
_ROUTINE = ("insufficient", "idle day", "plan complete")


@dataclass(frozen=True)
class Event:
    day: int
    metric: str
    value: float
    days: int = 1
    lane: str = "all"

    def applies(self, day: int, lane: str) -> bool:
        return self.day <= day < self.day + self.days and self.lane in ("all", lane)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str = ""
    baseline: dict[str, float] = field(default_factory=lambda: dict(BASELINE))
    events: tuple[Event, ...] = ()

    def value(self, metric: str, day: int, lane: str) -> float:
        value = self.baseline.get(metric, BASELINE[metric])
        for event in self.events:
            if event.metric == metric and event.applies(day, lane):
                value = event.value
        return value


BUILTIN_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("clean", "every lane sends its full allowance with healthy rates"),
    Scenario("complaint-spike", "complaints jump to 0.5% on every lane on day 10",
             events=(Event(day=10, metric="complaint_rate", value=0.005),)),
    Scenario("gmail-block-week", "Gmail blocks 5% of the mail on days 15-21",
             events=(Event(day=15, days=7, lane="gmail", metric="block_rate", value=0.05),)),
)


def parse_scenario(text: str, filename: str) -> Scenario:
    """Parse a scenario file (TOML or JSON): name, description, baseline {metric: value},
    events [{day, metric, value, days = 1, lane = "all"}]; raise UsageError naming the problem."""
    import tomllib

    as_json = filename.lower().endswith(".json") or text.lstrip().startswith("{")
    try:
        data = json.loads(text) if as_json else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{filename}: not valid {'JSON' if as_json else 'TOML'}: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{filename}: a scenario must be a table/object")
    problems: list[str] = []
    unknown = sorted(set(data) - {"name", "description", "baseline", "events"})
    if unknown:
        problems.append(f"unknown keys {', '.join(unknown)}")
    baseline = dict(BASELINE)
    raw_baseline = data.get("baseline", {})
    if not isinstance(raw_baseline, dict):
        problems.append("baseline must be a table of metric = value")
        raw_baseline = {}
    for metric, value in raw_baseline.items():
        problem = _check_metric(metric, value)
        if problem:
            problems.append(f"baseline: {problem}")
        else:
            baseline[metric] = float(value)
    events = []
    raw_events = data.get("events", [])
    if not isinstance(raw_events, list):
        problems.append("events must be a list")
        raw_events = []
    for index, raw in enumerate(raw_events, start=1):
        event, problem = _event(raw)
        if problem:
            problems.append(f"event {index}: {problem}")
        elif event:
            events.append(event)
    if problems:
        raise UsageError(f"{filename}: " + "; ".join(problems[:20]))
    return Scenario(str(data.get("name") or filename), str(data.get("description", "")), baseline, tuple(events))


def _check_metric(metric: object, value: object) -> str | None:
    if metric not in METRICS:
        return f"unknown metric {metric!r} (one of {', '.join(METRICS)})"
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return f"{metric} must be a number ≥ 0"
    if str(metric).endswith("_rate") and value > 1:
        return f"{metric} is a fraction (0-1)"
    return None


def _event(raw: object) -> tuple[Event | None, str | None]:
    if not isinstance(raw, dict):
        return None, "must be a table"
    unknown = sorted(set(raw) - {"day", "days", "lane", "metric", "value"})
    if unknown:
        return None, f"unknown keys {', '.join(unknown)}"
    problem = _check_metric(raw.get("metric"), raw.get("value"))
    if problem:
        return None, problem
    day, days, lane = raw.get("day"), raw.get("days", 1), raw.get("lane", "all")
    if not isinstance(day, int) or day < 1 or not isinstance(days, int) or days < 1:
        return None, "day and days must be whole numbers ≥ 1"
    if lane != "all" and lane not in LANES:
        return None, f"unknown lane {lane!r} (all or one of {', '.join(LANES)})"
    return Event(day=day, metric=str(raw["metric"]), value=float(raw["value"]), days=days, lane=lane), None


def _figures(scenario: Scenario, day: int, lane: str, allowance: int) -> tuple[d.Figures, tuple[str, ...]]:
    sent = round(allowance * scenario.value("sent_ratio", day, lane))
    hard = round(sent * scenario.value("hard_rate", day, lane))
    block = round(sent * scenario.value("block_rate", day, lane))
    delivered = max(0, sent - hard - block)
    complaints = round(delivered * scenario.value("complaint_rate", day, lane))
    deferral = min(scenario.value("deferral_rate", day, lane), 0.99)
    deferred = round(sent * deferral / (1 - deferral))
    rep = round(scenario.value("rep_deferred", day, lane))
    tier = LISTING_TIERS.get(round(scenario.value("listing", day, lane)))
    return d.Figures(delivered=delivered, deferred=deferred, rep_deferred=rep, hard=hard, block=block,
                     complaints=complaints), ((tier,) if tier else ())


def simulate(plan: Plan, target: int, shares: dict[str, float], days: int, scenario: Scenario,
             thresholds: d.Thresholds, active_quota: int) -> list[dict[str, Any]]:
    """Return one row per simulated day: the state, the quota in force, what was sent, and each
    lane's decision and step after the day. The IP turns ACTIVE (flat active_quota) on graduation."""
    volumes = plan.volumes(target)
    lanes = {lane: d.LaneState(allowance=d.lane_allowance(1, False, shares.get(lane, 0.0), volumes)) for lane in LANES}
    history: dict[str, list[d.Figures]] = {lane: [] for lane in LANES}
    rows: list[dict[str, Any]] = []
    state = "WARMING"
    for day in range(1, days + 1):
        if state == "ACTIVE":
            rows.append({"day": day, "state": state, "quota": active_quota, "sent": active_quota, "lanes": {},
                         "events": []})
            continue
        quota = sum(lane.allowance for lane in lanes.values())
        sent, lane_rows, events = 0, {}, []
        for lane in LANES:
            current = lanes[lane]
            today, tiers = _figures(scenario, day, lane, current.allowance)
            window = sum(history[lane][-6:], today)
            previous = history[lane][-1] if history[lane] else d.Figures()
            decision = d.decide(lane, current, d.Inputs(today, previous, window, tiers), volumes, thresholds)
            history[lane].append(today)
            new = decision.state
            lanes[lane] = d.LaneState(new.plan_day, new.sending_days, new.idle_days, new.paused,
                                      d.lane_allowance(new.plan_day, new.paused, shares.get(lane, 0.0), volumes))
            sent += today.attempts
            lane_rows[lane] = {"decision": decision.action, "plan_day": new.plan_day}
            if decision.action != d.ADVANCE and not decision.rule.startswith(_ROUTINE):
                events.append(f"{lane} {decision.action}: {decision.rule}")
        rows.append({"day": day, "state": state, "quota": quota, "sent": sent, "lanes": lane_rows, "events": events})
        if d.graduated([x.plan_day for x in lanes.values()], [x.paused for x in lanes.values()],
                       [shares.get(lane, 0.0) for lane in LANES], plan.length):
            state = "ACTIVE"
    return rows


def summarise(name: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return a scenario's summary: day reached ACTIVE (or None), total sent, decision counts."""
    active_day = next((row["day"] for row in rows if row["state"] == "ACTIVE"), None)
    counts: dict[str, int] = {}
    for row in rows:
        for lane in row["lanes"].values():
            counts[lane["decision"]] = counts.get(lane["decision"], 0) + 1
    return {"scenario": name, "days": len(rows), "active_from_day": active_day,
            "total_sent": sum(row["sent"] for row in rows), "final_quota": rows[-1]["quota"] if rows else 0,
            "decisions": counts}


def terminal_chart(series: dict[str, Sequence[int]], height: int = 10, width: int = 60) -> list[str]:
    """Return a plain-text chart of daily quotas, one block of lines per series (for terminals
    without matplotlib)."""
    lines: list[str] = []
    for name, values in series.items():
        if not values:
            continue
        step = max(1, math.ceil(len(values) / width))
        sampled = [max(values[i:i + step]) for i in range(0, len(values), step)]
        top = max(sampled) or 1
        lines.append(f"{name} (max {top:,}/day, {len(values)} days, one column = {step} day(s))")
        for level in range(height, 0, -1):
            threshold = top * (level - 0.5) / height
            lines.append("  |" + "".join("█" if value >= threshold else " " for value in sampled))
        lines.append("  +" + "-" * len(sampled))
    return lines


def write_png(series: dict[str, Sequence[int]], path: str, title: str) -> bool:
    """Write a PNG chart of the series with matplotlib; return False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axis = plt.subplots(figsize=(10, 5))
    for name, values in series.items():
        axis.plot(range(1, len(values) + 1), values, label=name)
    axis.set_xlabel("day")
    axis.set_ylabel("daily quota (messages)")
    axis.set_title(title)
    axis.grid(True, alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True
