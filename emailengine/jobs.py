"""The job runner: every scheduled job runs inside `run_job(name)`.

It takes the job's named lock (a second run exits 0 saying it skipped), records a `job_runs`
row, lets the job add its metrics to a per-run registry, writes the heartbeat metrics, and maps
the outcome to an exit code (0 success, 1 failed, 2 usage/config, 75 temporary failure).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emailengine.errors import EXIT_FAILED, EXIT_OK, EXIT_TEMPFAIL, EEError, exit_code_for
from emailengine.logs import log_context, logger

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from sqlalchemy.engine import Engine

    from emailengine.config import Settings


class JobSkipped(Exception):
    """Another run holds the job's lock."""


@dataclass
class JobContext:
    """What a running job can use: its run id, actor, settings, engine and metrics registry."""

    name: str
    run_id: int
    actor: str
    settings: Settings
    engine: Engine
    registry: CollectorRegistry
    summary: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        """Note a per-item failure; the job goes on and ends as failed (exit 1)."""
        logger.error(text)
        self.problems.append(text)


@dataclass
class JobResult:
    outcome: str
    exit_code: int
    summary: dict[str, Any]
    run_id: int | None = None


_OUTCOME_BY_EXIT = {EXIT_OK: "success", EXIT_TEMPFAIL: "tempfail"}


@contextlib.contextmanager
def run_job(name: str, settings: Settings | None = None, engine: Engine | None = None,
            actor: str | None = None) -> Iterator[JobContext]:
    """Run the body as job `name`. Raise JobSkipped if the lock is held elsewhere.

    After the block, `ctx.summary["_result"]` holds a JobResult; exceptions are re-raised after
    the run is recorded (the CLI edge maps them to exit codes).
    """
    from emailengine import metrics
    from emailengine.config import get_settings
    from emailengine.db.engine import database_engine
    from emailengine.db.locks import job_lock
    from emailengine.identity import current_actor
    from emailengine.paths import runtime_dir

    settings = settings or get_settings()
    engine = engine or database_engine()
    actor = actor or current_actor(settings.actor)
    with job_lock(engine, name, runtime_dir()) as taken:
        if not taken:
            _record_skip(engine, name, actor)
            raise JobSkipped(f"{name} is already running elsewhere; skipped")
        run_id = _start_run(engine, name, actor)
        started = time.monotonic()
        ctx = JobContext(name, run_id, actor, settings, engine, metrics.new_registry())
        error: BaseException | None = None
        with log_context(job=name, run_id=run_id):
            try:
                yield ctx
            except BaseException as caught:
                error = caught
            code = _exit_code(ctx, error)
            outcome = _OUTCOME_BY_EXIT.get(code, "failed")
            summary = _summary_text(ctx, error)
            _finish_run(engine, run_id, outcome, code, summary)
            metrics.record_job(ctx.registry, name, outcome, time.monotonic() - started, time.time())
            metrics.publish(ctx.registry, name, settings)
            ctx.summary["_result"] = JobResult(outcome, code, dict(ctx.summary), run_id)
            logger.info("job %s finished: %s", name, outcome, extra={"outcome": outcome, "exit_code": code})
            if error is not None and not isinstance(error, (EEError, KeyboardInterrupt)):
                # A crash nobody else reports; jobs alert their own expected failures themselves.
                _alert_crash(name, summary)
        if error is not None:
            raise error


def _alert_crash(name: str, summary: str) -> None:
    # Deduplicated per job by the alerts module: a job crashing every 2 minutes sends one message.
    from emailengine.alerts import send_alert

    send_alert(f"job:{name}:crashed", f"ee job {name} crashed", summary[:1500], severity="critical",
               action=f"read `journalctl -u ee-{name}` (run it with --debug for the traceback) and `ee health`")


def _exit_code(ctx: JobContext, error: BaseException | None) -> int:
    if error is not None:
        return exit_code_for(error) if isinstance(error, Exception) else EXIT_FAILED
    return EXIT_FAILED if ctx.problems else EXIT_OK


def _summary_text(ctx: JobContext, error: BaseException | None) -> str:
    import json

    parts = {k: v for k, v in ctx.summary.items() if not k.startswith("_")}
    if ctx.problems:
        parts["problems"] = ctx.problems[:20]
    if error is not None:
        parts["error"] = error.one_line() if isinstance(error, EEError) else f"{type(error).__name__}: {error}"
    return json.dumps(parts, default=str)[:10_000]


def _start_run(engine: Engine, name: str, actor: str) -> int:
    from sqlalchemy.orm import Session

    from emailengine.db.models import JobRun

    with Session(engine) as session, session.begin():
        run = JobRun(job=name, host=socket.gethostname(), pid=os.getpid(), actor=actor)
        session.add(run)
        session.flush()
        return run.id


def _finish_run(engine: Engine, run_id: int, outcome: str, code: int, summary: str) -> None:
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from emailengine.db.models import JobRun, utcnow

    try:
        with Session(engine) as session, session.begin():
            session.execute(update(JobRun).where(JobRun.id == run_id).values(
                finished_at=utcnow(), outcome=outcome, exit_code=code, summary=summary))
    except Exception as error:  # noqa: BLE001 - the database may be the thing that failed
        logger.error("cannot record the end of job run %s: %s", run_id, error)


def _record_skip(engine: Engine, name: str, actor: str) -> None:
    from sqlalchemy.orm import Session

    from emailengine.db.models import JobRun, utcnow

    with Session(engine) as session, session.begin():
        now = utcnow()
        session.add(JobRun(job=name, host=socket.gethostname(), pid=os.getpid(), actor=actor,
                           started_at=now, finished_at=now, outcome="skipped", exit_code=0,
                           summary='{"skipped": "lock held by another run"}'))
