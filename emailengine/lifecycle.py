"""IP lifecycle states and the one table of allowed transitions (pure; no I/O).

    ACTIVE → RETIRING → RESTING → WARMING → ACTIVE     (the rotation cycle)
    any sending or resting state → STANDBY              (blocklisted: out of rotation at once)
    STANDBY → QUARANTINE → WARMING                      (delisted, wait, then re-warm)
"""

from __future__ import annotations

from enum import StrEnum

from emailengine.errors import Conflict, UsageError


class State(StrEnum):
    ACTIVE = "ACTIVE"
    RETIRING = "RETIRING"
    RESTING = "RESTING"
    WARMING = "WARMING"
    STANDBY = "STANDBY"
    QUARANTINE = "QUARANTINE"


TRANSITIONS: dict[State, frozenset[State]] = {
    State.ACTIVE: frozenset({State.RETIRING, State.STANDBY}),
    # An operator may cancel a retirement; a listed retiring IP stops at once.
    State.RETIRING: frozenset({State.RESTING, State.ACTIVE, State.STANDBY}),
    # A resting IP can still be listed (its past traffic); it must then be delisted first.
    State.RESTING: frozenset({State.WARMING, State.STANDBY}),
    # Finishing the plan promotes; an operator may take a warming IP out to rest.
    State.WARMING: frozenset({State.ACTIVE, State.RESTING, State.STANDBY}),
    State.STANDBY: frozenset({State.QUARANTINE}),
    # Listed again while waiting: back to STANDBY; released: re-warm from a step-back day.
    State.QUARANTINE: frozenset({State.WARMING, State.STANDBY}),
}

# States whose IPs may carry mail: in PowerMTA pools and enabled in MailWizz.
SENDING_STATES: frozenset[State] = frozenset({State.ACTIVE, State.WARMING, State.RETIRING})

# The state a newly added IP starts in unless the operator says otherwise.
INITIAL_STATE = State.WARMING


def parse_state(text: str) -> State:
    """Return the State named by text (any case); raise UsageError listing the valid names."""
    try:
        return State(text.strip().upper())
    except ValueError:
        valid = ", ".join(state.value for state in State)
        raise UsageError(f"unknown state {text!r}", f"one of {valid}") from None


def allowed_from(state: State) -> list[State]:
    """Return the states reachable from state, sorted by name."""
    return sorted(TRANSITIONS[state], key=lambda s: s.value)


def can_transition(current: State, target: State) -> bool:
    """Return whether the lifecycle allows current → target."""
    return target in TRANSITIONS[current]


def check_transition(current: State, target: State) -> None:
    """Raise Conflict naming the allowed targets when current → target is not allowed."""
    if current == target:
        raise Conflict(f"IP is already {current.value}")
    if not can_transition(current, target):
        allowed = ", ".join(s.value for s in allowed_from(current)) or "none"
        raise Conflict(
            f"illegal transition {current.value} → {target.value}",
            f"from {current.value} the allowed states are: {allowed}",
        )


def replay(events: list[tuple[str | None, str]]) -> State | None:
    """Given (from, to) pairs in order, return the final state; raise Conflict on a broken chain."""
    state: State | None = None
    for from_state, to_state in events:
        if (State(from_state) if from_state else None) != state:
            raise Conflict(f"history broken: event from {from_state} while state was {state}")
        target = State(to_state)
        if state is not None:
            check_transition(state, target)
        state = target
    return state
