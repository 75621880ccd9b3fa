"""The lifecycle table as a state machine: random command sequences never reach an illegal
state, and the recorded history replays to the current state."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emailengine.errors import Conflict, UsageError
from emailengine.lifecycle import (
    SENDING_STATES,
    TRANSITIONS,
    State,
    allowed_from,
    can_transition,
    check_transition,
    parse_state,
    replay,
)


def test_every_state_has_a_row_and_targets_are_states():
    assert set(TRANSITIONS) == set(State)
    for targets in TRANSITIONS.values():
        assert targets <= set(State)


def test_rotation_cycle_is_allowed():
    cycle = [State.ACTIVE, State.RETIRING, State.RESTING, State.WARMING, State.ACTIVE]
    for current, target in zip(cycle, cycle[1:], strict=False):
        assert can_transition(current, target)


def test_blocklisted_ip_must_pass_quarantine_before_warming():
    assert not can_transition(State.STANDBY, State.WARMING)
    assert not can_transition(State.STANDBY, State.ACTIVE)
    assert can_transition(State.STANDBY, State.QUARANTINE)
    assert can_transition(State.QUARANTINE, State.WARMING)


def test_every_sending_state_can_leave_for_standby():
    for state in SENDING_STATES:
        assert can_transition(state, State.STANDBY)


def test_illegal_transition_names_the_allowed_ones():
    with pytest.raises(Conflict) as error:
        check_transition(State.WARMING, State.QUARANTINE)
    assert "ACTIVE, RESTING, STANDBY" in error.value.one_line()


def test_parse_state_is_case_insensitive_and_rejects_unknown():
    assert parse_state("warming") is State.WARMING
    with pytest.raises(UsageError, match="unknown state"):
        parse_state("HOT")


@settings(max_examples=300, deadline=None)
@given(start=st.sampled_from(list(State)), commands=st.lists(st.sampled_from(list(State)), max_size=40))
def test_random_commands_never_reach_an_illegal_state_and_history_replays(start, commands):
    state = start
    history: list[tuple[str | None, str]] = [(None, start.value)]
    for target in commands:
        try:
            check_transition(state, target)
        except Conflict:
            assert target == state or target not in TRANSITIONS[state]
            continue
        assert target in allowed_from(state)
        history.append((state.value, target.value))
        state = target
    assert replay(history) is state


def test_replay_detects_a_broken_history():
    with pytest.raises(Conflict):
        replay([(None, "ACTIVE"), ("WARMING", "ACTIVE")])
    with pytest.raises(Conflict):
        replay([(None, "STANDBY"), ("STANDBY", "ACTIVE")])
