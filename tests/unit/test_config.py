"""Settings: sources (environment, env file, systemd credentials), validation, masking."""

import pytest

from emailengine.config import load_settings, parse_nameserver
from emailengine.errors import ConfigError


def test_defaults_use_the_embedded_sqlite_file(isolated_env):
    settings = load_settings()
    assert settings.effective_database_url().startswith("sqlite:///")
    assert str(isolated_env / "data" / "emailengine" / "ee.db") in settings.effective_database_url()


def test_systemd_state_directory_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    assert load_settings().effective_database_url() == f"sqlite:///{tmp_path / 'state' / 'ee.db'}"


@pytest.mark.parametrize("entry, expected", [
    ("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    ("::1", ("::1", 53)), ("[::1]:5353", ("::1", 5353)),
])
def test_nameservers_accept_host_and_host_port(entry, expected):
    assert parse_nameserver(entry) == expected


def test_nameserver_list_from_environment(monkeypatch):
    monkeypatch.setenv("EE_DNS_NAMESERVERS", "127.0.0.1:5353, 127.0.0.2")
    assert load_settings().dns_nameservers == ["127.0.0.1:5353", "127.0.0.2"]


@pytest.mark.parametrize("variable, value", [
    ("EE_DNS_NAMESERVERS", "resolver.example"), ("EE_DNS_TIMEOUT", "-1"), ("EE_LOG_FORMAT", "xml"),
    ("EE_FORWARD_BATCH", "0"), ("EE_MAILWIZZ_TABLE_PREFIX", "mw; drop"),
])
def test_invalid_values_raise_config_error_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert variable in error.value.one_line()


def test_env_file_is_read(monkeypatch, tmp_path):
    env = tmp_path / "ee.env"
    env.write_text("EE_DNS_TIMEOUT=7\nEE_SCRAPER_URL=https://scraper.example/hook\n")
    monkeypatch.setenv("EE_ENV_FILE", str(env))
    settings = load_settings()
    assert settings.dns_timeout == 7 and settings.scraper_url == "https://scraper.example/hook"


def test_missing_explicit_env_file_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setenv("EE_ENV_FILE", str(tmp_path / "nope.env"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_secrets_come_from_systemd_credentials(monkeypatch, tmp_path):
    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / "ee_telegram_bot_token").write_text("123:secret-token")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    settings = load_settings()
    assert settings.telegram_bot_token.get_secret_value() == "123:secret-token"
    assert "secret-token" not in repr(settings)
