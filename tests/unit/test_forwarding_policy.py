"""Pure delivery decisions: classification, Retry-After, backoff, dead-letter limits."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emailengine.forwarding.policy import (
    DEAD,
    DELIVERED,
    RETRY,
    Attempt,
    backoff,
    classify,
    decide,
    parse_retry_after,
)
from emailengine.forwarding.saved import format_raw, parse_saved

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("code", "expected"), [
    (200, DELIVERED), (204, DELIVERED), (408, RETRY), (429, RETRY), (500, RETRY), (503, RETRY),
    (401, RETRY), (400, DEAD), (404, DEAD), (410, DEAD), (422, DEAD), (None, RETRY),
])
def test_classify(code, expected):
    assert classify(Attempt(code, None if code else "timeout")) == expected


def test_accepted_answer_counts_as_delivered():
    assert classify(Attempt(422, accepted=True)) == DELIVERED


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("120", NOW) == timedelta(seconds=120)
    assert parse_retry_after("Wed, 25 Nov 2026 10:05:00 GMT", NOW) == timedelta(minutes=5)
    assert parse_retry_after("garbage", NOW) is None
    assert parse_retry_after("999999", NOW) == timedelta(hours=24)


def test_retry_after_wins_over_a_shorter_backoff():
    outcome = decide(Attempt(429, retry_after="600"), 1, NOW, NOW, 20, timedelta(hours=72), 1, 10, random.Random(1))
    assert outcome.status == RETRY and outcome.next_attempt_at == NOW + timedelta(seconds=600)


def test_other_4xx_is_dead_with_the_response():
    outcome = decide(Attempt(400, response_text="bad event"), 1, NOW, NOW, 20, timedelta(hours=72), 1, 10,
                     random.Random(1))
    assert outcome.status == DEAD and outcome.last_error == "HTTP 400: bad event"


def test_limits_turn_retry_into_dead():
    rng = random.Random(1)
    assert decide(Attempt(500), 20, NOW, NOW, 20, timedelta(hours=72), 1, 10, rng).status == DEAD
    old = NOW - timedelta(hours=73)
    assert decide(Attempt(None, "timeout"), 2, old, NOW, 20, timedelta(hours=72), 1, 10, rng).status == DEAD


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=60), st.floats(min_value=0.01, max_value=600),
       st.floats(min_value=1, max_value=86400), st.integers())
def test_backoff_grows_is_capped_and_jittered_within_half(attempts, base, cap, seed):
    delay = backoff(attempts, base, cap, random.Random(seed)).total_seconds()
    nominal = min(cap, base * 2 ** min(attempts - 1, 30))
    assert nominal / 2 - 1e-6 <= delay <= nominal + 1e-6


def test_raw_http_saved_request_round_trips():
    raw = format_raw("POST", "/hook", {"X-EE-Key-Id": "k1", "Content-Type": "application/json"}, b'{"events":[]}\r\n')
    parsed = parse_saved(raw)
    assert parsed.method == "POST" and parsed.header("x-ee-key-id") == "k1"
    assert parsed.body == b'{"events":[]}\r\n'
