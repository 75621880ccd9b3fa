"""Metrics: a fresh registry per run, written atomically to the node-exporter textfile
directory (one file per job) or pushed to a Pushgateway with the job as grouping key.

A sink failure is a warning, never a job failure. Metric names live in this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emailengine.logs import logger

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from emailengine.config import Settings


def new_registry() -> CollectorRegistry:
    """Return an empty registry for one run."""
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


def record_job(registry: CollectorRegistry, job: str, outcome: str, duration: float, finished_at: float) -> None:
    """Add the heartbeat metrics every job writes: last success, duration, outcome."""
    from prometheus_client import Gauge

    labels = {"job": job}
    Gauge("ee_job_last_run_timestamp_seconds", "Unix time the job last finished", ["job"],
          registry=registry).labels(**labels).set(finished_at)
    Gauge("ee_job_duration_seconds", "Duration of the job's last run", ["job"],
          registry=registry).labels(**labels).set(duration)
    outcome_gauge = Gauge("ee_job_outcome", "1 for the outcome of the job's last run", ["job", "outcome"],
                          registry=registry)
    for name in ("success", "failed", "tempfail"):
        outcome_gauge.labels(job=job, outcome=name).set(1 if name == outcome else 0)
    if outcome == "success":
        Gauge("ee_job_last_success_timestamp_seconds", "Unix time the job last succeeded", ["job"],
              registry=registry).labels(**labels).set(finished_at)


def publish(registry: CollectorRegistry, job: str, settings: Settings) -> bool:
    """Write the registry to the textfile dir and/or Pushgateway; return False if a sink failed."""
    ok = True
    if settings.metrics_textfile_dir:
        ok &= _write_textfile(registry, job, settings)
    if settings.pushgateway_url:
        ok &= _push(registry, job, settings)
    return ok


def textfile_path(settings: Settings, job: str):  # noqa: ANN201 - Path
    """Return the textfile of a job: <dir>/ee_<job>.prom."""
    assert settings.metrics_textfile_dir is not None
    return settings.metrics_textfile_dir / f"ee_{job.replace('-', '_')}.prom"


def _write_textfile(registry: CollectorRegistry, job: str, settings: Settings) -> bool:
    from prometheus_client import write_to_textfile

    try:
        path = textfile_path(settings, job)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), registry)  # writes a temp file beside it and renames
        return True
    except OSError as error:
        logger.warning("cannot write metrics textfile: %s", error)
        return False


def _push(registry: CollectorRegistry, job: str, settings: Settings) -> bool:
    """Push to the group {job=<job>, instance=<host>}.

    The grouping key's job label overwrites the metrics' own `job` label, so it must be the plain
    job name the alert rules match on; instance keeps several PowerMTA hosts' groups apart.
    """
    import socket

    from prometheus_client import push_to_gateway

    try:
        push_to_gateway(settings.pushgateway_url, job=job, registry=registry, timeout=5,
                        grouping_key={"instance": socket.gethostname()})
        return True
    except Exception as error:  # noqa: BLE001 - any sink failure is only a warning
        logger.warning("cannot push metrics to the Pushgateway: %s", error)
        return False


# --- state gauges refreshed by `ee metrics update` (issue 9) ------------------------------------
# Label sets are bounded: states, tiers, lanes, classes, destinations and check names are fixed
# vocabularies; per-IP and per-domain labels are bounded by the inventory; bounce reasons are
# capped at MAX_REASONS (the rest are summed into reason="other").

MAX_REASONS = 40
DNS_STATUS_VALUES = {"ok": 0, "warning": 1, "error": 2}

STATE_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ee_ips": ("IPs per lifecycle state", ("state",)),
    "ee_ip_daily_quota": ("Daily sending quota of an IP", ("ip", "pool")),
    "ee_ip_warmup_day": ("Warmup plan day of an IP (0 = not warming)", ("ip", "pool")),
    "ee_ip_lane_paused": ("1 when warmup of an IP's provider lane is paused", ("ip", "lane")),
    "ee_listings_open": ("Open blocklist listings per zone tier and target kind", ("tier", "kind")),
    "ee_ip_listed": ("1 when an IP or domain has an open listing on a zone tier", ("target", "tier")),
    "ee_bounces_24h": ("Bounces of the last 24 h per class and reason", ("class", "reason")),
    "ee_suppressions": ("Suppressed addresses per cause", ("cause",)),
    "ee_ip_hard_bounce_rate": ("Hard bounces / attempts of an IP, last 24 h", ("ip",)),
    "ee_ip_complaint_rate": ("Complaints / deliveries of an IP, last 24 h", ("ip",)),
    "ee_ip_block_rate": ("Blocks / attempts of an IP, last 24 h", ("ip",)),
    "ee_ip_attempts_24h": ("Delivery attempts (delivered+hard+soft+block) of an IP, last 24 h", ("ip",)),
    "ee_deliveries_24h": ("Delivered messages of the last 24 h per provider lane", ("provider",)),
    "ee_deferrals_24h": ("Deferred messages of the last 24 h per provider lane", ("provider",)),
    "ee_pmta_queue_recipients": ("Recipients queued in PowerMTA", ()),
    "ee_pmta_backoff_queues": ("PowerMTA queues in backoff mode", ()),
    "ee_pmta_api_up": ("1 when the PowerMTA management API answered", ()),
    "ee_outbox_pending": ("Outbox events waiting for delivery per destination", ("destination",)),
    "ee_outbox_oldest_pending_age_seconds": ("Age of the oldest pending outbox event", ("destination",)),
    "ee_outbox_dead": ("Outbox events that gave up (dead letters) per destination", ("destination",)),
    "ee_dns_check_status": ("Latest DNS check status: 0 ok, 1 warning, 2 error", ("subject", "check")),
    "ee_job_db_last_success_timestamp_seconds": ("Last successful run of a job on any host (job_runs)", ("job",)),
    "ee_job_db_last_duration_seconds": ("Duration of a job's last finished run (job_runs)", ("job",)),
    "ee_job_db_last_outcome": ("1 for the outcome of a job's last finished run (job_runs)", ("job", "outcome")),
    "ee_bounce_pipe_last_record_age_seconds": ("Seconds since the bounce pipe last stored a record", ()),
    "ee_bounce_pipe_db_records": ("Accounting records the bounce pipe committed (bounce_pipe_status, per host)", ("host",)),
    "ee_bounce_pipe_db_rejects": ("Accounting lines the bounce pipe rejected (bounce_pipe_status, per host)", ("host",)),
    "ee_alerts_sent_1h": ("Alerts sent to Telegram in the last hour", ()),
    "ee_alert_send_failures_24h": ("Alert sends that failed in the last 24 h", ()),
    "ee_metrics_update_timestamp_seconds": ("Unix time the state gauges were refreshed", ()),
}

# Not a state gauge: written by every health run (emailengine/health.py).
HEALTH_METRICS = ("ee_health_status", "ee_health_check_status")


def build_state_metrics(registry: CollectorRegistry, samples: dict[str, list[tuple[dict[str, str], float]]]) -> int:
    """Register every STATE_METRICS gauge and set the given samples; return the sample count.

    samples maps a metric name to (labels, value) pairs. A gauge without samples is still
    registered (no series), so the metric's HELP is always present. Unknown names raise KeyError.
    """
    from prometheus_client import Gauge

    unknown = set(samples) - set(STATE_METRICS)
    if unknown:
        raise KeyError(f"unknown state metrics: {sorted(unknown)}")
    count = 0
    for name, (help_text, labels) in STATE_METRICS.items():
        gauge = Gauge(name, help_text, list(labels), registry=registry)
        for label_values, value in samples.get(name, []):
            (gauge.labels(**label_values) if labels else gauge).set(value)
            count += 1
    return count
