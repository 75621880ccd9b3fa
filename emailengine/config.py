"""The one Settings class: every `EE_` setting of every capability, with its default and check.

Sources, later ones losing to earlier: environment variables, the env file (`EE_ENV_FILE` or
/etc/emailengine/emailengine.env), systemd credentials in $CREDENTIALS_DIRECTORY (a file named
after the variable, e.g. `ee_telegram_bot_token`), then the defaults below.
Secrets are `SecretStr`: never printed, masked by `ee config show`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from emailengine import paths
from emailengine.errors import ConfigError

DEFAULT_ENV_FILE = "/etc/emailengine/emailengine.env"


def _split_list(value: object) -> object:
    """Accept `a,b c` or a JSON list for list settings given as one environment string."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part for part in text.replace(",", " ").split() if part]
    return value


CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every setting of `ee`. Field descriptions feed `ee config show` and the docs."""

    model_config = SettingsConfigDict(
        env_prefix="EE_",
        extra="ignore",
        case_sensitive=False,
    )

    # --- foundation (issue 2) ---
    database_url: str = Field("", description="SQLAlchemy URL; empty means the embedded SQLite file")
    spool_dir: Path = Field(default_factory=paths.default_spool_dir, description="bounce-pipe spool")
    metrics_textfile_dir: Path | None = Field(None, description="node-exporter textfile collector dir")
    pushgateway_url: str = Field("", description="Prometheus Pushgateway URL (instead of textfiles)")
    dns_nameservers: CommaList = Field(
        default_factory=list, description="resolvers as host or host:port; empty = system resolver"
    )
    dns_timeout: float = Field(3.0, gt=0, le=60, description="seconds per DNS query")
    log_format: Literal["auto", "json", "text"] = Field("auto", description="auto = JSON when not a TTY")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    actor: str = Field("", description="actor name when neither SUDO_USER nor the OS user is known")

    # --- bounce pipeline (issue 3) ---
    soft_bounce_limit: int = Field(3, ge=1, description="soft bounces within the window that suppress")
    soft_bounce_window_days: int = Field(15, ge=1)
    bounce_batch_size: int = Field(50_000, ge=1, le=100_000, description="max records per transaction")
    bounce_flush_ms: int = Field(200, ge=10, le=1000, description="max time a record waits for commit")
    bounce_fingerprint_days: int = Field(
        90, ge=7, description="days of record fingerprints kept (re-imports of older files count again)"
    )

    # --- PowerMTA and MailWizz (issue 4) ---
    pmta_managed_config: Path = Field(Path("/etc/pmta/ee-managed.conf"))
    pmta_backups: int = Field(10, ge=1, le=1000)
    pmta_cmd: str = Field("pmta", description="the pmta control command (path or name)")
    pmta_url: str = Field("", description="PowerMTA HTTP management URL, e.g. http://127.0.0.1:8080")
    pmta_api_key: SecretStr | None = None
    pmta_tls_verify: bool = True
    pmta_timeout: float = Field(10.0, gt=0)
    mailwizz_db_url: SecretStr | None = Field(None, description="mysql+pymysql://user:pass@host/db")
    mailwizz_table_prefix: str = Field("mw_", pattern=r"^[A-Za-z0-9_]{0,32}$")
    mailwizz_api_url: str = ""
    mailwizz_api_key: SecretStr | None = None
    mailwizz_api_private_key: SecretStr | None = Field(None, description="1.x API signing key")
    mailwizz_api_version: int = Field(2, ge=1, le=2, description="1 = signed 1.x headers, 2 = X-Api-Key")
    active_daily_quota: int = Field(50_000, ge=0)
    active_hourly_quota: int = Field(0, ge=0, description="0 = daily quota / 24, rounded up")
    pmta_host: str | None = Field(None, description="render IPs of this PowerMTA host; unset = hostname, '' = all")
    mailwizz_stale_hours: int = Field(36, ge=1, description="warmup quotas older than this are stale: never raised")
    mailwizz_timeout: float = Field(10.0, gt=0, description="MailWizz REST API and database timeout (s)")

    # --- warmup, rotation, quarantine (issue 5) ---
    warmup_target_daily: int = Field(50_000, ge=1, description="per-IP daily target the plan reaches")
    warmup_pool_targets: dict[str, int] = Field(
        default_factory=dict, description='per-pool target overrides, JSON e.g. {"bulk": 100000}'
    )
    warmup_default_plan: str = Field("default", description="plan of an IP that names none")
    warmup_lane_shares: dict[str, float] = Field(
        default_factory=lambda: {"gmail": 0.35, "microsoft": 0.2, "microsoft365": 0.05, "yahoo": 0.15,
                                 "apple": 0.05, "other": 0.2},
        description="lane mix used only while a pool has no 7-day history (JSON lane → share)",
    )
    warmup_share_min_volume: int = Field(1000, ge=0, description="pool 7-day volume before measured shares count")
    warmup_sending_hours: int = Field(24, ge=1, le=24, description="hourly quota = ceil(daily ÷ hours)")
    warmup_min_sent_ratio: float = Field(0.9, gt=0, le=1, description="advance only when sent ≥ ratio × allowance")
    warmup_min_attempts: int = Field(200, ge=1, description="attempts before bounce/deferral rates are judged")
    warmup_min_delivered: int = Field(1000, ge=1, description="delivered before the complaint rate is judged")
    warmup_min_events: int = Field(2, ge=1, description="events that make a rate judged below the minimum volume")
    warmup_window_days: int = Field(7, ge=1, le=30, description="days pooled when one day is too small")
    warmup_max_hard_bounce_rate: float = Field(0.02, gt=0, le=1, description="hold at or above")
    warmup_step_back_hard_bounce_rate: float = Field(0.05, gt=0, le=1)
    warmup_pause_hard_bounce_rate: float = Field(0.10, gt=0, le=1)
    warmup_max_complaint_rate: float = Field(0.001, gt=0, le=1, description="hold; 2 days running steps back")
    warmup_pause_complaint_rate: float = Field(0.003, gt=0, le=1)
    warmup_max_block_rate: float = Field(0.01, gt=0, le=1, description="hold at or above")
    warmup_step_back_block_rate: float = Field(0.03, gt=0, le=1)
    warmup_max_deferral_rate: float = Field(0.10, gt=0, le=1, description="hold at or above")
    warmup_step_back_deferral_rate: float = Field(0.25, gt=0, le=1)
    warmup_rep_deferred_hold: int = Field(1, ge=1, description="reputation-coded deferrals (big lanes) that hold")
    warmup_rep_deferred_step_back: int = Field(10, ge=1)
    warmup_step_back_days: int = Field(0, ge=0, description="0 = go to the highest step ≤ half the volume")
    warmup_pause_days: int = Field(1, ge=1, description="days a paused lane stays at zero before re-entry")
    warmup_idle_grace_days: int = Field(2, ge=0, description="idle days before decay starts")
    warmup_idle_restart_days: int = Field(30, ge=1, description="idle days that restart a lane at step 1")
    warmup_catchup_max_days: int = Field(31, ge=1, le=366, description="missed days a tick catches up")
    rotation_share: float = Field(0.0, ge=0, le=0.5, description="periodic share retired monthly (snowshoe-like!)")
    rotation_max_hard_bounce_rate: float = Field(0.05, gt=0, le=1, description="30-day rate that retires")
    rotation_max_complaint_rate: float = Field(0.003, gt=0, le=1)
    rotation_max_block_rate: float = Field(0.03, gt=0, le=1)
    rotation_max_listings: int = Field(2, ge=1, description="listings in 30 days that retire")
    rotation_min_attempts: int = Field(5000, ge=1, description="30-day volume before rates are judged")
    rotation_growth_cap: float = Field(0.2, gt=0, le=1, description="daily growth the remaining IPs may absorb")
    min_active_ips: int = Field(1, ge=0)
    retire_ramp_days: int = Field(7, ge=1)
    rest_days: int = Field(30, ge=0)
    rewarm_day: int = Field(8, ge=1)
    quarantine_hours: int = Field(72, ge=0)
    quarantine_rewarm_day: int = Field(1, ge=1)

    @field_validator("warmup_lane_shares")
    @classmethod
    def _lane_shares(cls, value: dict[str, float]) -> dict[str, float]:
        from emailengine.providers import LANES

        unknown = sorted(set(value) - set(LANES))
        if unknown:
            raise ValueError(f"unknown lanes {', '.join(unknown)}; lanes are {', '.join(LANES)}")
        if any(share < 0 for share in value.values()) or sum(value.values()) <= 0:
            raise ValueError("shares must be ≥ 0 and add up to more than 0")
        return value

    # --- blocklists (issue 6) ---
    spamhaus_dqs_key: SecretStr | None = None
    blocklist_disabled: CommaList = Field(default_factory=list, description="zones to skip")
    blocklist_extra_zones: str = Field("", description="JSON list of extra zone definitions")
    blocklist_concurrency: int = Field(200, ge=1, le=5000, description="DNS queries in flight during a scan")
    blocklist_zone_qps: float = Field(400.0, gt=0, description="per-zone query rate limit (queries/s)")
    blocklist_retries: int = Field(2, ge=0, le=5, description="extra tries after a DNS timeout or SERVFAIL")

    # --- forwarding (issue 8) ---
    scraper_url: str = ""
    forward_batch: int = Field(100, ge=1, le=1000)
    forward_max_attempts: int = Field(20, ge=1)
    forward_max_age_hours: float = Field(72.0, gt=0)
    forward_timeout: float = Field(10.0, gt=0)
    forward_issuer: str = "emailengine"
    forward_connect_timeout: float = Field(5.0, gt=0, description="seconds to connect to a destination")
    forward_backoff_base_seconds: float = Field(60.0, gt=0, description="first retry delay; doubles per attempt")
    forward_backoff_max_seconds: float = Field(3600.0, gt=0, description="longest retry delay")
    forward_lease_seconds: float = Field(300.0, gt=0, description="how long a runner owns claimed events")
    forward_run_seconds: float = Field(100.0, gt=0, description="a retry run stops claiming after this")
    forward_quick_retries: int = Field(2, ge=0, le=5, description="in-call retries on connection errors")
    forward_breaker_failures: int = Field(3, ge=1, description="failed batches in a row that pause a destination for the run")
    forward_replay_window_seconds: int = Field(300, ge=1, le=3600, description="verify: max timestamp skew")

    # --- operations (issue 9) ---
    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    alert_dedupe_minutes: int = Field(60, ge=0)
    alert_max_per_hour: int = Field(30, ge=1)
    alert_max_retry_after: float = Field(30.0, ge=0, le=600, description="longest Telegram 429 wait honoured")
    telegram_timeout: float = Field(10.0, gt=0, le=120)
    pmta_spool_dir: Path = Field(Path("/var/spool/pmta"), description="PowerMTA queue dir (disk check)")
    health_disk_paths: str = Field("", description="extra paths whose disk to check, comma separated")
    health_disk_warn_percent: float = Field(15.0, gt=0, lt=100)
    health_disk_crit_percent: float = Field(5.0, gt=0, lt=100)
    health_memory_warn_percent: float = Field(10.0, gt=0, lt=100)
    health_memory_crit_percent: float = Field(3.0, gt=0, lt=100)
    health_bounce_warn_minutes: int = Field(180, ge=0, description="bounce-pipe silence that warns; 0 = off")
    health_outbox_warn_minutes: int = Field(60, ge=1, description="oldest pending outbox event that warns")
    health_outbox_crit_minutes: int = Field(360, ge=1)
    validate_concurrency: int = Field(50, ge=1, le=1000, description="parallel DNS lookups of ee validate")

    @field_validator("dns_nameservers", "blocklist_disabled", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("dns_nameservers")
    @classmethod
    def _nameservers(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_nameserver(entry)
        return value

    def effective_database_url(self) -> str:
        """Return the configured database URL, or the embedded SQLite default."""
        return self.database_url or paths.default_database_url()


def parse_nameserver(entry: str) -> tuple[str, int]:
    """Given `host`, `host:port`, `[v6]:port` or a bare IPv6 address, return (address, port)."""
    import ipaddress

    text = entry.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = int(rest.lstrip(":"))
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        if not port_text.isdigit():
            raise ValueError(f"invalid nameserver port in {entry!r}")
        port = int(port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError as error:
        raise ValueError(f"nameserver {entry!r} is not an IP address") from error
    if not 0 < port < 65536:
        raise ValueError(f"nameserver port out of range in {entry!r}")
    return host, port


SECRET_FIELDS = tuple(name for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation))


def env_file_path() -> str | None:
    """Return the env file to read: $EE_ENV_FILE (must exist), else the default when present."""
    explicit = os.environ.get("EE_ENV_FILE")
    if explicit:
        if not Path(explicit).is_file():
            raise ConfigError(f"env file {explicit} does not exist", "check EE_ENV_FILE")
        return explicit
    return DEFAULT_ENV_FILE if Path(DEFAULT_ENV_FILE).is_file() else None


def load_settings(**overrides: object) -> Settings:
    """Load the settings from every source; raise ConfigError naming each bad value."""
    from pydantic import ValidationError

    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    try:
        return Settings(
            _env_file=env_file_path(),  # type: ignore[call-arg]
            _secrets_dir=credentials if credentials and Path(credentials).is_dir() else None,  # type: ignore[call-arg]
            **overrides,
        )
    except ValidationError as error:
        problems = [
            f"EE_{'_'.join(str(p) for p in problem['loc']).upper()}: {problem['msg']}"
            for problem in error.errors()
        ]
        raise ConfigError("; ".join(problems), "see `ee config check`") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read settings: {error}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (loaded once); their secrets are masked in every log line."""
    from emailengine.logs import register_secret

    settings = load_settings()
    for name in SECRET_FIELDS:
        value = getattr(settings, name)
        if value is not None:
            register_secret(value.get_secret_value())
    return settings
