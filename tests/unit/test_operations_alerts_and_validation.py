"""Pure parts of alerting (dedupe/rate-limit decision, message text) and address validation."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emailengine.alerts import DEDUPLICATED, RATE_LIMITED, SEND, Alert, decide, format_message
from emailengine.metrics_update import ip_rates
from emailengine.validation.rules import (
    DNS_A,
    DNS_ERROR,
    DNS_MX,
    DNS_NONE,
    DNS_NULL_MX,
    DNS_NXDOMAIN,
    check_syntax,
    is_disposable,
    is_role,
    verdict,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_same_key_within_window_is_deduplicated_and_after_it_is_sent():
    assert decide(NOW - timedelta(minutes=10), 0, NOW, 60, 30) == DEDUPLICATED
    assert decide(NOW - timedelta(minutes=61), 0, NOW, 60, 30) == SEND
    assert decide(None, 0, NOW, 60, 30) == SEND


def test_state_change_alerts_skip_dedupe_but_not_the_hourly_limit():
    assert decide(NOW - timedelta(minutes=1), 0, NOW, 60, 30, dedupe=False) == SEND
    assert decide(None, 30, NOW, 60, 30, dedupe=False) == RATE_LIMITED


def test_hourly_budget_spent_is_rate_limited():
    assert decide(None, 29, NOW, 60, 30) == SEND
    assert decide(None, 30, NOW, 60, 30) == RATE_LIMITED


def test_message_says_what_where_and_what_to_do():
    text = format_message(Alert("listing:198.51.100.12:zen", "198.51.100.12 listed on zen.spamhaus.org",
                                "SBL listing", "critical", ip="198.51.100.12", domain="example.net",
                                action="request delisting"), "mta1")
    lines = text.splitlines()
    assert lines[0] == "🔴 CRITICAL: 198.51.100.12 listed on zen.spamhaus.org"
    assert "IP: 198.51.100.12" in lines and "Domain: example.net" in lines
    assert "What to do: request delisting" in lines
    assert lines[-1] == "host mta1 · key listing:198.51.100.12:zen"


def test_ip_rates_divide_by_attempts_and_deliveries_and_never_by_zero():
    rates = ip_rates(delivered=900, hard=50, soft=20, block=30, complaints=9)
    assert rates.attempts == 1000
    assert rates.hard_bounce_rate == pytest.approx(0.05)
    assert rates.block_rate == pytest.approx(0.03)
    assert rates.complaint_rate == pytest.approx(0.01)
    assert ip_rates(0, 0, 0, 0, 0).hard_bounce_rate == 0.0


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6),
       st.integers(0, 10**6))
def test_rates_are_fractions(delivered, hard, soft, block, complaints):
    rates = ip_rates(delivered, hard, soft, block, complaints)
    assert 0.0 <= rates.hard_bounce_rate <= 1.0 and 0.0 <= rates.block_rate <= 1.0
    assert rates.complaint_rate >= 0.0


def test_syntax_normalizes_domain_and_rejects_garbage():
    ok = check_syntax("  Bob.Smith@Example.COM ")
    assert ok.ok and ok.normalized == "Bob.Smith@example.com" and ok.domain == "example.com"
    for bad in ("", "no-at-sign", "a@@b.com", "a@b", "a b@example.com"):
        assert not check_syntax(bad).ok, bad


def test_role_and_disposable_flags():
    assert is_role("postmaster") and is_role("No-Reply") and is_role("info+news")
    assert not is_role("alice")
    assert is_disposable("mailinator.com") and is_disposable("eu.mailinator.com")
    assert not is_disposable("example.com") and not is_disposable("com")


@pytest.mark.parametrize(("address", "dns", "cause", "expected"), [
    ("alice@example.com", DNS_MX, "", "valid"),
    ("alice@example.com", DNS_A, "", "valid"),
    ("info@example.com", DNS_MX, "", "risky"),
    ("alice@mailinator.com", DNS_MX, "", "risky"),
    ("alice@example.com", DNS_MX, "soft", "risky"),
    ("alice@example.com", DNS_MX, "hard", "suppressed"),
    ("alice@example.com", DNS_MX, "complaint", "suppressed"),
    ("alice@example.com", DNS_ERROR, "", "unknown"),
    ("alice@example.com", DNS_NXDOMAIN, "", "invalid"),
    ("alice@example.com", DNS_NONE, "", "invalid"),
    ("alice@example.com", DNS_NULL_MX, "hard", "invalid"),
    ("not-an-address", "", "", "invalid"),
])
def test_verdicts(address, dns, cause, expected):
    result = verdict(check_syntax(address), dns, cause)
    assert result.verdict == expected
    assert (result.verdict == "valid") == (not result.reasons)
