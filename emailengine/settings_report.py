"""What `ee config show` and `ee config check` report: the effective settings with their
source (secrets masked) and every problem found, one line each.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from emailengine.config import SECRET_FIELDS, Settings, env_file_path, load_settings
from emailengine.errors import ConfigError


def _source(name: str, env_file: str | None) -> str:
    variable = f"EE_{name.upper()}"
    if variable in os.environ:
        return "environment"
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / variable.lower()).is_file():
        return "credential"
    if env_file and any(line.strip().upper().startswith(variable + "=")
                        for line in Path(env_file).read_text(errors="replace").splitlines()):
        return "env file"
    return "default"


def settings_view() -> list[dict[str, Any]]:
    """Return name, value (secrets masked, database password masked) and source of every setting."""
    settings = load_settings()
    env_file = env_file_path()
    rows = []
    for name in Settings.model_fields:
        value: Any = getattr(settings, name)
        if name in SECRET_FIELDS:
            value = "********" if value is not None and value.get_secret_value() else ""
        elif name == "database_url":
            value = mask_url_password(settings.effective_database_url())
        elif isinstance(value, Path):
            value = str(value)
        rows.append({"name": f"EE_{name.upper()}", "value": value, "source": _source(name, env_file)})
    return rows


def mask_url_password(url: str) -> str:
    """Return the URL with any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def _check_url(value: str, name: str, schemes: tuple[str, ...]) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        return f"EE_{name.upper()}: {mask_url_password(value)!r} is not a valid {'/'.join(schemes)} URL"
    return None


def check_settings() -> tuple[list[str], list[str]]:
    """Return (problems, warnings). Loading errors are problems; so are bad URLs and paths."""
    try:
        settings = load_settings()
    except ConfigError as error:
        return error.message.split("; "), []
    problems: list[str] = []
    warnings: list[str] = []
    for name in ("pmta_url", "mailwizz_api_url", "scraper_url", "telegram_api_url", "pushgateway_url"):
        problem = _check_url(getattr(settings, name), name, ("http", "https"))
        if problem:
            problems.append(problem)
    problems.extend(_database_problems(settings))
    if settings.metrics_textfile_dir and settings.metrics_textfile_dir.exists() and not os.access(
            settings.metrics_textfile_dir, os.W_OK):
        problems.append(f"EE_METRICS_TEXTFILE_DIR: {settings.metrics_textfile_dir} is not writable")
    if settings.spool_dir.exists() and not os.access(settings.spool_dir, os.W_OK):
        problems.append(f"EE_SPOOL_DIR: {settings.spool_dir} is not writable")
    if settings.telegram_bot_token and not settings.telegram_chat_id:
        problems.append("EE_TELEGRAM_CHAT_ID: required when EE_TELEGRAM_BOT_TOKEN is set")
    if settings.mailwizz_api_url and not settings.mailwizz_api_key:
        problems.append("EE_MAILWIZZ_API_KEY: required when EE_MAILWIZZ_API_URL is set")
    if not settings.pmta_tls_verify:
        warnings.append("EE_PMTA_TLS_VERIFY=false: PowerMTA's certificate is not verified")
    warnings.extend(_area_warnings(settings))
    return problems, warnings


def _database_problems(settings: Settings) -> list[str]:
    url = settings.effective_database_url()
    scheme = urlsplit(url).scheme
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
        return [f"EE_DATABASE_URL: unsupported database {scheme!r} (use sqlite:/// or postgresql+psycopg://)"]
    problems = []
    if settings.mailwizz_db_url:
        mw_scheme = urlsplit(settings.mailwizz_db_url.get_secret_value()).scheme
        if not mw_scheme.startswith("mysql"):
            problems.append("EE_MAILWIZZ_DB_URL: must be a mysql+pymysql:// URL")
    return problems


def _area_warnings(settings: Settings) -> list[str]:
    """Warnings contributed by capabilities (e.g. public resolvers for lists that refuse them)."""
    from emailengine.bounces.fingerprints import ACCEL

    found = []
    if ACCEL is None:
        found.append("the bounce pipe's compiled scanner is not built (no C compiler at install?): ee bounce-pipe "
                     "runs in pure Python, several times slower; reinstall with gcc and the Python headers")
    try:
        from emailengine.blocklists.zones import resolver_warnings
    except ImportError:
        return found
    return found + list(resolver_warnings(settings))
