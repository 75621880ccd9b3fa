"""End to end with the bounce pipeline: accounting file → outbox rows → both destinations."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from emailengine.db.models import OutboxEvent
from emailengine.forwarding.run import deliver_due
from emailengine.standins.scraper import ScraperStandIn
from tests.fakes.forwarding import fast_settings, mailwizz_standin, make_key, outbox_counts


def test_pipeline_events_reach_scraper_and_mailwizz(engine, tmp_path, monkeypatch):
    from emailengine.bounces import sample
    from emailengine.bounces.importer import import_files

    make_key(engine)
    api = mailwizz_standin().start()
    monkeypatch.setenv("EE_MAILWIZZ_API_URL", api.url)  # the pipeline enqueues for both destinations
    accounting = tmp_path / "acct.csv"
    sample.write_file(str(accounting), 1500, [("198.51.100.10", "vmta-10")], seed=3)
    result = import_files([accounting], fast_settings(), engine)
    assert result.events > 0
    with Session(engine) as session:
        queued = {(r.event_id, r.destination): r for r in session.scalars(select(OutboxEvent))}
    scraper_rows = {eid: r for (eid, dest), r in queued.items() if dest == "scraper"}
    assert {eid for (eid, dest) in queued if dest == "mailwizz"} == set(scraper_rows)
    try:
        with ScraperStandIn(rate_500=0.2, seed=1) as receiver:
            settings = fast_settings(scraper_url=receiver.url, mailwizz_api_url=api.url, mailwizz_api_key="a" * 40)
            for _ in range(50):
                deliver_due(settings, engine)
                if outbox_counts(engine) == {"delivered": len(queued)}:
                    break
    finally:
        api.stop()
    assert outbox_counts(engine) == {"delivered": len(queued)}
    assert set(receiver.events) == set(scraper_rows)
    for event_id, event in receiver.events.items():
        stored = scraper_rows[event_id].payload
        stored = json.loads(stored) if isinstance(stored, str) else stored
        assert event == stored  # the contract's event object is what the pipeline stored
    kinds = {r.event_type for r in scraper_rows.values()}
    bounced = {b["subscriber_uid"] for b in api.bounces}
    hard = [r for r in scraper_rows.values() if r.event_type in ("hard_bounce", "soft_bounce_suppressed")]
    complaints = [r for r in scraper_rows.values() if r.event_type == "complaint"]
    assert "hard_bounce" in kinds and hard and complaints
    assert len(bounced) + len(api.unsubscribed) >= len(hard)  # each bounce was recorded or unsubscribed
    assert {r.email for r in complaints} <= set(api.unsubscribed)
