"""Webhook signatures: HMAC-SHA256 headers and an HS256 JWT, from a key ring (pure: no I/O, no clock).

Contract (docs/webhooks.md): `X-EE-Timestamp: <unix seconds>`, `X-EE-Key-Id: <kid>`,
`X-EE-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>` and
`Authorization: Bearer <JWT>` (header `kid`; claims iss, iat, exp (≤ 5 min after iat), jti,
body_sha256 = hex SHA-256 of the raw body). The HMAC/JWT key is the secret string as UTF-8.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SIGNATURE_VERSION = "v1"
MAX_TOKEN_SECONDS = 300
TOKEN_SECONDS = 300


@dataclass(frozen=True)
class KeyData:
    """One key of the ring as plain data; `secret` never leaves this module in logs or output."""

    kid: str
    secret: str = field(repr=False)
    created_at: datetime
    expires_at: datetime | None = None
    current: bool = False
    revoked_at: datetime | None = None

    def usable_for_verify(self, now: datetime) -> str | None:
        """Return why the key cannot verify a request at `now`, or None when it can."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return f"key {self.kid} is revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return f"key {self.kid} expired at {self.expires_at.isoformat(timespec='seconds')}"
        return None


@dataclass(frozen=True)
class Verdict:
    """The result of verifying one request: valid only when every check passed."""

    valid: bool
    kid: str | None
    problems: tuple[str, ...] = ()
    checks: dict[str, bool] = field(default_factory=dict)
    jti: str | None = None


def new_secret() -> str:
    """Return a fresh 256-bit secret as 64 hex characters."""
    return secrets.token_hex(32)


def new_kid(now: datetime) -> str:
    """Return a key id that sorts by creation date and is unique: `k20261125-1a2b3c4d`."""
    return f"k{now:%Y%m%d}-{secrets.token_hex(4)}"


def current_key(keys: Iterable[KeyData], now: datetime) -> KeyData | None:
    """Return the key to sign with: the current one, when it is neither revoked nor expired."""
    for key in keys:
        if key.current and key.usable_for_verify(now) is None:
            return key
    return None


def hmac_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `<timestamp>.<body>` under the secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def make_jwt(key: KeyData, body: bytes, now: datetime, issuer: str, jti: str,
             ttl_seconds: int = TOKEN_SECONDS) -> str:
    """Return an HS256 JWT binding the body (body_sha256) to a short validity (exp ≤ 5 min)."""
    import jwt

    issued = int(now.timestamp())
    claims = {"iss": issuer, "iat": issued, "exp": issued + min(ttl_seconds, MAX_TOKEN_SECONDS),
              "jti": jti, "body_sha256": body_sha256(body)}
    return jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.kid})


def sign_headers(key: KeyData, body: bytes, now: datetime, issuer: str, jti: str | None = None) -> dict[str, str]:
    """Return the signature headers of one request (both schemes, same key and instant)."""
    timestamp = str(int(now.timestamp()))
    jti = jti or secrets.token_hex(16)
    return {
        "X-EE-Timestamp": timestamp,
        "X-EE-Key-Id": key.kid,
        "X-EE-Signature": f"{SIGNATURE_VERSION}={hmac_signature(key.secret, timestamp, body)}",
        "Authorization": f"Bearer {make_jwt(key, body, now, issuer, jti)}",
    }


def canonical_body(events: list[dict]) -> bytes:
    """Return the request body for a batch: compact JSON `{"events": [...]}`, UTF-8."""
    return json.dumps({"events": events}, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value.strip()
    return None


def _check_hmac(headers: Mapping[str, str], body: bytes, keys: dict[str, KeyData], now: datetime,
                window: int, problems: list[str]) -> tuple[bool, str | None]:
    timestamp = _header(headers, "X-EE-Timestamp")
    kid = _header(headers, "X-EE-Key-Id")
    signature = _header(headers, "X-EE-Signature")
    if not (timestamp and kid and signature):
        problems.append("missing X-EE-Timestamp, X-EE-Key-Id or X-EE-Signature")
        return False, kid
    if not timestamp.isdigit():
        problems.append("X-EE-Timestamp is not unix seconds")
        return False, kid
    skew = now.timestamp() - int(timestamp)
    if abs(skew) > window:
        problems.append(f"timestamp is {int(skew)} s from now (window ±{window} s): too old or replayed")
        return False, kid
    key = keys.get(kid)
    if key is None:
        problems.append(f"unknown key id {kid}")
        return False, kid
    unusable = key.usable_for_verify(now)
    if unusable:
        problems.append(unusable)
        return False, kid
    expected = hmac_signature(key.secret, timestamp, body)
    offered = [part.strip()[len(SIGNATURE_VERSION) + 1:] for part in signature.split(",")
               if part.strip().startswith(f"{SIGNATURE_VERSION}=")]
    # Compare against every offered v1 value, always in constant time.
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        problems.append("bad HMAC signature")
        return False, kid
    return True, kid


def _check_jwt(headers: Mapping[str, str], body: bytes, keys: dict[str, KeyData], now: datetime,
               issuer: str | None, problems: list[str]) -> tuple[bool, str | None]:
    import jwt

    authorization = _header(headers, "Authorization") or ""
    if not authorization.lower().startswith("bearer "):
        problems.append("missing Authorization: Bearer token")
        return False, None
    token = authorization[7:].strip()
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as error:
        problems.append(f"malformed JWT: {error}")
        return False, None
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        problems.append(f"JWT names unknown key id {kid}")
        return False, None
    unusable = key.usable_for_verify(now)
    if unusable:
        problems.append(f"JWT: {unusable}")
        return False, None
    try:
        # Verify exp/iat against the caller's `now` (leeway 0) instead of the wall clock.
        claims = jwt.decode(token, key.secret, algorithms=["HS256"], issuer=issuer,
                            options={"require": ["iss", "iat", "exp", "jti", "body_sha256"],
                                     "verify_exp": False, "verify_iat": False})
    except jwt.PyJWTError as error:
        problems.append(f"JWT invalid: {error}")
        return False, None
    if not isinstance(claims.get("exp"), int) or not isinstance(claims.get("iat"), int):
        problems.append("JWT iat/exp are not integers")
        return False, None
    if claims["exp"] - claims["iat"] > MAX_TOKEN_SECONDS:
        problems.append("JWT lifetime exceeds 5 minutes")
        return False, None
    if now.timestamp() >= claims["exp"]:
        problems.append("JWT expired (too old or replayed)")
        return False, None
    if claims["iat"] > now.timestamp() + 60:
        problems.append("JWT issued in the future")
        return False, None
    if not hmac.compare_digest(str(claims["body_sha256"]), body_sha256(body)):
        problems.append("JWT body_sha256 does not match the body")
        return False, None
    return True, str(claims["jti"])


def verify_request(headers: Mapping[str, str], body: bytes, keys: Iterable[KeyData], now: datetime,
                   window_seconds: int = 300, issuer: str | None = None,
                   seen_jtis: set[str] | frozenset[str] = frozenset()) -> Verdict:
    """Verify both signatures of a request as a receiver must; valid only if both verify.

    Rejects: unknown, revoked or expired keys; bad HMAC; a timestamp outside ±window_seconds;
    an expired JWT or one for another body; a jti already in `seen_jtis` (a replay).
    """
    ring = {key.kid: key for key in keys}
    problems: list[str] = []
    hmac_ok, kid = _check_hmac(headers, body, ring, now, window_seconds, problems)
    jwt_ok, jti = _check_jwt(headers, body, ring, now, issuer, problems)
    if jwt_ok and jti in seen_jtis:
        problems.append(f"jti {jti} was seen before: replayed request")
        jwt_ok = False
    return Verdict(hmac_ok and jwt_ok, kid, tuple(problems), {"hmac": hmac_ok, "jwt": jwt_ok}, jti)


def rotation_plan(keys: Iterable[KeyData], now: datetime, grace: timedelta) -> dict[str, datetime]:
    """Given the ring before a rotation, return {kid: new expires_at} for keys that stop signing.

    The current key(s) keep verifying for `grace`; an earlier, shorter expiry is kept.
    """
    until = now + grace
    return {key.kid: min(until, key.expires_at) if key.expires_at else until
            for key in keys if key.current}


def parse_duration(text: str) -> timedelta:
    """Parse `7d`, `12h`, `30m`, `90s` or a bare number of days; raise ValueError otherwise."""
    text = text.strip().lower()
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "d")
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"invalid duration {text!r} (use e.g. 7d, 12h, 30m)") from None
    if value < 0:
        raise ValueError(f"negative duration {text!r}")
    return timedelta(seconds=value * units[unit])
