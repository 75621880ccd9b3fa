"""Warmup plans as data (pure; no I/O): a plan is a list of daily volumes expressed as fractions
of a per-pool target, plus the parser/validator for plan files (TOML or JSON) and the writers.

The default plan is the 42-step table of the reference note (warmup.md §6.1): weekly milestones
50 → 1,000 → 5,000 → 12,000 → 25,000 → 40,000 → 50,000 at T = 50,000, geometric inside each week.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from emailengine.errors import UsageError

DEFAULT_PLAN_NAME = "default"

# warmup.md §6.1, "fraction of T" column, steps 1..42.
DEFAULT_FRACTIONS: tuple[float, ...] = (
    0.0010, 0.0016, 0.0028, 0.0044, 0.0074, 0.0122, 0.0200,
    0.0250, 0.0320, 0.0400, 0.0500, 0.0630, 0.0790, 0.1000,
    0.1130, 0.1280, 0.1460, 0.1650, 0.1870, 0.2100, 0.2400,
    0.2700, 0.3000, 0.3300, 0.3700, 0.4100, 0.4500, 0.5000,
    0.5300, 0.5700, 0.6100, 0.6500, 0.7000, 0.7500, 0.8000,
    0.8300, 0.8500, 0.8800, 0.9100, 0.9400, 0.9700, 1.0000,
)

MAX_STEPS = 120
MAX_GROWTH = 2.0  # Gmail: a sudden doubling triggers rate limiting, so no step may exceed it.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

ENGAGEMENT_GUIDANCE = (
    "weeks 1-2: only recipients engaged in the last 30 days; weeks 3-4: up to 60 days; "
    "nobody inactive for 90+ days before the plan ends; add older segments in ≤15% increments"
)


def round_nice(value: float) -> int:
    """Round a volume the way the reference table does: 5s below 100, 10s below 1,000,
    50s below 10,000, 500s above."""
    for limit, unit in ((100, 5), (1_000, 10), (10_000, 50)):
        if value < limit:
            return int(math.floor(value / unit + 0.5) * unit)
    return int(math.floor(value / 500 + 0.5) * 500)


@dataclass(frozen=True)
class Plan:
    """A warmup plan: name, fractions of the target per step, a floor, an optional own target."""

    name: str
    fractions: tuple[float, ...]
    description: str = ""
    floor: int = 50
    target_daily: int | None = None  # None: the pool's target (EE_WARMUP_POOL_TARGETS / EE_WARMUP_TARGET_DAILY)
    builtin: bool = False

    @property
    def length(self) -> int:
        return len(self.fractions)

    def volumes(self, target: int) -> list[int]:
        """Given the pool target, return the daily volume of each step (step 1 first)."""
        base = self.target_daily or target
        return [max(self.floor, round_nice(base * fraction)) for fraction in self.fractions]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "description": self.description, "floor": self.floor,
                                "fractions": list(self.fractions)}
        if self.target_daily:
            data["target_daily"] = self.target_daily
        return data


DEFAULT_PLAN = Plan(
    name=DEFAULT_PLAN_NAME,
    fractions=DEFAULT_FRACTIONS,
    description="42 sending days to the pool target (reference warmup.md §6.1)",
    builtin=True,
)


@dataclass
class _Problems:
    items: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.items.append(text)


def validate_plan_data(data: object, source: str = "plan") -> Plan:
    """Given the parsed content of a plan file, return the Plan; raise UsageError naming every
    problem (unknown keys, bad name, steps missing/out of range, decreasing or >2× growth)."""
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a plan must be a table/object with name and fractions or volumes")
    problems = _Problems()
    allowed = {"name", "description", "floor", "target_daily", "fractions", "volumes"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        problems.add(f"unknown keys {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add("name must be lowercase letters, digits, _ . - (at most 64)")
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.add("description must be a string")
    floor = _positive_int(data.get("floor", 50), "floor", problems, allow_zero=True)
    target = data.get("target_daily")
    if target is not None:
        target = _positive_int(target, "target_daily", problems)
    fractions = _steps(data, problems, target)
    if problems.items:
        raise UsageError(f"{source}: " + "; ".join(problems.items[:20]), "nothing was imported")
    return Plan(name=str(name), fractions=tuple(fractions), description=str(description), floor=floor or 0,
                target_daily=target)


def _positive_int(value: object, key: str, problems: _Problems, allow_zero: bool = False) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        problems.add(f"{key} must be a whole number {'≥ 0' if allow_zero else '≥ 1'}")
        return None
    return value


def _steps(data: dict[str, Any], problems: _Problems, target: int | None) -> list[float]:
    has_fractions, has_volumes = "fractions" in data, "volumes" in data
    if has_fractions == has_volumes:
        problems.add("give exactly one of fractions (of the target) or volumes (messages per day)")
        return []
    key = "fractions" if has_fractions else "volumes"
    raw = data[key]
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STEPS:
        problems.add(f"{key} must be a list of 1 to {MAX_STEPS} numbers")
        return []
    numbers: list[float] = []
    for index, value in enumerate(raw, start=1):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            problems.add(f"step {index}: {value!r} is not a positive number")
            return []
        numbers.append(float(value))
    if has_volumes:
        top = float(target or max(numbers))
        fractions = [value / top for value in numbers]
    else:
        fractions = numbers
        if any(value > 1.0 for value in fractions):
            problems.add("fractions are of the target: each must be in (0, 1]")
    _check_growth(numbers, problems)
    return [round(value, 6) for value in fractions]


def _check_growth(values: Sequence[float], problems: _Problems) -> None:
    for index in range(1, len(values)):
        previous, current = values[index - 1], values[index]
        if current < previous:
            problems.add(f"step {index + 1} is lower than step {index}; a plan only grows")
        elif current > previous * MAX_GROWTH + 1e-9:
            problems.add(f"step {index + 1} grows {current / previous:.2f}× over step {index}; at most {MAX_GROWTH:g}×")


def parse_plan_text(text: str, filename: str) -> Plan:
    """Parse a plan file's text: TOML for *.toml, JSON for *.json (else sniffed); raise UsageError."""
    import tomllib

    lowered = filename.lower()
    as_json = lowered.endswith(".json") or (not lowered.endswith(".toml") and text.lstrip().startswith("{"))
    try:
        data = json.loads(text) if as_json else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        kind = "JSON" if as_json else "TOML"
        raise UsageError(f"{filename}: not valid {kind}: {error}", "nothing was imported") from None
    return validate_plan_data(data, filename)


def plan_to_json(plan: Plan) -> str:
    """Return the plan as a JSON document that parse_plan_text reads back."""
    return json.dumps(plan.to_dict(), indent=2) + "\n"


def plan_to_toml(plan: Plan) -> str:
    """Return the plan as a TOML document that parse_plan_text reads back."""
    lines = [f"name = {json.dumps(plan.name)}", f"description = {json.dumps(plan.description)}",
             f"floor = {plan.floor}"]
    if plan.target_daily:
        lines.append(f"target_daily = {plan.target_daily}")
    lines.append("fractions = [")
    for start in range(0, plan.length, 7):
        chunk = ", ".join(repr(value) for value in plan.fractions[start:start + 7])
        lines.append(f"  {chunk},  # steps {start + 1}-{min(start + 7, plan.length)}")
    lines.append("]")
    return "\n".join(lines) + "\n"


def plan_summary(plan: Plan, target: int) -> dict[str, Any]:
    """Return the plain-data view of a plan at a target: length, milestones and all volumes."""
    volumes = plan.volumes(target)
    milestones = {f"day_{day}": volumes[day - 1] for day in (1, 7, 14, 21, 28, 35, 42) if day <= len(volumes)}
    return {"name": plan.name, "description": plan.description, "steps": plan.length, "builtin": plan.builtin,
            "target_daily": plan.target_daily or target, "floor": plan.floor, "total": sum(volumes),
            "last": volumes[-1], **milestones, "volumes": volumes}
