"""Two `ee forward retry` processes at once never send the same event twice in a round."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from emailengine.standins.scraper import ScraperStandIn
from tests.fakes.forwarding import insert_events, make_key, outbox_counts


def _env(tmp_path: Path, db_url: str, scraper_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EE_")}
    env.update({"EE_DATABASE_URL": db_url, "EE_SCRAPER_URL": scraper_url, "EE_FORWARD_BATCH": "25", "EE_FORWARD_TIMEOUT": "90",
                "EE_ENV_FILE": str(tmp_path / "empty.env"), "XDG_DATA_HOME": str(tmp_path / "data"),
                "XDG_RUNTIME_DIR": str(tmp_path / "run"), "EE_LOG_FORMAT": "json"})
    return env


def _run_two(tmp_path: Path, db_url: str, scraper_url: str, extra: list[list[str]]) -> list[subprocess.CompletedProcess]:
    env = _env(tmp_path, db_url, scraper_url)
    command = [sys.executable, "-m", "emailengine", "forward", "retry", "--json"]
    processes = [subprocess.Popen([*command, *more], env=env, stdout=subprocess.PIPE,  # noqa: S603 - our own CLI
                                  stderr=subprocess.PIPE, text=True) for more in extra]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def test_two_parallel_runners_never_send_an_event_twice(engine, use_db, tmp_path):
    """On PostgreSQL the claim is FOR UPDATE SKIP LOCKED; on SQLite one atomic UPDATE."""
    make_key(engine)
    ids = insert_events(engine, 1000)
    peers: set[int] = set()
    both_sending = threading.Event()

    def hold_until_both_runners_send(address: tuple[str, int]) -> None:
        # Each runner has its own connection: hold answers until both are mid-round at once.
        peers.add(address[1])
        if len(peers) >= 2:
            both_sending.set()
        both_sending.wait(60)

    with ScraperStandIn(delay_seconds=0.01, before_answer=hold_until_both_runners_send) as receiver:
        results = _run_two(tmp_path, use_db, receiver.url, [["--runner", "a"], ["--runner", "b"]])
    for result in results:
        assert result.returncode == 0, result.stderr
    delivered = [json.loads(r.stdout)[0]["delivered"] for r in results]
    assert sum(delivered) == 1000
    assert min(delivered) > 0  # both runners really worked the queue at the same time
    assert set(receiver.events) == set(ids)
    assert max(receiver.accepted.values()) == 1  # no event was sent twice
    assert outbox_counts(engine) == {"delivered": 1000}


def test_two_default_runs_at_once_share_the_job_lock(engine, use_db, tmp_path):
    make_key(engine)
    ids = insert_events(engine, 200)
    with ScraperStandIn(delay_seconds=0.01) as receiver:
        results = _run_two(tmp_path, use_db, receiver.url, [[], []])
    assert [r.returncode for r in results] == [0, 0]
    assert set(receiver.events) == set(ids)
    assert max(receiver.accepted.values()) == 1
