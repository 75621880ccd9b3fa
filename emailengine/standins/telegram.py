"""A loopback stand-in for the Telegram Bot API `sendMessage` (tests and `ee demo`).

    with TelegramStandIn(token="123:abc") as bot:     # http://127.0.0.1:<port>
        ... EE_TELEGRAM_API_URL=bot.url ...
        bot.messages   # [{"chat_id": ..., "text": ...}, ...]

`bot.rate_limit(n, retry_after)` makes the next n requests answer 429 with
`parameters.retry_after`, like the real API; `bot.fail(n, status)` answers an error status.
A wrong token answers 401 like Telegram does.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from emailengine.standins._http import LoopbackHTTPServer


class TelegramStandIn(LoopbackHTTPServer):
    """A threaded HTTP server on 127.0.0.1 that records the messages it is sent."""

    def __init__(self, token: str = "123456:TEST-token") -> None:  # noqa: S107 - a fake bot token
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._rate_limited = 0
        self._retry_after = 1
        self._failures = 0
        self._failure_status = 500

    @property
    def url(self) -> str:
        """Return the base URL to use as EE_TELEGRAM_API_URL."""
        return self.base_url

    def rate_limit(self, count: int, retry_after: int = 1) -> None:
        """Answer the next `count` requests with 429 and retry_after seconds."""
        with self._lock:
            self._rate_limited, self._retry_after = count, retry_after

    def fail(self, count: int, status: int = 500) -> None:
        """Answer the next `count` requests with an error status."""
        with self._lock:
            self._failures, self._failure_status = count, status

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            if path != f"/bot{self.token}/sendMessage":
                return 401 if path.endswith("/sendMessage") else 404, {
                    "ok": False, "error_code": 401, "description": "Unauthorized"}
            if self._rate_limited > 0:
                self._rate_limited -= 1
                return 429, {"ok": False, "error_code": 429,
                             "description": f"Too Many Requests: retry after {self._retry_after}",
                             "parameters": {"retry_after": self._retry_after}}
            if self._failures > 0:
                self._failures -= 1
                return self._failure_status, {"ok": False, "error_code": self._failure_status,
                                              "description": "Internal Server Error"}
            if not body.get("chat_id") or not body.get("text"):
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            self.messages.append(body)
            return 200, {"ok": True, "result": {"message_id": len(self.messages), "text": body["text"]}}

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                status, answer = stand_in._answer(self.path, body if isinstance(body, dict) else {})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence
                return

        return Handler

