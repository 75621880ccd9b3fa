"""The scan job on SQLite and PostgreSQL: listings stored, STANDBY, QUARANTINE, no flapping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from emailengine import inventory
from emailengine.blocklists import run
from emailengine.blocklists.verdict import query_name
from emailengine.config import Settings
from emailengine.db.models import IpEvent, JobRun, Listing
from emailengine.enforce import EnforceResult
from emailengine.standins.dns_server import DNSTestServer
from tests.fakes import blocklists as fake

LISTED, CLEAN, RESTING = fake.LISTED_IP, fake.CLEAN_IP, "198.51.100.13"


@pytest.fixture
def server():
    with DNSTestServer() as running:
        fake.serve(running)
        for target in ("127.0.0.1", LISTED, CLEAN):  # SpamCop healthy here, listing nobody
            running.clear(query_name(target, fake.SPAMCOP, test_entry=True))
        yield running


@pytest.fixture
def calls(monkeypatch):
    """Record push_state_to_senders and send_alert calls."""
    seen: dict[str, list] = {"push": [], "alerts": []}

    def push(settings, engine, actor, reason, job_run_id=None):
        seen["push"].append((reason, job_run_id))
        return EnforceResult("applied", "synced")

    def alert(key, title, text, **kwargs):
        seen["alerts"].append({"key": key, "title": title, "text": text, **kwargs})
        return True

    monkeypatch.setattr("emailengine.enforce.push_state_to_senders", push)
    monkeypatch.setattr("emailengine.alerts.send_alert", alert)
    return seen


@pytest.fixture
def inventory_rows(engine):
    with Session(engine) as session, session.begin():
        specs = [inventory.make_ip_spec(LISTED, "mta12.example.net", "vmta-12", "main", "", None, "ACTIVE"),
                 inventory.make_ip_spec(CLEAN, "mta10.example.net", "vmta-10", "main", "", None, "WARMING"),
                 inventory.make_ip_spec(RESTING, "mta13.example.net", "vmta-13", "main", "", None, "RESTING")]
        inventory.add_ips(session, specs, "tester")
        inventory.add_domain(session, fake.CLEAN_DOMAIN, "tester", return_path_domain="bounce.example.net",
                             tracking_domain=fake.LISTED_DOMAIN)
    return engine


def scan_settings(server, db_url) -> Settings:
    return Settings(database_url=db_url, dns_nameservers=[server.nameserver], dns_timeout=0.3, blocklist_retries=0,
                    blocklist_disabled=fake.disabled_others() + " psbl.surriel.com", quarantine_hours=72)


def state(engine, address):
    with Session(engine) as session:
        return inventory.get_ip(session, address)


def listings(engine):
    with Session(engine) as session:
        return session.scalars(select(Listing).order_by(Listing.id)).all()


def test_critical_listing_stands_by_then_clearing_quarantines(server, db_url, inventory_rows, calls):
    engine = inventory_rows
    settings = scan_settings(server, db_url)
    summary, ctx = run.run_scan(settings=settings, engine=engine)

    assert ctx.summary["_result"].exit_code == 0
    assert state(engine, LISTED).state == "STANDBY"
    assert state(engine, CLEAN).state == "WARMING"
    rows = {(row.target, row.zone): row for row in listings(engine)}
    zen = rows[(LISTED, "zen.spamhaus.org")]
    assert (zen.tier, zen.codes, zen.cleared_at) == ("critical", ["127.0.0.2", "127.0.0.4"], None)
    assert zen.first_seen == zen.last_seen
    assert rows[(fake.LISTED_DOMAIN, "dbl.spamhaus.org")].target_kind == "domain"
    assert len(calls["push"]) == 1 and calls["push"][0][1] == ctx.run_id
    alert = next(a for a in calls["alerts"] if a["key"] == f"listing:{LISTED}:zen.spamhaus.org")
    assert alert["severity"] == "critical" and "https://check.spamhaus.org/" in alert["action"]
    assert "127.0.0.2" in alert["text"]
    with Session(engine) as session:
        event = session.scalars(select(IpEvent).where(IpEvent.to_state == "STANDBY")).one()
        assert event.job_run_id == ctx.run_id and "zen.spamhaus.org" in event.reason
    assert summary["moves"] == [{"ip": LISTED, "from": "ACTIVE", "to": "STANDBY",
                                 "reason": "listed on critical blocklist zen.spamhaus.org"}]

    # the same listing on the next run: refreshed, no second standby, no push
    run.run_scan(settings=settings, engine=engine)
    assert len(calls["push"]) == 1
    assert len([row for row in listings(engine) if row.target == LISTED]) == 1

    # delisted on the server: cleared, STANDBY → QUARANTINE for EE_QUARANTINE_HOURS
    server.clear(query_name(LISTED, fake.ZEN))
    summary, _ = run.run_scan(settings=settings, engine=engine)
    ip = state(engine, LISTED)
    assert ip.state == "QUARANTINE"
    cleared = next(row for row in listings(engine) if row.target == LISTED)
    assert cleared.cleared_at is not None
    assert abs(ip.quarantine_until - (cleared.cleared_at + timedelta(hours=72))) < timedelta(seconds=5)
    assert len(calls["push"]) == 2
    assert summary["cleared"] == 1


def test_errors_change_nothing(server, db_url, inventory_rows, calls):
    engine = inventory_rows
    settings = scan_settings(server, db_url)
    run.run_scan(settings=settings, engine=engine)
    assert state(engine, LISTED).state == "STANDBY"

    # the listed answer is gone but ZEN now answers SERVFAIL for the IP: the listing stays open
    server.clear(query_name(LISTED, fake.ZEN))
    server.behave(query_name(LISTED, fake.ZEN), "servfail")
    summary, ctx = run.run_scan(settings=settings, engine=engine)
    assert state(engine, LISTED).state == "STANDBY"
    assert next(row for row in listings(engine) if row.target == LISTED).cleared_at is None
    assert summary["errors_by_zone"] == {"zen.spamhaus.org": 1}
    assert ctx.summary["_result"].exit_code == 1  # reported as a problem of the run
    assert any(a["key"] == "lookup-errors:zen.spamhaus.org" for a in calls["alerts"])


def test_broken_zone_neither_lists_nor_clears(server, db_url, inventory_rows, calls):
    engine = inventory_rows
    settings = scan_settings(server, db_url)
    run.run_scan(settings=settings, engine=engine)
    # ZEN now refuses everything (e.g. a public resolver): its self-test fails
    server.behave("zen.spamhaus.org", "refused", subtree=True)
    summary, _ = run.run_scan(settings=settings, engine=engine)
    assert "zen.spamhaus.org" in summary["broken_zones"]
    assert state(engine, LISTED).state == "STANDBY"
    assert next(row for row in listings(engine) if row.target == LISTED).cleared_at is None
    assert any(a["key"] == "zone-broken:zen.spamhaus.org" for a in calls["alerts"])


def test_resting_ip_listed_goes_to_standby_and_job_run_is_recorded(server, db_url, inventory_rows, calls):
    engine = inventory_rows
    for name, rdtype, value in fake.listing(RESTING, fake.ZEN, "127.0.0.2"):
        server.add(name, rdtype, value)
    run.run_scan(settings=scan_settings(server, db_url), engine=engine)
    assert state(engine, RESTING).state == "STANDBY"
    with Session(engine) as session:
        job = session.scalars(select(JobRun).where(JobRun.job == "blacklist-scan")).one()
        assert job.outcome == "success"
        assert "\"new_listings\": 4" in job.summary


def test_status_shows_open_listings_and_last_scan(server, db_url, inventory_rows, calls):
    run.run_scan(settings=scan_settings(server, db_url), engine=inventory_rows)
    data = run.status(inventory_rows)
    assert {(row["target"], row["zone"]) for row in data["listings"]} >= {(LISTED, "zen.spamhaus.org")}
    assert data["last_scan"]["outcome"] == "success"
    assert data["last_scan"]["summary"]["new_listings"] >= 1
