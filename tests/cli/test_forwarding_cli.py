"""`ee keys ...` and `ee forward ...` through the CLI."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from emailengine.db.models import AuditEntry, OutboxEvent, utcnow
from emailengine.forwarding.keys import load_ring
from emailengine.forwarding.saved import format_json, format_raw
from emailengine.forwarding.signing import canonical_body, sign_headers
from emailengine.standins.scraper import ScraperStandIn
from tests.fakes.forwarding import add_admin, event_payload, insert_events, outbox_counts


@pytest.fixture(autouse=True)
def admin(engine, monkeypatch):
    """Run as an admin operator whatever the OS user is (tests that need others override SUDO_USER)."""
    monkeypatch.setenv("SUDO_USER", add_admin(engine))


def ring(engine):
    with Session(engine) as session:
        return load_ring(session)


def save_request(tmp_path, key, when, raw: bool = False, body: bytes | None = None, name: str = "req"):
    body = body if body is not None else canonical_body([event_payload(1)])
    headers = {"Content-Type": "application/json", "Idempotency-Key": "k" * 32,
               **sign_headers(key, body, when, "emailengine")}
    path = tmp_path / f"{name}.{'http' if raw else 'json'}"
    if raw:
        path.write_bytes(format_raw("POST", "/webhooks/ee", headers, body))
    else:
        path.write_text(format_json("POST", "http://127.0.0.1/webhooks/ee", headers, body))
    return path


def test_rotate_shows_secret_once_and_list_never_does(cli, engine, use_db):
    first = cli("keys", "rotate", "--json")
    assert first.exit_code == 0, first
    secret = first.json()["secret"]
    assert len(secret) == 64
    second = cli("keys", "rotate", "--grace", "2d", "--json")
    listing = cli("keys", "list", "--json")
    assert secret not in listing.stdout and second.json()["secret"] not in listing.stdout
    keys = {k["kid"]: k for k in listing.json()}
    old, new = keys[first.json()["kid"]], keys[second.json()["kid"]]
    assert new["current"] is True and new["expires"] is None
    assert old["current"] is False and old["usable"] is True
    with Session(engine) as session:
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action.like("keys.%"))).all()
    assert [a.action for a in audits] == ["keys.rotate", "keys.rotate"]
    assert all(secret not in json.dumps([a.before, a.after]) for a in audits)
    assert "secret" not in cli("keys", "list").stdout.lower()


def test_rotate_out_writes_a_0600_file_and_prints_no_secret(cli, use_db, tmp_path):
    out = tmp_path / "key.json"
    result = cli("keys", "rotate", "--out", str(out))
    assert result.exit_code == 0, result
    data = json.loads(out.read_text())
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert data["secret"] not in result.output


def test_keys_commands_are_admin_only(cli, use_db, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "mallory")
    result = cli("keys", "rotate")
    assert result.exit_code == 2 and "not an ee operator" in result.stderr
    assert cli("keys", "list", "--json").exit_code == 2
    assert cli("keys", "revoke", "k1").exit_code == 2


def test_revoke_unknown_key_is_a_one_line_error(cli, use_db):
    result = cli("keys", "revoke", "k20990101-deadbeef")
    assert result.exit_code == 2 and result.stderr.startswith("error: no signing key")


def test_verify_accepts_a_fresh_request_in_both_file_formats(cli, engine, use_db, tmp_path):
    cli("keys", "rotate")
    (key,) = ring(engine)
    for raw in (False, True):
        path = save_request(tmp_path, key, utcnow(), raw=raw)
        result = cli("forward", "verify", str(path), "--json")
        assert result.exit_code == 0, result
        assert result.json()["valid"] is True and result.json()["checks"] == {"hmac": True, "jwt": True}


def test_verify_rejects_expired_key(cli, engine, use_db, tmp_path):
    cli("keys", "rotate")
    cli("keys", "rotate", "--grace", "0s")
    old = [k for k in ring(engine) if not k.current][0]
    result = cli("forward", "verify", str(save_request(tmp_path, old, utcnow())))
    assert result.exit_code == 1 and "expired" in result.stdout


def test_verify_rejects_revoked_key(cli, engine, use_db, tmp_path):
    kid = cli("keys", "rotate", "--json").json()["kid"]
    (key,) = ring(engine)
    path = save_request(tmp_path, key, utcnow())
    assert cli("keys", "revoke", kid).exit_code == 0
    result = cli("forward", "verify", str(path))
    assert result.exit_code == 1 and "revoked" in result.stdout


def test_verify_rejects_old_timestamp_and_replayed_jti(cli, engine, use_db, tmp_path):
    cli("keys", "rotate")
    (key,) = ring(engine)
    stale = save_request(tmp_path, key, utcnow() - timedelta(minutes=10), name="stale")
    result = cli("forward", "verify", str(stale))
    assert result.exit_code == 1 and "too old or replayed" in result.stdout
    fresh = save_request(tmp_path, key, utcnow(), name="fresh")
    cache = tmp_path / "jtis"
    assert cli("forward", "verify", str(fresh), "--jti-cache", str(cache)).exit_code == 0
    again = cli("forward", "verify", str(fresh), "--jti-cache", str(cache))
    assert again.exit_code == 1 and "replayed" in again.stdout


def test_verify_rejects_a_tampered_body(cli, engine, use_db, tmp_path):
    cli("keys", "rotate")
    (key,) = ring(engine)
    path = save_request(tmp_path, key, utcnow())
    doc = json.loads(path.read_text())
    doc["body"] = doc["body"].replace("user1@", "user2@")
    path.write_text(json.dumps(doc))
    result = cli("forward", "verify", str(path), "--json")
    assert result.exit_code == 1
    assert result.json()["checks"] == {"hmac": False, "jwt": False}


def test_verify_with_a_receivers_keys_file_and_bad_input(cli, engine, use_db, tmp_path):
    out = tmp_path / "key.json"
    cli("keys", "rotate", "--out", str(out))
    (key,) = ring(engine)
    path = save_request(tmp_path, key, utcnow())
    assert cli("forward", "verify", str(path), "--keys-file", str(out)).exit_code == 0
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("hello")
    result = cli("forward", "verify", str(garbage))
    assert result.exit_code == 2 and result.stderr.startswith("error:")


def test_verify_accepts_what_the_receiver_saved(cli, engine, use_db, tmp_path, monkeypatch):
    cli("keys", "rotate")
    insert_events(engine, 3)
    with ScraperStandIn(save_dir=tmp_path / "saved") as receiver:
        monkeypatch.setenv("EE_SCRAPER_URL", receiver.url)
        result = cli("forward", "retry", "--json")
    assert result.exit_code == 0, result
    assert result.json()[0]["delivered"] == 3
    (saved,) = sorted((tmp_path / "saved").iterdir())
    assert cli("forward", "verify", str(saved)).exit_code == 0


def test_retry_without_a_key_fails_and_says_how_to_fix(cli, engine, use_db, monkeypatch):
    insert_events(engine, 1)
    monkeypatch.setenv("EE_SCRAPER_URL", "http://127.0.0.1:9/x")
    result = cli("forward", "retry")
    assert result.exit_code == 1
    assert outbox_counts(engine) == {"pending": 1}


def test_requeue_dead_and_by_id_is_audited(cli, engine, use_db):
    insert_events(engine, 3)
    with Session(engine) as session, session.begin():
        for row in session.scalars(select(OutboxEvent)):
            row.status, row.attempts = "dead", 7
    by_id = cli("forward", "requeue", "--dead", "--id", "ev-000001", "--json")
    assert by_id.exit_code == 0 and by_id.json() == {"requeued": 1}
    assert outbox_counts(engine) == {"dead": 2, "pending": 1}
    assert cli("forward", "requeue", "--dead", "--json").json() == {"requeued": 3}
    with Session(engine) as session:
        assert {r.attempts for r in session.scalars(select(OutboxEvent))} == {0}
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("forward.requeue") == 2
    missing = cli("forward", "requeue", "--id", "nope")
    assert missing.exit_code == 2


@pytest.mark.parametrize("args", [["keys", "rotate", "--grace", "soon"]])
def test_bad_duration_is_a_usage_error(cli, use_db, args):
    result = cli(*args)
    assert result.exit_code == 2 and "invalid duration" in result.stderr


def test_unknown_destination_is_a_usage_error(cli, use_db):
    assert cli("forward", "retry", "--destination", "nowhere").exit_code == 2
    assert cli("forward", "requeue", "--destination", "nowhere").exit_code == 2


def test_retry_metrics_are_written_per_destination(cli, engine, use_db, monkeypatch, tmp_path):
    cli("keys", "rotate")
    insert_events(engine, 4)
    insert_events(engine, 2, start=10, created_at=utcnow() - timedelta(hours=1))
    monkeypatch.setenv("EE_METRICS_TEXTFILE_DIR", str(tmp_path / "metrics"))
    with ScraperStandIn(script=["400"]) as receiver:
        monkeypatch.setenv("EE_SCRAPER_URL", receiver.url)
        monkeypatch.setenv("EE_FORWARD_BATCH", "2")
        result = cli("forward", "retry", "--json")
    assert result.exit_code == 0, result
    text = "".join(p.read_text() for p in (tmp_path / "metrics").iterdir())
    assert 'ee_forward_run_delivered{destination="scraper"} 4.0' in text
    assert 'ee_forward_run_dead_lettered{destination="scraper"} 2.0' in text
    assert 'ee_forward_dead{destination="scraper"} 2.0' in text
    assert 'ee_forward_pending{destination="scraper"} 0.0' in text
    assert "ee_forward_oldest_pending_age_seconds" in text


def test_user_role_may_requeue_but_not_manage_keys(cli, engine, use_db, monkeypatch):
    from emailengine.db.models import Operator

    with Session(engine) as session, session.begin():
        session.add(Operator(name="alice", role="user", created_by="root"))
    insert_events(engine, 2)
    with Session(engine) as session, session.begin():
        for row in session.scalars(select(OutboxEvent)):
            row.attempts, row.next_attempt_at = 3, utcnow() + timedelta(hours=1)
    monkeypatch.setenv("SUDO_USER", "alice")
    denied = cli("keys", "rotate")
    assert denied.exit_code == 2 and "needs admin" in denied.stderr
    assert cli("forward", "requeue", "--json").json() == {"requeued": 2}
    with Session(engine) as session:
        rows = session.scalars(select(OutboxEvent)).all()
    assert all(r.attempts == 3 and r.next_attempt_at <= utcnow() for r in rows)  # due now, attempts kept
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "forward.requeue")).one()
    assert entry.actor == "alice"
