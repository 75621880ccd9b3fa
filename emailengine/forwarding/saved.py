"""Saved webhook requests, the input of `ee forward verify` (pure parsing and formatting).

Two formats (docs/webhooks.md, "Verifying a saved request"):
- JSON: `{"method": "POST", "url": "...", "headers": {"Name": "value", ...}, "body": "<raw body>"}`
  (or `"body_base64"` for bytes that are not UTF-8);
- raw HTTP/1.1 text: the request line, header lines, an empty line, then the body bytes exactly
  as received (e.g. what `nc -l` or a proxy dump shows).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from emailengine.errors import UsageError


@dataclass(frozen=True)
class SavedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def event_ids(self) -> list[str]:
        """Return the event ids in the body, or [] when it is not the contract's JSON."""
        try:
            events = json.loads(self.body).get("events", [])
            return [str(e.get("id")) for e in events if isinstance(e, dict)]
        except (ValueError, AttributeError):
            return []


def parse_saved(data: bytes) -> SavedRequest:
    """Parse a saved request (JSON or raw HTTP); raise UsageError when it is neither."""
    if data.lstrip().startswith(b"{"):
        return _parse_json(data)
    return _parse_raw(data)


def parse_saved_request(path: Path) -> SavedRequest:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    return parse_saved(data)


def _parse_json(data: bytes) -> SavedRequest:
    try:
        doc = json.loads(data)
    except ValueError as error:
        raise UsageError(f"saved request is not valid JSON: {error}") from None
    headers = doc.get("headers") if isinstance(doc, dict) else None
    if not isinstance(headers, dict):
        raise UsageError("saved request JSON needs a \"headers\" object and a \"body\"")
    if isinstance(doc.get("body_base64"), str):
        body = base64.b64decode(doc["body_base64"])
    elif isinstance(doc.get("body"), str):
        body = doc["body"].encode()
    else:
        raise UsageError("saved request JSON needs \"body\" (string) or \"body_base64\"")
    return SavedRequest(str(doc.get("method", "POST")), str(doc.get("url", "")),
                        {str(k): str(v) for k, v in headers.items()}, body)


def _parse_raw(data: bytes) -> SavedRequest:
    separator = b"\r\n\r\n" if b"\r\n\r\n" in data else b"\n\n"
    head, found, body = data.partition(separator)
    if not found:
        raise UsageError("saved request has no empty line between headers and body")
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise UsageError("saved request does not start with a request line like `POST /path HTTP/1.1`")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise UsageError(f"malformed header line {line[:60]!r}")
        headers[name.strip()] = value.strip()
    return SavedRequest(parts[0], parts[1], headers, body)


def format_json(method: str, url: str, headers: dict[str, str], body: bytes) -> str:
    """Return the JSON saved-request form of a request."""
    doc: dict[str, object] = {"method": method, "url": url, "headers": headers}
    try:
        doc["body"] = body.decode()
    except UnicodeDecodeError:
        doc["body_base64"] = base64.b64encode(body).decode()
    return json.dumps(doc, indent=2) + "\n"


def format_raw(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """Return the raw HTTP/1.1 saved-request form of a request."""
    head = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
