"""PowerMTA accounting CSV reader (pure: bytes in, records and rejects out).

- Records are RFC 4180 CSV: quoted fields may hold commas, doubled quotes and CRLF, so a
  logical record can span physical lines. `split_records` cuts a byte buffer into logical
  records by quote parity and says how many bytes it consumed (the caller keeps the rest).
- Columns are mapped by the header line, never by position; a row whose first cell is `type`
  (re)loads the map at any point in the stream. Header columns (`header_*`) match
  case-insensitively; campaign/subscriber uid headers match by suffix (the prefix varies).
- Every malformed record (bad UTF-8, NUL or other garbage, unbalanced quotes, absurd length,
  wrong column count, no header yet, unknown type, bad time) becomes a `Reject` with a reason.
  Nothing raises on bad input (fuzzed in tests/unit/test_bounces_reader.py).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import NamedTuple

RECORD_TYPES = frozenset({"d", "b", "t", "tq", "r", "f", "rb", "rs"})
MAX_RECORD_BYTES = 256 * 1024  # longer is "absurd length": real records stay far below
MAX_EPOCH = 253_402_300_799  # 9999-12-31 23:59:59 UTC: later times cannot be stored (a reject, not a crash)
MIN_EPOCH = -62_135_596_800  # 0001-01-01 00:00:00 UTC: nor can earlier ones
MAX_RECORD_LINES = 64  # a quoted field never spans more physical lines than this

# canonical field → names accepted in the header (lower case)
_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "type": ("type",),
    "time": ("timelogged",),
    "orig": ("orig",),
    "rcpt": ("rcpt",),
    "status": ("dsnstatus",),
    "diag": ("dsndiag",),
    "mta": ("dsnmta",),
    "bounce_cat": ("bouncecat",),
    "ip": ("dlvsourceip",),
    "vmta": ("vmta",),
    "queue": ("queue",),
    "job_id": ("jobid",),
    "message_id": ("header_message-id", "header_message_id"),
    "feedback_type": ("feedbacktype",),
}
_SUFFIX_FIELDS = {"campaign_uid": "campaign-uid", "subscriber_uid": "subscriber-uid"}


class Record(NamedTuple):
    """The fields of one accounting record that `ee` uses; absent columns are empty strings."""

    type: str
    time: str
    orig: str
    rcpt: str
    status: str
    diag: str
    mta: str
    bounce_cat: str
    ip: str
    vmta: str
    queue: str
    job_id: str
    message_id: str
    feedback_type: str
    campaign_uid: str
    subscriber_uid: str


FIELDS: tuple[str, ...] = Record._fields


@dataclass(frozen=True)
class Reject:
    """A line that could not be read: why, and its raw bytes (shortened)."""

    reason: str
    raw: bytes


class Header:
    """The column map of one header line; `record(row)` picks the fields by name."""

    def __init__(self, names: list[str]) -> None:
        self.names = tuple(name.strip() for name in names)
        self.width = len(self.names)
        lower = [name.lower().lstrip("\ufeff") for name in self.names]
        positions: dict[str, int] = {}
        for field_name, accepted in _FIELD_NAMES.items():
            positions[field_name] = next((lower.index(n) for n in accepted if n in lower), -1)
        for field_name, suffix in _SUFFIX_FIELDS.items():
            positions[field_name] = next(
                (i for i, n in enumerate(lower) if n.startswith("header_") and n.endswith(suffix)), -1
            )
        self.positions = positions
        # A missing column reads index `width`: every row gets one "" appended before picking.
        self._getter = itemgetter(*(positions[name] if positions[name] >= 0 else self.width for name in FIELDS))

    def has(self, field_name: str) -> bool:
        """Return whether the header carries a column for this field."""
        return self.positions.get(field_name, -1) >= 0

    def record(self, row: list[str]) -> Record:
        """Given a row of exactly `width` cells, return its Record (row gets one "" appended)."""
        row.append("")
        return Record._make(self._getter(row))


def is_header(row: list[str]) -> bool:
    """Return whether a parsed row is a header line (first cell `type`)."""
    return bool(row) and row[0].strip().lstrip("\ufeff").lower() == "type"


def split_records(data: bytes, final: bool, max_bytes: int = MAX_RECORD_BYTES) -> tuple[list[bytes | Reject], int]:
    """Given a buffer, return (logical records and rejects in order, bytes consumed).

    A record ends at a newline outside quotes. Unless `final`, an unfinished last record is
    left unconsumed for the next call. A quoted field that never closes within
    MAX_RECORD_LINES lines or `max_bytes` rejects its first line and reading resumes after it.
    """
    lines = data.split(b"\n")
    tail = lines.pop()
    items: list[bytes | Reject] = []
    if final and tail:
        lines.append(tail)
        tail = b""
    count = len(lines)
    index = 0
    consumed = 0
    while index < count:
        line = lines[index]
        if len(line) > max_bytes:
            items.append(Reject("absurd length", line[:512]))
        elif not line.count(b'"') & 1:
            if line:
                items.append(line)
        else:
            end, size, parity = index, len(line), 1
            while parity and end + 1 < count and end - index < MAX_RECORD_LINES and size <= max_bytes:
                end += 1
                size += len(lines[end]) + 1
                parity ^= lines[end].count(b'"') & 1
            if parity == 0 and size <= max_bytes:
                items.append(b"\n".join(lines[index:end + 1]))
                consumed += sum(len(part) + 1 for part in lines[index:end + 1])
                index = end + 1
                continue
            if end + 1 >= count and not final and end - index < MAX_RECORD_LINES and size <= max_bytes:
                break  # the closing quote may still arrive
            items.append(Reject("unbalanced quotes", line[:512]))
        consumed += len(line) + 1
        index += 1
    if final:
        consumed = min(consumed, len(data))
    elif index >= count and not lines and len(tail) > max_bytes:
        items.append(Reject("absurd length", tail[:512]))
        consumed = len(data)
    return items, consumed


def decode_records(items: list[bytes | Reject]) -> list[str | Reject]:
    """Decode logical records as UTF-8 (line endings stripped); bad bytes become Rejects."""
    out: list[str | Reject] = []
    for item in items:
        if isinstance(item, Reject):
            out.append(item)
            continue
        raw = item[:-1] if item.endswith(b"\r") else item
        if b"\x00" in raw:
            out.append(Reject("garbage bytes (NUL)", item[:512]))
            continue
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(Reject("bad encoding (not UTF-8)", item[:512]))
    return out


def parse_rows(texts: list[str]) -> list[list[str] | Reject]:
    """Parse decoded records as CSV (one row each); a malformed one becomes a Reject."""
    plain = [text for text in texts if not isinstance(text, Reject)]
    if len(plain) == len(texts):
        try:
            rows = list(csv.reader(plain, strict=True))
            if len(rows) == len(plain):
                return rows  # type: ignore[return-value]
        except csv.Error:
            pass
    out: list[list[str] | Reject] = []
    for text in texts:
        if isinstance(text, Reject):
            out.append(text)
            continue
        try:
            rows = list(csv.reader([text], strict=True))
        except csv.Error as error:
            out.append(Reject(f"bad CSV: {error}", text.encode("utf-8", "replace")[:512]))
            continue
        if len(rows) != 1:
            out.append(Reject("bad CSV: record does not end", text.encode("utf-8", "replace")[:512]))
            continue
        out.append(rows[0])
    return out


def row_bytes(row: list[str]) -> bytes:
    """Return a row re-encoded as CSV (for the reject file)."""
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    return buffer.getvalue().encode("utf-8", "replace")[:512]


ISO_TIME_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
MDY_TIME_RE = r"^[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
_ISO_TIME = re.compile(ISO_TIME_RE)
_MDY_TIME = re.compile(MDY_TIME_RE)


def parse_time(text: str) -> int | None:
    """Return Unix seconds for a PowerMTA time, None when unreadable.

    Accepts Unix seconds, `YYYY-MM-DD HH:MM:SS±HHMM` (iso-times), ISO 8601 with T/Z, and
    `MM/DD/YYYY HH:MM:SS±HHMM`. A time without a zone is taken as UTC.
    """
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text) if len(text) <= 12 and int(text) <= MAX_EPOCH else None
    if not (_ISO_TIME.match(text) or _MDY_TIME.match(text)):
        return None  # the same forms the PostgreSQL fast path accepts (ingest.TIME_SQL)
    if text[2:3] == "/" and text[5:6] == "/":
        text = f"{text[6:10]}-{text[0:2]}-{text[3:5]}{text[10:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        epoch = int(moment.timestamp())
    except (OverflowError, ValueError, OSError):
        return None
    return epoch if MIN_EPOCH <= epoch <= MAX_EPOCH else None  # storable as a UTC datetime


def status_code(status: str) -> str:
    """Return the enhanced code at the start of dsnStatus (`5.1.1 (bad ...)` → `5.1.1`)."""
    return status.split(" ", 1)[0].strip()


def fingerprint_key(record: Record, epoch: int) -> str:
    """Return the text whose MD5 is the fingerprint (ingest.KEY_SQL builds the same text in SQL)."""
    key = "\x1f".join((record.type, str(epoch), record.orig, record.rcpt, record.status, record.diag))
    if record.type == "tq":
        return "\x1f".join((key, record.queue, record.vmta, record.ip))
    if record.type == "f":
        return "\x1f".join((key, record.feedback_type, record.message_id, record.campaign_uid,
                            record.subscriber_uid))
    return key


def md5_fingerprint(key: str) -> int:
    """Return the SQLite fingerprint of a key: the first 8 bytes of its MD5 as a signed integer."""
    digest = hashlib.md5(key.encode("utf-8", "surrogatepass"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def fingerprint(record: Record, epoch: int) -> int:
    """Return the record's SQLite fingerprint (md5_fingerprint of fingerprint_key).

    Built from fields every sensible `record-fields` list carries for the type, so the pipe and
    the parallel accounting file agree: type, time (as Unix seconds, so either time format),
    orig, rcpt, dsnStatus, dsnDiag; tq adds queue, vmta and source IP (it has no recipient);
    f adds what identifies a redacted complaint (feedback type, Message-Id, uids).
    """
    return md5_fingerprint(fingerprint_key(record, epoch))
