"""Logging: JSON lines on stderr when not on a terminal (journald keeps them), text on a TTY.

Context fields (job, run_id, ip, domain) are carried in contextvars and added to every record
logged inside `log_context(...)`. A filter masks the values of configured secrets.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

_context: contextvars.ContextVar[dict[str, object]] = contextvars.ContextVar("ee_log_context", default={})  # noqa: B039
_secrets: list[str] = []

logger = logging.getLogger("emailengine")


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add fields (job, run_id, ip, domain, ...) to every record logged inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def register_secret(value: str | None) -> None:
    """Mask this value wherever it would appear in a log line."""
    if value and len(value) >= 4 and value not in _secrets:
        _secrets.append(value)


def _mask(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, msg, logger, context fields, extra fields."""

    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "msg": _mask(record.getMessage()),
            "logger": record.name,
        }
        payload.update(_context.get())
        for key, value in vars(record).items():
            if key not in self._standard and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = _mask(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """Readable one-liners for a terminal, context fields appended as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _context.get().items())
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        return _mask(f"{text} [{fields}]" if fields else text)


def setup_logging(log_format: str = "auto", level: str = "INFO") -> None:
    """Configure the `emailengine` logger to write to stderr in the chosen format."""
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
