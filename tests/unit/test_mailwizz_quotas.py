"""MailWizz quota targets and plans, and the API auth headers (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emailengine.config import load_settings
from emailengine.integrations.mailwizz.api import auth_headers, signature_1x
from emailengine.integrations.mailwizz.quotas import IpInput, ServerRow, plan_sync, target_for

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
STALE = timedelta(hours=36)


def ip(state: str, daily: int = 0, hourly: int = 0, fresh: datetime | None = NOW, sid: int = 1) -> IpInput:
    return IpInput("198.51.100.1", state, sid, daily, hourly, fresh)


def server(sid: int = 1, status: str = "inactive", hourly: int = 0, daily: int = 0,
           plan: int | None = None) -> ServerRow:
    return ServerRow(sid, f"s{sid}", "smtp-pmta", status, hourly, daily, plan)


@pytest.mark.parametrize("state, daily, hourly, expected", [
    ("ACTIVE", 0, 0, ("active", 50000, 2084)),
    ("WARMING", 480, 0, ("active", 480, 20)),
    ("WARMING", 480, 30, ("active", 480, 30)),
    ("RETIRING", 100, 0, ("active", 100, 5)),
    ("WARMING", 0, 0, ("inactive", None, None)),
    ("RESTING", 480, 0, ("inactive", None, None)),
    ("STANDBY", 0, 0, ("inactive", None, None)),
    ("QUARANTINE", 0, 0, ("inactive", None, None)),
    ("NONSENSE", 900, 0, ("inactive", None, None)),
])
def test_targets(state: str, daily: int, hourly: int, expected: tuple) -> None:
    target = target_for(ip(state, daily, hourly), 50000, 0, NOW, STALE)
    assert (target.status, target.daily, target.hourly) == expected


def test_stale_warmup_quota_never_raises_or_activates() -> None:
    old = NOW - timedelta(hours=40)
    plan = plan_sync([ip("WARMING", 960, 0, old, 1), ip("WARMING", 100, 0, old, 2), ip("WARMING", 100, 0, old, 3)],
                     {1: server(1, "active", 20, 480), 2: server(2, "active", 20, 480), 3: server(3, "inactive")},
                     50000, 0, NOW, STALE)
    changes = {c["server_id"]: c["after"] for c in plan.changes}
    assert 1 not in changes                                   # would raise 480 → 960: kept
    assert changes[2] == {"status": "active", "hourly_quota": 5, "daily_quota": 100}  # lowering is fine
    assert changes[3] == {"status": "inactive", "hourly_quota": 5, "daily_quota": 100}  # 0 (unlimited) lowered, not activated


def test_plan_skips_warmup_plans_unmanaged_status_and_missing_servers() -> None:
    plan = plan_sync([ip("ACTIVE", sid=1), ip("ACTIVE", sid=2), ip("ACTIVE", sid=3), ip("STANDBY", sid=4)],
                     {1: server(1, plan=5), 2: server(2, "disabled"), 4: server(4, "in-use", 10, 100)},
                     50000, 0, NOW, STALE)
    reasons = {s["server_id"]: s["reason"] for s in plan.skipped}
    assert "warmup plan 5" in reasons[1] and "disabled" in reasons[2] and "no such" in reasons[3]
    assert plan.changes[0]["after"] == {"status": "inactive", "hourly_quota": 10, "daily_quota": 100}


def test_in_use_counts_as_active_and_equal_rows_are_unchanged() -> None:
    plan = plan_sync([ip("WARMING", 480)], {1: server(1, "in-use", 20, 480)}, 50000, 0, NOW, STALE)
    assert plan.changes == [] and len(plan.unchanged) == 1


def test_auth_headers_2x_and_1x() -> None:
    v2 = load_settings(mailwizz_api_key="k" * 40)
    assert auth_headers(v2, "GET", "https://mw.example/api/lists", {}) == {"X-Api-Key": "k" * 40}
    v1 = load_settings(mailwizz_api_key="pub", mailwizz_api_private_key="priv", mailwizz_api_version=1)
    headers = auth_headers(v1, "GET", "https://mw.example/api/lists", {"page": 2, "b": "x"}, now=1700000000)
    special = {"X-MW-PUBLIC-KEY": "pub", "X-MW-TIMESTAMP": "1700000000", "X-MW-REMOTE-ADDR": "127.0.0.1"}
    assert {k: headers[k] for k in special} == special
    # The signed string: METHOD URL(sorted GET)?sorted(headers); checked by recomputing by hand.
    import hashlib
    import hmac
    text = ("GET https://mw.example/api/lists?b=x&page=2&X-MW-PUBLIC-KEY=pub&X-MW-REMOTE-ADDR=127.0.0.1"
            "&X-MW-TIMESTAMP=1700000000")
    assert headers["X-MW-SIGNATURE"] == hmac.new(b"priv", text.encode(), hashlib.sha1).hexdigest()
    post = auth_headers(v1, "POST", "https://mw.example/api/campaigns/c1/bounces", {"subscriber_uid": "s"},
                        now=1700000000)
    assert post["X-MW-SIGNATURE"] == signature_1x("priv", "POST", "https://mw.example/api/campaigns/c1/bounces",
                                                  special, None, {"subscriber_uid": "s"})
