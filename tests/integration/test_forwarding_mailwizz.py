"""The MailWizz feedback destination against a loopback MailWizz API stand-in."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from emailengine.db.models import OutboxEvent
from emailengine.forwarding.run import deliver_due
from tests.fakes.forwarding import fast_settings, insert_events, mailwizz_standin, outbox_counts


def rows(engine) -> dict[str, OutboxEvent]:
    with Session(engine) as session:
        return {r.event_id: r for r in session.scalars(select(OutboxEvent).where(OutboxEvent.destination == "mailwizz"))}


@pytest.mark.parametrize("version", [1, 2])
def test_hard_bounce_resolved_by_message_id_and_complaint_unsubscribed(engine, version):
    api = mailwizz_standin(version=version, delivery_logs={
        "abc123@bounce.example.net": {"campaign_uid": "cmp1", "subscriber_uid": "sub1", "list_uid": "l1",
                                       "status": "success"}}).start()
    try:
        insert_events(engine, 1, destination="mailwizz", message_id="<abc123@bounce.example.net>")
        insert_events(engine, 1, destination="mailwizz", start=1, event_type="complaint")
        insert_events(engine, 1, destination="mailwizz", start=2, campaign_uid="cmp9", subscriber_uid="sub9")
        settings = fast_settings(mailwizz_api_url=api.url, mailwizz_api_key="a" * 40,
                                 mailwizz_api_private_key="b" * 40, mailwizz_api_version=version)
        stats = deliver_due(settings, engine, only="mailwizz")
    finally:
        api.stop()
    assert stats[0].delivered == 3
    assert api.bounces == [
        {"campaign_uid": "cmp1", "subscriber_uid": "sub1", "bounce_type": "hard",
         "message": "5.1.1 smtp;550 5.1.1 user unknown"},
        {"campaign_uid": "cmp9", "subscriber_uid": "sub9", "bounce_type": "hard",
         "message": "5.1.1 smtp;550 5.1.1 user unknown"},
    ]
    assert api.unsubscribed == ["user1@example.org"]
    assert outbox_counts(engine) == {"delivered": 3}


def test_422_for_an_already_recorded_bounce_counts_as_delivered(engine):
    api = mailwizz_standin().start()
    api.bounces.append({"campaign_uid": "cmp1", "subscriber_uid": "sub1", "bounce_type": "hard", "message": ""})
    try:
        insert_events(engine, 1, destination="mailwizz", campaign_uid="cmp1", subscriber_uid="sub1")
        deliver_due(fast_settings(mailwizz_api_url=api.url, mailwizz_api_key="a" * 40), engine)
    finally:
        api.stop()
    row = rows(engine)["ev-000000"]
    assert row.status == "delivered" and row.last_status_code == 422
    assert "already recorded" in row.last_response


def test_unknown_message_id_falls_back_to_unsubscribing_the_address(engine):
    with mailwizz_standin() as api:
        insert_events(engine, 1, destination="mailwizz", message_id="nobody@x")
        deliver_due(fast_settings(mailwizz_api_url=api.url, mailwizz_api_key="a" * 40), engine)
    assert api.unsubscribed == ["user0@example.org"] and api.bounces == []
    assert outbox_counts(engine) == {"delivered": 1}


def test_mailwizz_outage_and_refused_key_are_retried(engine):
    from sqlalchemy import update

    with mailwizz_standin(fail_first=1) as api:
        insert_events(engine, 1, destination="mailwizz", event_type="complaint")
        slow = fast_settings(mailwizz_api_url=api.url, mailwizz_api_key="a" * 40, forward_backoff_base_seconds=60,
                             forward_backoff_max_seconds=60)
        deliver_due(slow, engine)
        row = rows(engine)["ev-000000"]
        assert (row.status, row.last_status_code, row.attempts) == ("pending", 503, 1)  # 503 → retry later
        with engine.begin() as connection:  # time passes
            connection.execute(update(OutboxEvent).values(next_attempt_at=row.created_at))
        deliver_due(slow, engine)
        assert rows(engine)["ev-000000"].status == "delivered"
        insert_events(engine, 1, destination="mailwizz", start=1, event_type="complaint")
        deliver_due(slow.model_copy(update={"mailwizz_api_key": SecretStr("wrong" * 8)}), engine)
    row = rows(engine)["ev-000001"]
    assert row.status == "pending" and row.last_status_code == 401  # 401 is retried (key mix-ups get fixed)


def test_status_shows_each_destination(engine, cli, use_db, monkeypatch):
    insert_events(engine, 2, destination="mailwizz")
    insert_events(engine, 3, destination="scraper")
    monkeypatch.setenv("EE_MAILWIZZ_API_URL", "http://127.0.0.1:9/api")
    result = cli("forward", "status", "--json")
    assert result.exit_code == 0, result
    by_dest = {r["destination"]: r for r in result.json()}
    assert by_dest["mailwizz"]["pending"] == 2 and by_dest["mailwizz"]["configured"] is True
    assert by_dest["scraper"]["pending"] == 3 and by_dest["scraper"]["configured"] is False


def test_mailwizz_down_fails_the_rest_of_the_batch_without_calling(engine):
    with mailwizz_standin(fail_first=100) as api:
        insert_events(engine, 5, destination="mailwizz", event_type="complaint")
        settings = fast_settings(mailwizz_api_url=api.url, mailwizz_api_key="a" * 40, forward_breaker_failures=1,
                                 forward_backoff_base_seconds=60)
        stats = deliver_due(settings, engine, only="mailwizz")
    assert stats[0].failed == 5
    assert len(api.requests) == 1
    assert {r.last_status_code for r in rows(engine).values()} == {503}
