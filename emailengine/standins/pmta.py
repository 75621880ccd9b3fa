"""A loopback HTTP server answering like PowerMTA's management API (powermta.md §3.2), for
tests and `ee demo`; and `write_fake_pmta`, which installs a fake `pmta` command.

    with PmtaApiStandin(queues=[...]) as api:
        api.url            # "http://127.0.0.1:PORT" for EE_PMTA_URL
        api.mode = "garbage"   # ok | garbage | unhealthy | error | nodata

Serves `/status`, `/queues`, `/vmtas` with `?format=json` in the 5.0 envelope
`{"data": ..., "status": "success", "message": ""}`. With `api_key` set, requests without a
matching `X-API-Key` get 403.
"""

from __future__ import annotations

import hmac
import json
import stat
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emailengine.standins._http import LoopbackHTTPServer

MODES = ("ok", "garbage", "unhealthy", "error", "nodata")


def sample_queues() -> list[dict[str, Any]]:
    """A few queues shaped like the DOM/JSON fields seen on real servers."""
    return [
        {"name": "gmail.com/vmta-10", "rcp": 1200, "kb": 30500, "conn": 4, "paused": "no", "mode": "normal",
         "retryTime": ""},
        {"name": "yahoo.com/vmta-11", "rcp": 340, "kb": 8200, "conn": 0, "paused": "no", "mode": "backoff",
         "retryTime": "2026-01-05 10:20:00"},
        {"name": "hotmail.com/vmta-10", "rcp": 90, "kb": 2100, "conn": 1, "paused": "yes", "mode": "normal",
         "retryTime": ""},
    ]


class PmtaApiStandin(LoopbackHTTPServer):
    """The management API stand-in; thread-backed, loopback only."""

    def __init__(self, queues: list[dict[str, Any]] | None = None, api_key: str | None = None,
                 mode: str = "ok", host_name: str = "mta.example.net") -> None:
        self.queues = sample_queues() if queues is None else queues
        self.api_key = api_key
        self.mode = mode
        self.host_name = host_name
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return self.base_url

    def status_document(self) -> dict[str, Any]:
        rcp = sum(int(q.get("rcp", 0)) for q in self.queues)
        running = "stopping" if self.mode == "unhealthy" else "running"
        return {"mta": {"product": {"name": "PowerMTA (stand-in)", "version": "5.0r5"}, "fullHostName": self.host_name},
                "status": {"timeNow": "2026-01-05 10:00:00", "shuttingDown": self.mode == "unhealthy",
                           "traffic": {"lastMin": {"out": {"rcp": 10, "msg": 10, "kb": 250}}},
                           "conn": {"smtpOut": {"cur": 5, "max": 500, "top": 40}},
                           "queue": {"smtp": {"rcp": rcp, "dom": len(self.queues), "kb": 0}},
                           "status": running}}

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        """Return (HTTP status, content type, body) for a GET."""
        self.requests.append(path)
        if self.api_key is not None:
            given = headers.get("x-api-key", "")
            if not hmac.compare_digest(given.encode(), self.api_key.encode()):
                return 403, "text/plain", b"access denied"
        parts = urlsplit(path)
        if self.mode == "error":
            return 500, "text/plain", b"internal error"
        if self.mode == "garbage":
            return 200, "text/html", b"<html><body>PowerMTA monitor</body></html>"
        data: Any
        if parts.path == "/status":
            data = self.status_document()
        elif parts.path == "/queues":
            data = {"queue": self.queues}
        elif parts.path == "/vmtas":
            names = sorted({q["name"].split("/", 1)[1] for q in self.queues if "/" in q["name"]})
            data = {"vmta": [{"name": n, "rcp": sum(q["rcp"] for q in self.queues if q["name"].endswith("/" + n)),
                              "conn": 0} for n in names]}
        else:
            return 404, "text/plain", b"not found"
        fmt = parse_qs(parts.query).get("format", ["xml"])[0]
        if fmt != "json":
            return 200, "text/xml", b"<rsp><data/><succ/></rsp>"
        if self.mode == "nodata":
            return 200, "application/json", json.dumps({"status": "success"}).encode()
        return 200, "application/json", json.dumps({"data": data, "status": "success", "message": ""}).encode()

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                code, ctype, body = standin.answer(self.path, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler



def write_fake_pmta(bin_dir: Path, state_dir: Path) -> Path:
    """Install an executable `pmta` in bin_dir that runs emailengine.standins.fake_pmta with its
    state (call log, failure switches) in state_dir. Return its path (for EE_PMTA_CMD)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "pmta"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m emailengine.standins.fake_pmta '
                      f'--state "{state_dir}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def set_switch(state_dir: Path, name: str, times: int | None = None) -> None:
    """Make the fake fail: name is fail-test | fail-reload | no-test; times None = always."""
    (state_dir / name).write_text("" if times is None else str(times))


def calls(state_dir: Path) -> list[str]:
    """The fake's recorded calls, one string of arguments each."""
    log = state_dir / "calls.log"
    return log.read_text().splitlines() if log.exists() else []

