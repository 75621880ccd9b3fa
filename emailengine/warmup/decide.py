"""The daily warmup decision for one IP × provider lane (pure: plain data in, a Decision out).

Precedence (warmup.md §6.3): PAUSE > STEP BACK > HOLD > ADVANCE; one action per lane per day,
at most one step up. Steps count sending days: a day with nothing sent neither advances nor
penalises, but more than EE_WARMUP_IDLE_GRACE_DAYS idle days step back one step per extra day
and EE_WARMUP_IDLE_RESTART_DAYS idle days restart the lane at step 1.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emailengine.config import Settings

ADVANCE, HOLD, STEP_BACK, PAUSE, RESTART = "advance", "hold", "step_back", "pause", "restart"
# The value classes below are slotted, not frozen: a tick builds several per lane (60,000 lanes for
# 10,000 IPs) and frozen construction costs five times as much. Treat them as immutable anyway.
SEVERITY = {HOLD: 1, STEP_BACK: 2, PAUSE: 3}
BIG_LANES = frozenset({"gmail", "microsoft", "microsoft365", "yahoo", "apple"})
STOP_TIERS = frozenset({"critical", "major"})


@dataclass(slots=True)
class Figures:
    """One lane's counters over a period (a day, or the pooled window)."""

    delivered: int = 0
    deferred: int = 0
    rep_deferred: int = 0
    hard: int = 0
    soft: int = 0
    block: int = 0
    complaints: int = 0

    @property
    def attempts(self) -> int:
        """Messages that reached a final outcome: what the lane actually sent."""
        return self.delivered + self.hard + self.soft + self.block

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(a + b for a, b in zip(astuple_ints(self), astuple_ints(other), strict=True)))


def astuple_ints(figures: Figures) -> tuple[int, ...]:
    return (figures.delivered, figures.deferred, figures.rep_deferred, figures.hard, figures.soft,
            figures.block, figures.complaints)


@dataclass(frozen=True)
class Thresholds:
    """Every number the decision uses; defaults are the reference note's (see Settings)."""

    min_sent_ratio: float = 0.9
    min_attempts: int = 200
    min_delivered: int = 1000
    min_events: int = 2
    hard_hold: float = 0.02
    hard_step_back: float = 0.05
    hard_pause: float = 0.10
    complaint_hold: float = 0.001
    complaint_pause: float = 0.003
    block_hold: float = 0.01
    block_step_back: float = 0.03
    deferral_hold: float = 0.10
    deferral_step_back: float = 0.25
    rep_deferred_hold: int = 1
    rep_deferred_step_back: int = 10
    step_back_days: int = 0
    pause_days: int = 1
    idle_grace_days: int = 2
    idle_restart_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        s = settings
        return cls(
            min_sent_ratio=s.warmup_min_sent_ratio, min_attempts=s.warmup_min_attempts,
            min_delivered=s.warmup_min_delivered, min_events=s.warmup_min_events,
            hard_hold=s.warmup_max_hard_bounce_rate, hard_step_back=s.warmup_step_back_hard_bounce_rate,
            hard_pause=s.warmup_pause_hard_bounce_rate, complaint_hold=s.warmup_max_complaint_rate,
            complaint_pause=s.warmup_pause_complaint_rate, block_hold=s.warmup_max_block_rate,
            block_step_back=s.warmup_step_back_block_rate, deferral_hold=s.warmup_max_deferral_rate,
            deferral_step_back=s.warmup_step_back_deferral_rate, rep_deferred_hold=s.warmup_rep_deferred_hold,
            rep_deferred_step_back=s.warmup_rep_deferred_step_back, step_back_days=s.warmup_step_back_days,
            pause_days=s.warmup_pause_days, idle_grace_days=s.warmup_idle_grace_days,
            idle_restart_days=s.warmup_idle_restart_days,
        )

    @cached_property
    def floors(self) -> tuple[float, float, float, float, int]:
        """The lowest limit of each signal (hard-bounce, complaint, block, deferral rate,
        reputation-coded deferrals): a value below it triggers no rule at all (decide_row's fast path)."""
        return (min(self.hard_pause, self.hard_step_back, self.hard_hold),
                min(self.complaint_pause, self.complaint_hold),
                min(self.block_step_back, self.block_hold),
                min(self.deferral_step_back, self.deferral_hold),
                min(self.rep_deferred_step_back, self.rep_deferred_hold))

    @cached_property
    def sent_ratio_text(self) -> str:
        """min_sent_ratio as decide() writes it in the insufficient-volume rule."""
        return f"{self.min_sent_ratio:.0%}"


@dataclass(slots=True)
class LaneState:
    """Where a lane stands before the day is judged; allowance is the quota it had that day."""

    plan_day: int = 1
    sending_days: int = 0
    idle_days: int = 0
    paused: bool = False
    allowance: int = 0


@dataclass(slots=True)
class Decision:
    """The outcome for one lane and day: the action, the rule, the new state and the figures."""

    action: str
    rule: str
    state: LaneState
    figures: dict[str, Any] = field(default_factory=dict)
    alert: bool = False
    sent: bool = False

    def finished(self, plan_length: int) -> bool:
        return self.state.plan_day > plan_length and not self.state.paused


@dataclass(slots=True)
class Inputs:
    """What is known about the lane's day: its counters, the day before, the pooled window, listings."""

    day: Figures
    previous: Figures = field(default_factory=Figures)
    window: Figures = field(default_factory=Figures)
    listing_tiers: tuple[str, ...] = ()


def _rate(events: int, denominator: int) -> float:
    return events / denominator if denominator else 0.0


def judged_rate(events: int, denominator: int, minimum: int, min_events: int) -> float | None:
    """Return the rate to judge, or None when there is not enough evidence: judged when the
    denominator reaches the minimum volume, or below it when at least min_events events happened
    (a single event never fires a rule on its own)."""
    if denominator and (denominator >= minimum or events >= min_events):
        return events / denominator
    return None


def _pair(events: int, denominator: int, window_events: int, window_denominator: int, minimum: int,
          min_events: int) -> tuple[float | None, float | None]:
    day = judged_rate(events, denominator, minimum, min_events)
    window = (window_events / window_denominator
              if denominator < minimum and window_denominator >= minimum else None)
    return day, window


def rates(inputs: Inputs, t: Thresholds) -> dict[str, float | None]:
    """Return the judged rates: `<metric>` for the day itself and `<metric>_window` for the
    pooled window, the latter only when the day alone is below the minimum volume."""
    day, window = inputs.day, inputs.window
    attempts, window_attempts = day.attempts, window.attempts
    judged: dict[str, float | None] = {}
    judged["hard_rate"], judged["hard_rate_window"] = _pair(
        day.hard, attempts, window.hard, window_attempts, t.min_attempts, t.min_events)
    judged["complaint_rate"], judged["complaint_rate_window"] = _pair(
        day.complaints, day.delivered, window.complaints, window.delivered, t.min_delivered, t.min_events)
    judged["block_rate"], judged["block_rate_window"] = _pair(
        day.block, attempts, window.block, window_attempts, t.min_attempts, t.min_events)
    judged["deferral_rate"], judged["deferral_rate_window"] = _pair(
        day.deferred, attempts + day.deferred, window.deferred, window_attempts + window.deferred,
        t.min_attempts, t.min_events)
    return judged


def findings(lane: str, inputs: Inputs, t: Thresholds,
             judged: dict[str, float | None] | None = None) -> list[tuple[str, str]]:
    """Return every (action, rule) the day's figures trigger, in no particular order. A rate
    pooled over the window (the day alone too small) can hold but never steps back or pauses:
    stale days must not punish the lane again and again."""
    found: list[tuple[str, str]] = []
    judged = judged if judged is not None else rates(inputs, t)
    for tier in inputs.listing_tiers:
        found.append((PAUSE if tier in STOP_TIERS else HOLD, f"open {tier} blocklist listing"))
    found += _rate_findings(judged, inputs, t, pooled=False)
    if inputs.day.attempts < t.min_attempts or inputs.day.delivered < t.min_delivered:
        found += [(HOLD, f"{rule} over the last days") for _, rule in _rate_findings(judged, inputs, t, pooled=True)]
    if lane in BIG_LANES:
        reputation = inputs.day.rep_deferred
        if reputation >= t.rep_deferred_step_back:
            found.append((STEP_BACK, f"{reputation} reputation-coded deferrals ≥ {t.rep_deferred_step_back}"))
        elif reputation >= t.rep_deferred_hold:
            found.append((HOLD, f"{reputation} reputation-coded deferral(s)"))
    return found


def _rate_findings(judged: dict[str, float | None], inputs: Inputs, t: Thresholds,
                   pooled: bool) -> list[tuple[str, str]]:
    suffix = "_window" if pooled else ""
    hard, complaint = judged[f"hard_rate{suffix}"], judged[f"complaint_rate{suffix}"]
    block, deferral = judged[f"block_rate{suffix}"], judged[f"deferral_rate{suffix}"]
    found: list[tuple[str, str]] = []
    if hard is not None:
        found += _graded("hard-bounce rate", hard, ((t.hard_pause, PAUSE), (t.hard_step_back, STEP_BACK),
                                                     (t.hard_hold, HOLD)))
    if complaint is not None:
        if complaint >= t.complaint_pause:
            found.append((PAUSE, f"complaint rate {complaint:.3%} ≥ {t.complaint_pause:.3%}"))
        elif complaint >= t.complaint_hold:
            previous = inputs.previous
            before = judged_rate(previous.complaints, previous.delivered, t.min_delivered, t.min_events)
            if not pooled and before is not None and before >= t.complaint_hold:
                found.append((STEP_BACK, f"complaint rate ≥ {t.complaint_hold:.3%} two days running"))
            else:
                found.append((HOLD, f"complaint rate {complaint:.3%} ≥ {t.complaint_hold:.3%}"))
    if block is not None:
        found += _graded("block rate", block, ((t.block_step_back, STEP_BACK), (t.block_hold, HOLD)))
    if deferral is not None:
        found += _graded("deferral rate", deferral, ((t.deferral_step_back, STEP_BACK), (t.deferral_hold, HOLD)))
    return found


def _graded(name: str, value: float, levels: Sequence[tuple[float, str]]) -> list[tuple[str, str]]:
    for limit, action in levels:
        if value >= limit:
            return [(action, f"{name} {value:.2%} ≥ {limit:.2%}")]
    return []


def step_back_target(plan_day: int, volumes: Sequence[int], step_back_days: int) -> int:
    """Return the step to go back to: N steps back when configured, else the highest step whose
    volume is at most half the current step's (warmup.md §6.3); never below step 1."""
    if step_back_days > 0:
        return max(1, plan_day - step_back_days)
    current = volumes[min(plan_day, len(volumes)) - 1]
    target = 1
    for step, volume in enumerate(volumes, start=1):
        if volume <= current / 2 and step < plan_day:
            target = step
    return target


def figures_dict(inputs: Inputs, allowance: int, judged: dict[str, float | None]) -> dict[str, Any]:
    """The figures stored with a decision (plain JSON data)."""
    day = inputs.day
    sent = day.attempts
    figures: dict[str, Any] = {
        "delivered": day.delivered, "deferred": day.deferred, "rep_deferred": day.rep_deferred, "hard": day.hard,
        "soft": day.soft, "block": day.block, "complaints": day.complaints, "sent": sent, "allowance": allowance,
        "sent_ratio": round(sent / allowance, 4) if allowance else None,
    }
    for key, value in judged.items():
        if value is not None or not key.endswith("_window"):
            figures[key] = round(value, 6) if value is not None else None
    if inputs.listing_tiers:
        figures["listings"] = list(inputs.listing_tiers)
    return figures


def decide(lane: str, state: LaneState, inputs: Inputs, volumes: Sequence[int], t: Thresholds) -> Decision:
    """Given a lane's state before the day, the day's inputs, the plan's volumes (step 1 first)
    and the thresholds, return the decision with the lane's new state (allowance unchanged;
    the caller computes the next allowance from the new plan_day)."""
    judged = rates(inputs, t)
    figures = figures_dict(inputs, state.allowance, judged)
    found = findings(lane, inputs, t, judged)
    stop = [rule for action, rule in found if action == PAUSE and "listing" in rule]
    if stop:
        return _pause(state, stop[0], figures, new=not state.paused)
    if state.paused:
        return _while_paused(state, inputs, volumes, t, figures)
    if inputs.day.attempts == 0:
        return _idle(state, volumes, t, figures)
    sending = LaneState(state.plan_day, state.sending_days + 1, 0, state.paused, state.allowance)
    if found:
        action, rule = max(found, key=lambda item: SEVERITY[item[0]])
        rules = "; ".join(r for a, r in found if a == action)
        if action == PAUSE:
            return _pause(sending, rules, figures, new=True, sent=True)
        if action == STEP_BACK:
            target = step_back_target(state.plan_day, volumes, t.step_back_days)
            return Decision(STEP_BACK, rules, replace(sending, plan_day=target), figures, alert=True, sent=True)
        alert = any("listing" in r for a, r in found)
        return Decision(HOLD, rules, sending, figures, alert=alert, sent=True)
    needed = math.ceil(t.min_sent_ratio * state.allowance)
    if inputs.day.attempts < needed:
        rule = f"insufficient volume: sent {inputs.day.attempts} < {needed} ({t.min_sent_ratio:.0%} of {state.allowance})"
        return Decision(HOLD, rule, sending, figures, sent=True)
    if state.plan_day > len(volumes):
        return Decision(HOLD, "plan complete; clean day", sending, figures, sent=True)
    rule = "clean day, sent enough" if state.plan_day < len(volumes) else "last step passed clean: plan complete"
    advanced = LaneState(state.plan_day + 1, sending.sending_days, 0, sending.paused, sending.allowance)
    return Decision(ADVANCE, rule, advanced, figures, sent=True)


def _pause(state: LaneState, rule: str, figures: dict[str, Any], new: bool, sent: bool = False) -> Decision:
    return Decision(PAUSE, rule, replace(state, paused=True, idle_days=0 if new else state.idle_days),
                    figures, alert=new, sent=sent)


def _while_paused(state: LaneState, inputs: Inputs, volumes: Sequence[int], t: Thresholds,
                  figures: dict[str, Any]) -> Decision:
    idle = state.idle_days + 1
    if idle < t.pause_days:
        return Decision(PAUSE, f"paused: day {idle} of {t.pause_days}", replace(state, idle_days=idle), figures,
                        sent=inputs.day.attempts > 0)
    target = step_back_target(state.plan_day, volumes, t.step_back_days)
    rule = f"pause over after {idle} day(s): re-enter at step {target} (half the volume)"
    return Decision(STEP_BACK, rule, replace(state, paused=False, idle_days=0, plan_day=target), figures,
                    alert=True, sent=inputs.day.attempts > 0)


def _idle(state: LaneState, volumes: Sequence[int], t: Thresholds, figures: dict[str, Any]) -> Decision:
    idle = state.idle_days + 1
    idled = replace(state, idle_days=idle)
    if idle >= t.idle_restart_days and state.plan_day > 1:
        return Decision(RESTART, f"idle {idle} days ≥ {t.idle_restart_days}: restart at step 1",
                        replace(idled, plan_day=1), figures)
    if idle > t.idle_grace_days and state.plan_day > 1:
        target = min(state.plan_day, len(volumes)) - 1 if state.plan_day > len(volumes) else state.plan_day - 1
        return Decision(STEP_BACK, f"idle {idle} days > {t.idle_grace_days}: one step back",
                        replace(idled, plan_day=max(1, target)), figures)
    return Decision(HOLD, f"idle day {idle}: nothing sent, no change", idled, figures)



# ---- the same decision over plain values (the tick's hot path) -----------------------------

NO_COUNTS = (0,) * 15


@lru_cache(maxsize=1 << 16)
def _ratio_json(events: int, denominator: int, digits: int) -> str:
    # repr(round(x, n)) is what json.dumps writes for a rounded rate, and float repr is the single
    # most expensive step of a lane's decision; counts repeat a lot, so the text is cached.
    return repr(round(events / denominator, digits))


def _json_window(key: str, value: float | None) -> str:
    return "" if value is None else f',"{key}_window":{round(value, 6)!r}'


def decide_row(lane: str, plan_day: int, sending_days: int, idle_days: int, paused: bool, allowance: int,
               counts: Sequence[int] | None, listing_tiers: tuple[str, ...], volumes: Sequence[int],
               t: Thresholds) -> tuple[Decision, str]:
    """Return exactly what decide() returns for the lane, for plain values instead of objects:
    (the Decision, its figures as compact JSON text, i.e. json.dumps(figures, separators=(",", ":"))).
    The Decision's figures dict may be left empty: the JSON text is the record.

    counts: the day's delivered, deferred, rep_deferred, hard, soft, block, complaints; the day
    before's delivered, complaints; the window's delivered, deferred, hard, soft, block,
    complaints — or None when the lane has no figures at all.

    Lanes that are not paused, not listed and either idle or triggering no rule (the vast
    majority) are decided here without building Inputs, rate dicts and finding lists; every other
    lane goes through decide() itself. Equality with decide() is property-tested.
    """
    c = NO_COUNTS if counts is None else counts
    if paused or listing_tiers:
        return _decide_full(lane, plan_day, sending_days, idle_days, paused, allowance, c, listing_tiers, volumes, t)
    (delivered, deferred, rep, hard, soft, block, complaints, _, _,
     w_delivered, w_deferred, w_hard, w_soft, w_block, w_complaints) = c
    min_attempts, min_delivered, min_events = t.min_attempts, t.min_delivered, t.min_events
    attempts = delivered + hard + soft + block
    w_attempts = w_delivered + w_hard + w_soft + w_block
    tried, w_tried = attempts + deferred, w_attempts + w_deferred
    # The same expressions as judged_rate() and _pair(), so the same floats come out.
    hard_rate = hard / attempts if attempts and (attempts >= min_attempts or hard >= min_events) else None
    hard_w = w_hard / w_attempts if attempts < min_attempts and w_attempts >= min_attempts else None
    complaint_rate = (complaints / delivered if delivered and (delivered >= min_delivered or complaints >= min_events)
                      else None)
    complaint_w = w_complaints / w_delivered if delivered < min_delivered and w_delivered >= min_delivered else None
    block_rate = block / attempts if attempts and (attempts >= min_attempts or block >= min_events) else None
    block_w = w_block / w_attempts if attempts < min_attempts and w_attempts >= min_attempts else None
    deferral_rate = deferred / tried if tried and (tried >= min_attempts or deferred >= min_events) else None
    deferral_w = w_deferred / w_tried if tried < min_attempts and w_tried >= min_attempts else None
    if attempts:
        hard_floor, complaint_floor, block_floor, deferral_floor, rep_floor = t.floors
        pooled = attempts < min_attempts or delivered < min_delivered
        if ((hard_rate is not None and hard_rate >= hard_floor)
                or (complaint_rate is not None and complaint_rate >= complaint_floor)
                or (block_rate is not None and block_rate >= block_floor)
                or (deferral_rate is not None and deferral_rate >= deferral_floor)
                or (pooled and ((hard_w is not None and hard_w >= hard_floor)
                                or (complaint_w is not None and complaint_w >= complaint_floor)
                                or (block_w is not None and block_w >= block_floor)
                                or (deferral_w is not None and deferral_w >= deferral_floor)))
                or (rep >= rep_floor and lane in BIG_LANES)):
            return _decide_full(lane, plan_day, sending_days, idle_days, paused, allowance, c, listing_tiers,
                                volumes, t)
    # json.dumps(figures_dict(...), separators=(",", ":")) written out: same key order, json's float repr.
    null, ratio = "null", _ratio_json
    text = (
        f'{{"delivered":{delivered},"deferred":{deferred},"rep_deferred":{rep},"hard":{hard},"soft":{soft},'
        f'"block":{block},"complaints":{complaints},"sent":{attempts},"allowance":{allowance},"sent_ratio":'
        f'{ratio(attempts, allowance, 4) if allowance else null}'
        f',"hard_rate":{null if hard_rate is None else ratio(hard, attempts, 6)}'
        f'{_json_window("hard_rate", hard_w) if hard_w is not None else ""}'
        f',"complaint_rate":{null if complaint_rate is None else ratio(complaints, delivered, 6)}'
        f'{_json_window("complaint_rate", complaint_w) if complaint_w is not None else ""}'
        f',"block_rate":{null if block_rate is None else ratio(block, attempts, 6)}'
        f'{_json_window("block_rate", block_w) if block_w is not None else ""}'
        f',"deferral_rate":{null if deferral_rate is None else ratio(deferred, tried, 6)}'
        f'{_json_window("deferral_rate", deferral_w) if deferral_w is not None else ""}}}'
    )
    if not attempts:
        return _idle(LaneState(plan_day, sending_days, idle_days, paused, allowance), volumes, t, {}), text
    # No rule fired: the tail of decide().
    needed = math.ceil(t.min_sent_ratio * allowance)
    if attempts < needed:
        rule = f"insufficient volume: sent {attempts} < {needed} ({t.sent_ratio_text} of {allowance})"
        return Decision(HOLD, rule, LaneState(plan_day, sending_days + 1, 0, paused, allowance), {}, False, True), text
    if plan_day > len(volumes):
        return Decision(HOLD, "plan complete; clean day", LaneState(plan_day, sending_days + 1, 0, paused, allowance),
                        {}, False, True), text
    rule = "clean day, sent enough" if plan_day < len(volumes) else "last step passed clean: plan complete"
    return Decision(ADVANCE, rule, LaneState(plan_day + 1, sending_days + 1, 0, paused, allowance), {}, False,
                    True), text


def _decide_full(lane: str, plan_day: int, sending_days: int, idle_days: int, paused: bool, allowance: int,
                 c: Sequence[int], listing_tiers: tuple[str, ...], volumes: Sequence[int],
                 t: Thresholds) -> tuple[Decision, str]:
    inputs = Inputs(Figures(c[0], c[1], c[2], c[3], c[4], c[5], c[6]), Figures(delivered=c[7], complaints=c[8]),
                    Figures(c[9], c[10], 0, c[11], c[12], c[13], c[14]), listing_tiers)
    decision = decide(lane, LaneState(plan_day, sending_days, idle_days, paused, allowance), inputs, volumes, t)
    return decision, json.dumps(decision.figures, separators=(",", ":"))

# ---- from lanes to the IP -----------------------------------------------------------------


def lane_allowance(plan_day: int, paused: bool, share: float, volumes: Sequence[int]) -> int:
    """Return a lane's daily quota: its step's volume × the lane's share (0 while paused)."""
    if paused or share <= 0 or not volumes:
        return 0
    volume = volumes[min(plan_day, len(volumes)) - 1]
    return max(1, math.ceil(volume * share))


def hourly_quota(daily: int, sending_hours: int) -> int:
    """Return ceil(daily ÷ sending hours): the allowance spread evenly over the sending window."""
    return math.ceil(daily / sending_hours) if daily else 0


def ip_warmup_day(plan_days: Sequence[int], shares: Sequence[float]) -> int:
    """Return the IP's warmup day: the least advanced lane that carries traffic."""
    active = [day for day, share in zip(plan_days, shares, strict=True) if share > 0]
    return min(active or plan_days or [1])


def graduated(plan_days: Sequence[int], paused: Sequence[bool], shares: Sequence[float], plan_length: int) -> bool:
    """Return whether every lane that carries traffic has passed the plan's last step, none paused."""
    carrying = [(day, stop) for day, stop, share in zip(plan_days, paused, shares, strict=True) if share > 0]
    return bool(carrying) and all(day > plan_length and not stop for day, stop in carrying)


def normalise_shares(measured: dict[str, int], fallback: dict[str, float], lanes: Sequence[str],
                     min_volume: int) -> dict[str, float]:
    """Return each lane's share of the stream: measured volumes when the pool sent at least
    min_volume over the window, else the configured fallback mix; shares add up to 1."""
    total = sum(measured.get(lane, 0) for lane in lanes)
    source: dict[str, float] = (
        {lane: float(measured.get(lane, 0)) for lane in lanes} if total >= max(min_volume, 1)
        else {lane: float(fallback.get(lane, 0.0)) for lane in lanes}
    )
    whole = sum(source.values()) or 1.0
    return {lane: value / whole for lane, value in source.items()}


def retiring_quota(active_quota: int, days_retiring: int, ramp_days: int) -> int:
    """Return a RETIRING IP's daily volume on its n-th day (0 = the day it was retired): falls
    linearly from active × R/(R+1) to active × 1/(R+1), so the other IPs absorb it gradually."""
    remaining = max(0, ramp_days - days_retiring)
    return math.ceil(active_quota * remaining / (ramp_days + 1))
