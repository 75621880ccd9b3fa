"""PowerMTA/MailWizz test helpers: seed IPs and domains, the fake pmta, MailWizz's tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(name="sqlite_engine")
def sqlite_engine_fixture(sqlite_url: str, monkeypatch: pytest.MonkeyPatch):
    """A migrated SQLite database as EE_DATABASE_URL (import this fixture explicitly)."""
    from emailengine.db.engine import ensure_schema, get_engine

    monkeypatch.setenv("EE_DATABASE_URL", sqlite_url)
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    return engine


SEED_IPS = (
    # address, vmta, pool, state, daily, mailwizz server id
    ("198.51.100.10", "vmta-10", "main", "ACTIVE", 0, 1),
    ("198.51.100.11", "vmta-11", "main", "WARMING", 480, 2),
    ("198.51.100.12", "vmta-12", "main", "STANDBY", 0, 3),
    ("198.51.100.13", "vmta-13", "main", "QUARANTINE", 0, 4),
    ("198.51.100.14", "vmta-14", "bulk", "RETIRING", 240, 5),
    ("198.51.100.15", "vmta-15", "bulk", "RESTING", 0, 6),
)


def seed(engine, lanes: dict[str, int] | None = None, host: str = "") -> None:
    """Add the SEED_IPS (states set directly), lanes for the warming IP, and two domains."""
    from sqlalchemy import select

    from emailengine.db.engine import session_scope
    from emailengine.db.models import Ip, IpLane
    from emailengine.inventory import add_domain, add_ips, make_ip_spec

    with session_scope(engine) as session:
        specs = [make_ip_spec(a, f"mta{a.rsplit('.', 1)[1]}.example.net", v, p, host, sid, s)
                 for a, v, p, s, _, sid in SEED_IPS]
        add_ips(session, specs, "test")
        for address, _, _, _, daily, _ in SEED_IPS:
            ip = session.scalar(select(Ip).where(Ip.address == address))
            ip.daily_quota = daily
        warming = session.scalar(select(Ip).where(Ip.vmta == "vmta-11"))
        for lane, quota in (lanes or {"gmail": 240, "microsoft": 120, "microsoft365": 24, "yahoo": 96}).items():
            session.add(IpLane(ip_id=warming.id, lane=lane, daily_quota=quota))
        add_domain(session, "example.net", "test", "s1", "/etc/pmta/dkim/s1.example.net.pem")
        add_domain(session, "example.org", "test")


def pmta_env(monkeypatch, tmp_path: Path, api_url: str = "") -> tuple[Path, Path]:
    """Install the fake pmta and point EE_PMTA_* at tmp_path; return (managed config, state dir)."""
    from emailengine.config import get_settings
    from emailengine.standins.pmta import write_fake_pmta

    state = tmp_path / "fake-pmta"
    script = write_fake_pmta(tmp_path / "bin", state)
    managed = tmp_path / "etc-pmta" / "ee-managed.conf"
    managed.parent.mkdir(parents=True)
    monkeypatch.setenv("EE_PMTA_CMD", str(script))
    monkeypatch.setenv("EE_PMTA_MANAGED_CONFIG", str(managed))
    monkeypatch.setenv("EE_PMTA_HOST", "")
    monkeypatch.setenv("EE_PMTA_URL", api_url)
    monkeypatch.setenv("EE_ACTOR", "test")
    get_settings.cache_clear()
    return managed, state


MW_DDL = """
CREATE TABLE `{p}delivery_server` (
  `server_id` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `customer_id` INT NULL, `bounce_server_id` INT NULL, `tracking_domain_id` INT NULL,
  `warmup_plan_id` INT NULL,
  `type` CHAR(20) NOT NULL, `name` VARCHAR(255) NULL, `hostname` VARCHAR(255) NOT NULL,
  `username` VARCHAR(255) NULL, `password` VARCHAR(255) NULL, `port` INT NULL DEFAULT 25,
  `protocol` CHAR(10) NULL, `timeout` INT NULL DEFAULT 30, `from_email` VARCHAR(255) NOT NULL DEFAULT '',
  `from_name` VARCHAR(255) NULL, `reply_to_email` VARCHAR(255) NULL, `probability` INT NOT NULL DEFAULT 100,
  `hourly_quota` INT NOT NULL DEFAULT 0, `daily_quota` INT NOT NULL DEFAULT 0,
  `monthly_quota` INT NOT NULL DEFAULT 0, `pause_after_send` INT NOT NULL DEFAULT 0,
  `meta_data` BLOB NULL, `confirmation_key` CHAR(40) NULL,
  `locked` ENUM('yes','no') NOT NULL DEFAULT 'no', `use_for` CHAR(15) NOT NULL DEFAULT 'all',
  `signing_enabled` ENUM('yes','no') NOT NULL DEFAULT 'yes', `force_from` VARCHAR(50) NOT NULL DEFAULT 'never',
  `force_reply_to` VARCHAR(50) NOT NULL DEFAULT 'never', `force_sender` ENUM('yes','no') NOT NULL DEFAULT 'no',
  `must_confirm_delivery` ENUM('yes','no') NOT NULL DEFAULT 'no', `max_connection_messages` INT NOT NULL DEFAULT 1,
  `status` CHAR(15) NOT NULL DEFAULT 'inactive',
  `date_added` DATETIME NOT NULL, `last_updated` DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `{p}delivery_server_usage_log` (
  `log_id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, `server_id` INT NOT NULL, `customer_id` INT NULL,
  `delivery_for` CHAR(15) NOT NULL DEFAULT 'system', `customer_countable` ENUM('yes','no') NOT NULL DEFAULT 'yes',
  `date_added` DATETIME NOT NULL
) ENGINE=InnoDB;
CREATE TABLE `{p}email_blacklist` (
  `email_id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, `subscriber_id` INT NULL,
  `email` VARCHAR(150) NOT NULL UNIQUE, `reason` TEXT NOT NULL, `date_added` DATETIME NOT NULL,
  `last_updated` DATETIME NOT NULL
) ENGINE=InnoDB;
"""

# server_id, customer_id, warmup_plan_id, type, status, hourly, daily
MW_SERVERS = (
    (1, None, None, "smtp-pmta", "inactive", 0, 0),        # vmta-10 ACTIVE → active, full capacity
    (2, None, None, "smtp-pmta", "inactive", 0, 0),        # vmta-11 WARMING → active, 480/20
    (3, None, None, "smtp-pmta", "active", 100, 2400),     # vmta-12 STANDBY → inactive
    (4, 7, 3, "smtp-pmta", "active", 50, 1000),            # vmta-13: MailWizz warmup plan → skipped
    (5, 7, None, "smtp", "active", 0, 0),                  # vmta-14 RETIRING (customer-owned) → 240/10
    (6, None, None, "smtp-pmta", "inactive", 10, 240),     # vmta-15 RESTING → already inactive
    (9, None, None, "smtp", "active", 0, 0),               # not mapped: never touched
)


@contextmanager
def mariadb_database(admin_url: str) -> Iterator[str]:
    """A fresh MariaDB database with MailWizz's tables; yields its mysql+pymysql URL."""
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    name = f"mw_{uuid.uuid4().hex[:10]}"
    kwargs: dict[str, Any] = {"host": url.host or "127.0.0.1", "port": url.port or 3306,
                              "user": url.username or "root", "password": url.password or ""}
    admin = pymysql.connect(**kwargs, autocommit=True)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
        conn = pymysql.connect(**kwargs, database=name, autocommit=True)
        with conn.cursor() as cursor:
            for statement in MW_DDL.format(p="mw_").split(";"):
                if statement.strip():
                    cursor.execute(statement)
            for sid, customer, plan, kind, status, hourly, daily in MW_SERVERS:
                cursor.execute("INSERT INTO mw_delivery_server (server_id, customer_id, warmup_plan_id, type, name, "
                               "hostname, status, hourly_quota, daily_quota, date_added, last_updated) VALUES "
                               "(%s,%s,%s,%s,%s,%s,%s,%s,%s,'2020-01-01 00:00:00','2020-01-01 00:00:00')",
                               (sid, customer, plan, kind, f"server {sid}", f"mta{sid}.example.net", status,
                                hourly, daily))
        conn.close()
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def mw_rows(db_url: str) -> dict[int, dict[str, Any]]:
    """All delivery-server rows by id (every column)."""
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    conn = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                           database=url.database, cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT * FROM mw_delivery_server ORDER BY server_id")
            return {row["server_id"]: row for row in cursor.fetchall()}
    finally:
        conn.close()
