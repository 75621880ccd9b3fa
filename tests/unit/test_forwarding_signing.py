"""Pure signing and verification: HMAC header, JWT, key ring rules."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import jwt
from hypothesis import given, settings
from hypothesis import strategies as st

from emailengine.forwarding.signing import (
    KeyData,
    canonical_body,
    current_key,
    parse_duration,
    rotation_plan,
    sign_headers,
    verify_request,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
KEY = KeyData("k1", "s" * 64, NOW - timedelta(days=1), current=True)
BODY = canonical_body([{"id": "e1", "type": "hard_bounce", "email": "a@example.org"}])


def test_hmac_header_is_hex_hmac_sha256_over_timestamp_dot_body():
    headers = sign_headers(KEY, BODY, NOW, "emailengine")
    expected = hmac.new(KEY.secret.encode(), f"{int(NOW.timestamp())}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers["X-EE-Signature"] == f"v1={expected}"
    assert headers["X-EE-Key-Id"] == "k1" and headers["X-EE-Timestamp"] == str(int(NOW.timestamp()))


def test_jwt_has_kid_claims_and_lives_at_most_five_minutes():
    token = sign_headers(KEY, BODY, NOW, "emailengine", jti="j1")["Authorization"].removeprefix("Bearer ")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    claims = jwt.decode(token, KEY.secret, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False})
    assert claims == {"iss": "emailengine", "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 300,
                      "jti": "j1", "body_sha256": hashlib.sha256(BODY).hexdigest()}


def test_valid_request_verifies():
    verdict = verify_request(sign_headers(KEY, BODY, NOW, "emailengine"), BODY, [KEY], NOW + timedelta(seconds=30))
    assert verdict.valid and verdict.problems == ()


def test_timestamp_outside_window_is_rejected_as_replay():
    verdict = verify_request(sign_headers(KEY, BODY, NOW, "ee"), BODY, [KEY], NOW + timedelta(seconds=301))
    assert not verdict.valid and any("too old or replayed" in p for p in verdict.problems)


def test_expired_and_revoked_keys_do_not_verify():
    expired = KeyData("k1", KEY.secret, KEY.created_at, expires_at=NOW - timedelta(seconds=1))
    revoked = KeyData("k1", KEY.secret, KEY.created_at, revoked_at=NOW - timedelta(seconds=1))
    headers = sign_headers(KEY, BODY, NOW, "ee")
    assert not verify_request(headers, BODY, [expired], NOW).valid
    assert not verify_request(headers, BODY, [revoked], NOW).valid


def test_seen_jti_is_a_replay():
    headers = sign_headers(KEY, BODY, NOW, "ee", jti="once")
    assert not verify_request(headers, BODY, [KEY], NOW, seen_jtis={"once"}).valid


def test_wrong_issuer_is_rejected_when_checked():
    headers = sign_headers(KEY, BODY, NOW, "someone-else")
    assert not verify_request(headers, BODY, [KEY], NOW, issuer="emailengine").checks["jwt"]


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=200), st.integers(min_value=0, max_value=len(BODY) - 1))
def test_any_change_to_the_body_breaks_both_signatures(noise, position):
    headers = sign_headers(KEY, BODY, NOW, "ee")
    tampered = BODY[:position] + noise + BODY[position + 1:]
    if tampered == BODY:
        return
    verdict = verify_request(headers, tampered, [KEY], NOW)
    assert verdict.checks == {"hmac": False, "jwt": False}


def test_rotation_keeps_old_current_key_for_grace_and_signs_with_new():
    plan = rotation_plan([KEY, KeyData("k0", "x", NOW, expires_at=NOW + timedelta(hours=1))], NOW, timedelta(days=7))
    assert plan == {"k1": NOW + timedelta(days=7)}
    assert current_key([KeyData("k0", "x", NOW, current=True, revoked_at=NOW)], NOW) is None


def test_parse_duration():
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("3") == timedelta(days=3)
