"""A loopback MailWizz REST API stand-in (mailwizz.md §2), for tests and `ee demo`.

    with MailWizzApiStandin(version=2, public_key="k" * 40) as api:
        api.url                    # base URL for EE_MAILWIZZ_API_URL (ends in /api)

Auth: version 2 checks `X-Api-Key` (also accepted in `X-MW-PUBLIC-KEY`, as 2.x does);
version 1 checks the four X-MW-* headers, the HMAC-SHA1 signature and the 900 s timestamp
window. Endpoints: `GET delivery-servers`, `GET delivery-servers/{id}` (read-only, as in
2.1.13: only server_id, type, name, hostname, status),
`GET campaigns/delivery-logs/email-message-id/{message_id}` (from `delivery_logs`),
`POST campaigns/{uid}/bounces`
(422 on a repeat), `PUT lists/subscribers/unsubscribe-by-email-from-all-lists`.
Every request is recorded in `requests` as (method, path, headers, form).
"""

from __future__ import annotations

import hmac
import json
import math
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emailengine.integrations.mailwizz.api import signature_1x
from emailengine.standins._http import LoopbackHTTPServer

PUBLIC_FIELDS = ("server_id", "type", "name", "hostname", "status")


def sample_servers() -> list[dict[str, Any]]:
    return [
        {"server_id": 1, "type": "smtp-pmta", "name": "pmta vmta-10", "hostname": "mta10.example.net",
         "status": "active"},
        {"server_id": 2, "type": "smtp-pmta", "name": "pmta vmta-11", "hostname": "mta11.example.net",
         "status": "inactive"},
    ]


class MailWizzApiStandin(LoopbackHTTPServer):
    def __init__(self, version: int = 2, public_key: str = "a" * 40, private_key: str = "b" * 40,
                 servers: list[dict[str, Any]] | None = None, max_skew: int = 900) -> None:
        self.version = version
        self.public_key = public_key
        self.private_key = private_key
        self.servers = sample_servers() if servers is None else servers
        self.max_skew = max_skew
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
        self.bounces: list[dict[str, str]] = []
        self.unsubscribed: list[str] = []
        # email_message_id (no angle brackets) → campaign_uid, list_uid, subscriber_uid, status
        self.delivery_logs: dict[str, dict[str, str]] = {}

    @property
    def url(self) -> str:
        return f"{self.base_url}/api"

    # ---- auth ----
    def authorised(self, method: str, path: str, headers: dict[str, str], form: dict[str, str]) -> str | None:
        """Return an error text, or None when the request is authorised."""
        if self.version != 1:
            key = headers.get("x-api-key") or headers.get("x-mw-public-key") or ""
            return None if hmac.compare_digest(key.encode(), self.public_key.encode()) else "Invalid API key"
        public = headers.get("x-mw-public-key", "")
        stamp = headers.get("x-mw-timestamp", "")
        given = headers.get("x-mw-signature", "")
        if not hmac.compare_digest(public.encode(), self.public_key.encode()):
            return "Invalid API key"
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > self.max_skew:
            return "Invalid timestamp"
        parts = urlsplit(path)
        url = f"http://{headers.get('host', '')}{parts.path}"
        special = {"X-MW-PUBLIC-KEY": public, "X-MW-TIMESTAMP": stamp,
                   "X-MW-REMOTE-ADDR": headers.get("x-mw-remote-addr", "")}
        get_params = dict(parse_qsl(parts.query, keep_blank_values=True))
        expected = signature_1x(self.private_key, method, url, special, get_params, form)
        return None if hmac.compare_digest(given.encode(), expected.encode()) else "Invalid API request signature"

    # ---- routing ----
    def answer(self, method: str, path: str, headers: dict[str, str], form: dict[str, str]) -> tuple[int, Any]:
        self.requests.append((method, path, headers, form))
        error = self.authorised(method, path, headers, form)
        if error:
            return 401, {"status": "error", "error": error}
        parts = urlsplit(path)
        route = parts.path.removeprefix("/api").strip("/").split("/")
        query = dict(parse_qsl(parts.query))
        if method == "GET" and route == ["delivery-servers"]:
            return 200, self._list(query)
        if method == "GET" and len(route) == 2 and route[0] == "delivery-servers":
            for server in self.servers:
                if str(server["server_id"]) == route[1]:
                    return 200, {"status": "success", "data": {"record": _public(server)}}
            return 404, {"status": "error", "error": "The server does not exist."}
        if method == "GET" and route[:3] == ["campaigns", "delivery-logs", "email-message-id"] and len(route) == 4:
            record = self.delivery_logs.get(unquote(route[3]))
            if record is None:
                return 404, {"status": "error", "error": "The delivery log does not exist."}
            return 200, {"status": "success", "data": {"record": record}}
        if method == "POST" and len(route) == 3 and route[0] == "campaigns" and route[2] == "bounces":
            return self._bounce(route[1], form)
        if method == "PUT" and route == ["lists", "subscribers", "unsubscribe-by-email-from-all-lists"]:
            if not form.get("EMAIL"):
                return 422, {"status": "error", "error": {"EMAIL": "Please provide an email address."}}
            self.unsubscribed.append(form["EMAIL"])
            return 200, {"status": "success"}
        return 404, {"status": "error", "error": "Page not found."}

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        per_page = max(1, int(query.get("per_page", "10") or 10))
        page = max(1, int(query.get("page", "1") or 1))
        total = len(self.servers)
        pages = max(1, math.ceil(total / per_page))
        records = [_public(s) for s in self.servers[(page - 1) * per_page: page * per_page]]
        return {"status": "success", "data": {"count": str(total), "total_pages": pages, "current_page": page,
                                              "next_page": page + 1 if page < pages else None,
                                              "prev_page": page - 1 if page > 1 else None, "records": records}}

    def _bounce(self, campaign_uid: str, form: dict[str, str]) -> tuple[int, Any]:
        subscriber = form.get("subscriber_uid", "")
        if not subscriber:
            return 422, {"status": "error", "error": {"subscriber_uid": "Subscriber UID cannot be blank."}}
        if any(b["campaign_uid"] == campaign_uid and b["subscriber_uid"] == subscriber for b in self.bounces):
            return 422, {"status": "error", "error": "This subscriber has already been marked as bounced."}
        self.bounces.append({"campaign_uid": campaign_uid, "subscriber_uid": subscriber,
                             "bounce_type": form.get("bounce_type", "internal"), "message": form.get("message", "")})
        return 201, {"status": "success"}

    # ---- server ----
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                form = dict(parse_qsl(body, keep_blank_values=True)) if body else {}
                headers = {k.lower(): v for k, v in self.headers.items()}
                code, payload = standin.answer(self.command, self.path, headers, form)
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 - http.server naming

            def log_message(self, *args: object) -> None:
                pass

        return Handler



def _public(server: dict[str, Any]) -> dict[str, Any]:
    return {k: server.get(k) for k in PUBLIC_FIELDS}
