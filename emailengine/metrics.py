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
    from prometheus_client import push_to_gateway

    try:
        push_to_gateway(settings.pushgateway_url, job=f"ee_{job}", registry=registry, timeout=5)
        return True
    except Exception as error:  # noqa: BLE001 - any sink failure is only a warning
        logger.warning("cannot push metrics to the Pushgateway: %s", error)
        return False
