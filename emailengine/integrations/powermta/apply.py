"""Put a rendered config in place safely (powermta.md §2.9):

1. take a lock (one apply at a time on this host);
2. copy the current file to `<dir>/ee-backups/<name>.<UTC stamp>`, keep the last EE_PMTA_BACKUPS;
3. write the new text atomically (temp file in the same directory, fsync, rename, fsync dir);
4. `pmta test config` (skipped when this pmta has no such command), then `pmta reload`;
5. confirm through the management API that PowerMTA is running (when EE_PMTA_URL is set);
6. on any failure: put the previous bytes back (or remove the file if there was none), reload
   again, and raise JobFailed naming the failed step and the outcome of the rollback.

`pmta` exit statuses are undocumented, so a step fails on a non-zero status OR an output line
that mentions an error.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import subprocess  # noqa: S404 - runs the operator's configured pmta command, no shell
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from emailengine.errors import ConfigError, JobFailed, TemporaryFailure
from emailengine.logs import logger

if TYPE_CHECKING:
    from emailengine.config import Settings

BACKUP_DIR = "ee-backups"
UNAVAILABLE_MARKERS = ("unknown command", "invalid command", "unrecognized command")


@dataclass
class StepResult:
    ok: bool
    text: str


@dataclass
class ApplyResult:
    """What happened: outcome is applied | unchanged | dry-run."""

    outcome: str
    path: str
    backup: str | None = None
    steps: list[str] = field(default_factory=list)


def backup_dir(path: Path) -> Path:
    """Backups live in a sub-directory so a wildcard `include dir/*.conf` never loads them."""
    return path.parent / BACKUP_DIR


def run_pmta(settings: Settings, *args: str, timeout: float = 120.0) -> StepResult:
    """Run EE_PMTA_CMD with args; ok when it exits 0 and prints no error line."""
    command = [*shlex.split(settings.pmta_cmd), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    except FileNotFoundError:
        return StepResult(False, f"command not found: {command[0]} (set EE_PMTA_CMD)")
    except subprocess.TimeoutExpired:
        return StepResult(False, f"`{' '.join(args)}` timed out after {timeout:.0f}s")
    text = " ".join((done.stdout + " " + done.stderr).split())
    has_error = any(word in text.lower() for word in ("error", "failed"))
    return StepResult(done.returncode == 0 and not has_error, text or f"exit status {done.returncode}")


def check_config(settings: Settings) -> StepResult:
    """`pmta test config`; a pmta without that command counts as passed (and says so)."""
    result = run_pmta(settings, "test", "config")
    if not result.ok and any(marker in result.text.lower() for marker in UNAVAILABLE_MARKERS):
        return StepResult(True, "pmta test config not available; relying on reload")
    return result


def reload(settings: Settings) -> StepResult:
    return run_pmta(settings, "reload")


def confirm_health(settings: Settings, attempts: int = 3, delay: float = 1.0) -> StepResult:
    """Ask the management API whether PowerMTA runs; skipped when EE_PMTA_URL is unset."""
    if not settings.pmta_url:
        return StepResult(True, "health not confirmed (EE_PMTA_URL not set)")
    from emailengine.integrations.powermta.mgmt import PmtaClient, health

    last = ""
    for attempt in range(attempts):
        try:
            with PmtaClient.from_settings(settings) as client:
                ok, last = health(client.status())
            if ok:
                return StepResult(True, f"PowerMTA {last}")
        except (TemporaryFailure, ConfigError) as exc:
            last = exc.one_line()
        if attempt + 1 < attempts:
            time.sleep(delay)
    return StepResult(False, last)


def atomic_write(path: Path, text: str) -> None:
    """Write text to path atomically: temp file in the same directory, fsync, rename, fsync dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_backup(path: Path, keep: int, now: datetime | None = None) -> Path | None:
    """Copy the current file into the backup directory and prune to the newest `keep`."""
    if not path.exists():
        return None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    target_dir = backup_dir(path)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{path.name}.{stamp}"
    atomic_write(target, path.read_text(encoding="utf-8"))
    prune_backups(path, keep)
    return target


def list_backups(path: Path) -> list[Path]:
    """Backups of path, oldest first (the UTC stamp sorts by time)."""
    directory = backup_dir(path)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.name.startswith(path.name + "."))


def prune_backups(path: Path, keep: int) -> None:
    for old in list_backups(path)[:-keep] if keep > 0 else list_backups(path):
        old.unlink(missing_ok=True)


@contextlib.contextmanager
def apply_lock(path: Path) -> Iterator[None]:
    """Serialise applies on this host (the blocklist job and an operator may race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def apply_text(settings: Settings, text: str, dry_run: bool = False, health_delay: float = 1.0) -> ApplyResult:
    """Install text as EE_PMTA_MANAGED_CONFIG with check, reload, health and rollback.

    Returns outcome `unchanged` when the file already holds these bytes (nothing is run), and
    `dry-run` when asked. Raises JobFailed after a rollback.
    """
    path = Path(settings.pmta_managed_config)
    with apply_lock(path):
        previous = path.read_text(encoding="utf-8") if path.exists() else None
        if previous == text:
            return ApplyResult("unchanged", str(path))
        if dry_run:
            return ApplyResult("dry-run", str(path))
        backup = make_backup(path, settings.pmta_backups)
        atomic_write(path, text)
        steps = [f"wrote {path}" + (f" (backup {backup.name})" if backup else "")]
        for name, step in (("test config", lambda: check_config(settings)), ("reload", lambda: reload(settings)),
                           ("health", lambda: confirm_health(settings, delay=health_delay))):
            result = step()
            steps.append(f"{name}: {result.text}")
            if not result.ok:
                rollback = _rollback(settings, path, previous)
                logger.error("pmta apply failed at %s: %s; %s", name, result.text, rollback)
                raise JobFailed(f"PowerMTA {name} failed: {result.text}", rollback)
        return ApplyResult("applied", str(path), str(backup) if backup else None, steps)


def _rollback(settings: Settings, path: Path, previous: str | None) -> str:
    """Restore the previous bytes and reload; return a one-line account of what happened."""
    if previous is None:
        path.unlink(missing_ok=True)
        restored = "removed the new file (there was none before)"
    else:
        atomic_write(path, previous)
        restored = "previous config restored"
    again = reload(settings)
    if again.ok:
        return f"{restored} and reloaded"
    from emailengine.alerts import send_alert

    send_alert(f"pmta:rollback:{path}", "PowerMTA rollback reload failed",
               f"{restored}, but `pmta reload` failed: {again.text}", severity="critical",
               action="run `pmta test config` and `pmta reload` by hand")
    return f"{restored}, but reload failed too: {again.text}"
