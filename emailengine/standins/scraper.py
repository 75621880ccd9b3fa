"""A loopback scraper-pro webhook receiver for tests and `ee demo` (127.0.0.1 only).

It verifies both signatures (when given the key ring), dedupes on event id, and can be told to
misbehave: random 500s, 429 with Retry-After, slow replies (it accepts the batch, then answers
too late), and dropped connections (closes the socket without answering). A `script` of
behaviours is consumed first, for deterministic runs; then the random rates apply.

Behaviours: "ok", "500", "429", "slow", "drop", "400" (a permanent rejection).
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from emailengine.standins._http import LoopbackHTTPServer


@dataclass
class RecordedRequest:
    headers: dict[str, str]
    body: bytes
    behaviour: str
    status: int | None


@dataclass
class ScraperStandIn(LoopbackHTTPServer):
    """Start with `.start()`, point EE_SCRAPER_URL at `.url`, `.stop()` at the end."""

    keys: list[Any] | None = None  # list[KeyData]: verify signatures when given
    rate_500: float = 0.0
    rate_429: float = 0.0
    rate_slow: float = 0.0
    rate_drop: float = 0.0
    retry_after: str = "1"
    slow_seconds: float = 1.0
    delay_seconds: float = 0.0  # every good answer waits this long (well inside the client's timeout)
    before_answer: Any = None  # optional callable(client_address) run before each request is handled
    seed: int | None = None
    script: list[str] = field(default_factory=list)
    save_dir: Path | None = None
    issuer: str | None = None
    window_seconds: int = 300

    def __post_init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.accepted: Counter[str] = Counter()  # event id -> times accepted
        self.events: dict[str, dict[str, Any]] = {}
        self.mismatched: list[str] = []  # ids that arrived again with different content
        self.rejected_signatures = 0
        self._seen_jtis: set[str] = set()
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)  # noqa: S311 - chaos, not crypto

    @property
    def url(self) -> str:
        return f"{self.base_url}/webhooks/ee"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(_Handler):
            owner = standin

        return Handler


    def next_behaviour(self) -> str:
        with self._lock:
            if self.script:
                return self.script.pop(0)
            roll = self._rng.random()
        for name, rate in (("drop", self.rate_drop), ("500", self.rate_500), ("429", self.rate_429),
                           ("slow", self.rate_slow)):
            if roll < rate:
                return name
            roll -= rate
        return "ok"

    def check_signature(self, headers: dict[str, str], body: bytes) -> tuple[bool, str]:
        """Verify like a receiver would; a seen jti is a replay."""
        if self.keys is None:
            return True, ""
        from emailengine.db.models import utcnow
        from emailengine.forwarding.signing import verify_request

        with self._lock:
            verdict = verify_request(headers, body, self.keys, utcnow(), self.window_seconds, self.issuer,
                                     self._seen_jtis)
            if verdict.valid and verdict.jti:
                self._seen_jtis.add(verdict.jti)
        return verdict.valid, "; ".join(verdict.problems)

    def accept(self, body: bytes) -> tuple[int, int]:
        """Record the batch's events; return (new, duplicates)."""
        events = json.loads(body)["events"]
        new = duplicates = 0
        with self._lock:
            for event in events:
                event_id = event["id"]
                if event_id in self.events:
                    duplicates += 1
                    if self.events[event_id] != event:
                        self.mismatched.append(event_id)
                else:
                    new += 1
                    self.events[event_id] = event
                self.accepted[event_id] += 1
        return new, duplicates

    def record(self, headers: dict[str, str], body: bytes, behaviour: str, status: int | None) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(headers, body, behaviour, status))
            number = len(self.requests)
        if self.save_dir is not None:
            from emailengine.forwarding.saved import format_json

            self.save_dir.mkdir(parents=True, exist_ok=True)
            (self.save_dir / f"request-{number:05d}.json").write_text(format_json("POST", self.url, headers, body))


class _Handler(BaseHTTPRequestHandler):
    owner: ScraperStandIn
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without NODELAY, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: tests and the demo print what matters

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k: v for k, v in self.headers.items()}
        owner = self.owner
        if owner.before_answer is not None:
            owner.before_answer(self.client_address)
        behaviour = owner.next_behaviour()
        if behaviour == "drop":
            owner.record(headers, body, behaviour, None)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if behaviour in ("500", "400"):
            owner.record(headers, body, behaviour, int(behaviour))
            self._answer(int(behaviour), {"error": "stand-in told to fail"})
            return
        if behaviour == "429":
            owner.record(headers, body, behaviour, 429)
            self._answer(429, {"error": "slow down"}, {"Retry-After": owner.retry_after})
            return
        valid, why = owner.check_signature(headers, body)
        if not valid:
            owner.rejected_signatures += 1
            owner.record(headers, body, "bad-signature", 401)
            self._answer(401, {"error": why})
            return
        try:
            new, duplicates = owner.accept(body)
        except (ValueError, KeyError, TypeError):
            owner.record(headers, body, "bad-body", 400)
            self._answer(400, {"error": "body is not {\"events\": [...]}"})
            return
        owner.record(headers, body, behaviour, 200)
        if owner.delay_seconds:
            time.sleep(owner.delay_seconds)
        if behaviour == "slow":
            time.sleep(owner.slow_seconds)  # accepted, but the answer comes after the client gave up
        self._answer(200, {"accepted": new, "duplicates": duplicates})

    def _answer(self, status: int, data: dict[str, Any], extra: dict[str, str] | None = None) -> None:
        payload = json.dumps(data).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client went away (timed out)
