"""Telegram alerts through the loopback Bot API stand-in: delivery, 429 retry_after, dedupe per
key, the hourly rate limit, and failures that are logged and counted but never raise."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from emailengine.standins.telegram import TelegramStandIn

TOKEN = "999:secret-token-value"


@pytest.fixture
def bot():
    with TelegramStandIn(token=TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
def telegram_env(bot, monkeypatch):
    from emailengine.config import get_settings

    monkeypatch.setenv("EE_TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("EE_TELEGRAM_CHAT_ID", "-100123")
    monkeypatch.setenv("EE_TELEGRAM_API_URL", bot.url)
    monkeypatch.setenv("EE_ALERT_MAX_RETRY_AFTER", "2")
    get_settings.cache_clear()
    return bot


def _outcomes(engine) -> list[str]:
    from emailengine.db.models import AlertSend

    with Session(engine) as session:
        return list(session.scalars(select(AlertSend.outcome).order_by(AlertSend.id)))


def test_send_message_returns_the_message_id(bot):
    from emailengine.integrations.telegram import TelegramConfig, send_message

    config = TelegramConfig(bot.url, TOKEN, "-100123")
    assert send_message(config, "hello") == 1
    assert bot.messages == [{"chat_id": "-100123", "text": "hello", "disable_web_page_preview": True}]


def test_429_retry_after_is_honoured(bot):
    from emailengine.integrations.telegram import TelegramConfig, send_message

    bot.rate_limit(1, retry_after=1)
    waits: list[float] = []
    config = TelegramConfig(bot.url, TOKEN, "-100123", max_retry_after=5)
    started = time.monotonic()
    assert send_message(config, "after the wait") == 1
    assert time.monotonic() - started >= 1.0  # really waited retry_after seconds
    assert bot.requests == 2 and bot.messages[0]["text"] == "after the wait"
    bot.rate_limit(1, retry_after=3)
    send_message(config, "again", sleep=waits.append)
    assert waits == [3.0]


def test_retry_after_longer_than_allowed_gives_up_without_waiting(bot):
    from emailengine.integrations.telegram import TelegramConfig, TelegramError, send_message

    bot.rate_limit(5, retry_after=120)
    waits: list[float] = []
    with pytest.raises(TelegramError, match="retry after 120"):
        send_message(TelegramConfig(bot.url, TOKEN, "-1", max_retry_after=30), "x", sleep=waits.append)
    assert waits == [] and bot.requests == 1


def test_errors_never_contain_the_token(bot):
    from emailengine.integrations.telegram import TelegramConfig, TelegramError, send_message

    with pytest.raises(TelegramError) as caught:
        send_message(TelegramConfig(bot.url, "wrong:token-xyz", "-1"), "x")
    assert "401" in str(caught.value) and "token-xyz" not in str(caught.value)


def test_send_alert_delivers_then_deduplicates_the_same_key(engine, telegram_env):
    from emailengine.alerts import send_alert

    assert send_alert("listing:198.51.100.12:zen", "198.51.100.12 listed on zen.spamhaus.org", "SBL",
                      severity="critical", ip="198.51.100.12", action="request delisting")
    assert not send_alert("listing:198.51.100.12:zen", "listed again", "SBL", severity="critical")
    assert send_alert("listing:198.51.100.13:zen", "198.51.100.13 listed", "SBL")
    assert len(telegram_env.messages) == 2
    text = telegram_env.messages[0]["text"]
    assert "198.51.100.12 listed on zen.spamhaus.org" in text and "IP: 198.51.100.12" in text
    assert "What to do: request delisting" in text
    assert _outcomes(engine) == ["sent", "deduplicated", "sent"]
    from emailengine.db.models import AlertState

    with Session(engine) as session:
        state = session.get(AlertState, "listing:198.51.100.12:zen")
        assert state.sent_count == 1 and state.suppressed_count == 1


def test_hourly_rate_limit(engine, telegram_env, monkeypatch):
    from emailengine.alerts import send_alert
    from emailengine.config import get_settings

    monkeypatch.setenv("EE_ALERT_MAX_PER_HOUR", "2")
    get_settings.cache_clear()
    results = [send_alert(f"key-{n}", "t", "x") for n in range(4)]
    assert results == [True, True, False, False]
    assert len(telegram_env.messages) == 2
    assert _outcomes(engine)[-1] == "rate_limited"


def test_failed_send_is_logged_counted_and_never_raises(engine, telegram_env, caplog):
    from emailengine.alerts import send_alert

    telegram_env.fail(1, status=500)
    with caplog.at_level(logging.ERROR, logger="emailengine"):
        assert send_alert("dns:example.net:spf", "SPF broken", "x", domain="example.net") is False
    assert "Telegram send failed" in caplog.text and TOKEN not in caplog.text
    assert _outcomes(engine) == ["failed"]
    # Not deduplicated: the next occurrence tries again and gets through.
    assert send_alert("dns:example.net:spf", "SPF broken", "x", domain="example.net") is True


def test_unreachable_api_and_no_database_still_never_raise(tmp_path, monkeypatch):
    from emailengine.alerts import send_alert
    from emailengine.config import get_settings

    monkeypatch.setenv("EE_TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("EE_TELEGRAM_CHAT_ID", "1")
    monkeypatch.setenv("EE_TELEGRAM_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("EE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    assert send_alert("k", "t", "x") is False


def test_unconfigured_telegram_only_logs(engine, caplog):
    from emailengine.alerts import send_alert

    with caplog.at_level(logging.WARNING, logger="emailengine"):
        assert send_alert("k", "something happened", "details") is False
    assert "something happened" in caplog.text
    assert _outcomes(engine) == []


def test_alert_test_command(cli, use_db, telegram_env):
    result = cli("alert", "test", "--json")
    assert result.exit_code == 0, result
    assert result.json()["message_id"] == 1
    assert "test alert from ee" in telegram_env.messages[0]["text"]
    telegram_env.fail(3, status=502)
    failed = cli("alert", "test")
    assert failed.exit_code == 75 and "cannot send the test alert" in failed.stderr


def test_alert_test_without_configuration_is_a_usage_error(cli, use_db):
    result = cli("alert", "test")
    assert result.exit_code == 2
    assert "EE_TELEGRAM_BOT_TOKEN" in result.stderr


def test_alert_from_inside_a_sqlite_write_transaction_is_still_sent(tmp_path, monkeypatch, telegram_env):
    """A job holding SQLite's write lock calls send_alert: no 30 s stall, the message goes out."""
    import sqlalchemy as sa

    from emailengine.alerts import send_alert
    from emailengine.config import get_settings
    from emailengine.db.engine import get_engine

    url = f"sqlite:///{tmp_path / 'locked.db'}"
    monkeypatch.setenv("EE_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = get_engine(url)
    with engine.connect() as holder:
        holder.execute(sa.text("INSERT INTO alerts (key, last_state, sent_count, suppressed_count) "
                               "VALUES ('held', '', 0, 0)"))  # write lock held until the block ends
        started = time.monotonic()
        assert send_alert("locked:key", "sent while the job holds the lock", "x") is True
        assert time.monotonic() - started < 10
        holder.rollback()
    assert len(telegram_env.messages) == 1
