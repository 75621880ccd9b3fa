"""The blocklist part of `ee demo`: 198.51.100.12 goes to STANDBY, then QUARANTINE."""

from __future__ import annotations

from sqlalchemy.orm import Session

from emailengine import inventory
from emailengine.blocklists.demo import LISTED_IP, run_demo
from emailengine.config import get_settings
from emailengine.demo import DemoContext, foundation_part


def test_demo_part_walks_the_listed_ip_to_quarantine(sqlite_url, monkeypatch, tmp_path):
    monkeypatch.setenv("EE_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("EE_METRICS_TEXTFILE_DIR", str(tmp_path / "metrics"))
    get_settings.cache_clear()
    from emailengine.db.engine import get_engine

    engine = get_engine(sqlite_url)
    said: list[str] = []
    demo = DemoContext(settings=get_settings(), engine=engine, workdir=tmp_path, say=said.append,
                       show=lambda rows, columns, title: said.append(title))
    foundation_part(demo)
    lines = run_demo(demo)
    assert "STANDBY" in lines[0] and "QUARANTINE" in lines[1]
    with Session(engine) as session:
        ip = inventory.get_ip(session, LISTED_IP)
        assert ip.state == "QUARANTINE" and ip.quarantine_until is not None
        assert [event.to_state for event in ip.events][-2:] == ["STANDBY", "QUARANTINE"]
