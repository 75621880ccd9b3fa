"""Batches: turn parsed rows into one batch of effects (pure), and write a batch in one transaction.

`BatchBuilder` (no I/O) reads rows under a header, classifies them, fingerprints them and keeps,
per batch: the fingerprints, pre-aggregated counters (delivery_stats, bounce_counts) and the few
records that need rows of their own (bounces, suppressions, outbox). Deliveries never become rows.

Delivery records scanned by the compiled module (_accel.c) stay arrays (`Deliveries`) until the
store knows which are new; only then are they counted into the batch's counters.

`Store.plan(batch, mask)` (pure) computes what a transaction writes for the records a mask marks
new: a `Plan` of rows, on PostgreSQL as COPY text. The pipe's parser may plan a batch ahead
(every record taken for new) while the writer's transaction runs.

`Store.write()` does one transaction per batch:
1. fingerprints (fingerprints.py): the blocks of the batch's minutes are read under a lock, the
   records never seen before are marked, the merged blocks written back; only new records count
   (the plan made ahead is used when it took the same records for new, else it is made again);
2. delivery_stats and bounce_counts upserted additively (INSERT ... ON CONFLICT DO UPDATE);
3. bounces rows; suppressions for hard bounces and complaints; outbox rows (one per destination)
   for every hard bounce and complaint; soft-bounce suppressions after EE_SOFT_BOUNCE_LIMIT in
   EE_SOFT_BOUNCE_WINDOW_DAYS, with their outbox rows;
4. the spool position and the pipe's counters (when given).

SQL text here is built only from constant table/column names and integer column positions taken
from the header (never from data); values are bound parameters or COPY data (hence the S608 noqa).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from emailengine.bounces import fingerprints
from emailengine.bounces.classify import CachedClassifier, Verdict
from emailengine.bounces.reader import (
    Header,
    Record,
    Reject,
    fingerprint_key,
    is_header,
    md5_fingerprint,
    parse_time,
    row_bytes,
)
from emailengine.db.direct import DirectPostgres
from emailengine.providers import lane_for

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# delivery_stats counter columns, in table order
STAT_COLUMNS = ("delivered", "deferred", "rep_deferred", "hard", "soft", "block", "complaints")
_D, _DEF, _REP, _HARD, _SOFT, _BLOCK, _COMPL = range(7)
BOUNCE_TYPES = frozenset({"b", "rb"})
IP_CHARS, VMTA_CHARS = 45, 64  # source_ip and vmta column sizes (values are cut to fit)
BATCH_HELD_BYTES = 16 << 20  # a batch is handed over once its records hold about this much memory
FINGERPRINT_LOCK = 0x65655F6670  # pg_advisory_xact_lock key of the fingerprint blocks ("ee_fp")


@dataclass(slots=True)
class Detail:
    """A record that needs rows of its own (bounce, complaint).

    `prepare()` computes what its rows need when the record is read (in the pipe's parser
    thread), so the writer's transaction only filters and sends.
    """

    fp: int  # the record's fingerprint
    record: Record
    epoch: int
    verdict: Verdict
    lane: str
    ip: str
    email: str = ""  # rcpt, trimmed and lower-cased
    time: str = ""  # epoch as a timestamptz literal (COPY text)
    line: str = ""  # the bounces row but created_at, as text: values joined by NUL (see copy_lines)
    event: str = ""  # "complaint", "hard_bounce" or "" (no event when it is read)
    event_id: str = ""  # with an event: its stable id (see event_id())
    payload: str = ""  # with an event: its JSON

    def prepare(self) -> Detail:
        """Fill email, time, line, event, event_id and payload from the record; return self."""
        r = self.record
        verdict = self.verdict
        self.email = email = r.rcpt.strip().lower()
        self.time = time = _sql_time(self.epoch)
        # NUL joins the values: the reader rejects it in input, copy_lines() turns it into tabs
        self.line = (f"{self.fp}\x00{time}\x00{r.type}\x00{verdict.bounce_class}\x00{verdict.reason}"
                     f"\x00{email[:320]}\x00{self.ip[:IP_CHARS]}\x00{r.vmta[:VMTA_CHARS]}\x00{self.lane}"
                     f"\x00{r.status[:255]}\x00{r.diag}\x00{r.bounce_cat[:64]}\x00{r.message_id[:998]}"
                     f"\x00{r.campaign_uid[:64]}\x00{r.subscriber_uid[:64]}")
        self.event = "complaint" if r.type == "f" else "hard_bounce" if verdict.bounce_class == "hard" else ""
        if self.event:
            self.event_id = event_id(self)
            self.payload = event_json(self, self.event)
        return self

    def row(self) -> tuple:
        """Return the bounces row but occurred_at and created_at (added by the store), as values."""
        r = self.record
        return (self.fp, r.type, self.verdict.bounce_class, self.verdict.reason, self.email[:320], self.ip[:IP_CHARS],
                r.vmta[:VMTA_CHARS], self.lane, r.status[:255], r.diag, r.bounce_cat[:64], r.message_id[:998],
                r.campaign_uid[:64], r.subscriber_uid[:64])


@dataclass
class Deliveries:
    """Delivery (d) records as the compiled scanner returns them: counted once the store marks them new.

    `fps` and `ts` are native int64 arrays, `group_of` an int32 array of indexes into `keys`,
    which holds per group the (delivery_stats key, bounce_counts key) its records increment.
    """

    fps: bytes
    ts: bytes
    group_of: bytes
    keys: list[tuple[tuple, tuple]]
    order: bytes  # native int64: each record's place in the input (see Batch.order)

    def __len__(self) -> int:
        return len(self.fps) // 8


@dataclass
class Batch:
    """What one transaction writes. Keys of `fps` are fingerprints (unique in the batch)."""

    fps: dict[int, int] = field(default_factory=dict)  # fingerprint -> record time (Unix seconds)
    # fingerprint -> the record's place in the input: of records with one fingerprint the first counts,
    # whichever reader took it (deliveries carry theirs in Deliveries.order)
    order: dict[int, int] = field(default_factory=dict)
    next_order: int = 0  # the place the next record read on the Python path gets
    entries: list[tuple[int, tuple, tuple]] = field(default_factory=list)
    stats: dict[tuple, int] = field(default_factory=dict)  # (day, ip, lane, vmta, column) -> n
    counts: dict[tuple, int] = field(default_factory=dict)  # (hour epoch, type, class, reason, ip, lane) -> n
    details: list[Detail] = field(default_factory=list)
    deliveries: list[Deliveries] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    records: int = 0
    duplicates_in_batch: int = 0
    held: int = 0  # estimated bytes the batch holds (records other than deliveries): see full()
    plan: Plan | None = None  # Store.plan() made ahead (every record new), used when the claim agrees
    last_epoch: int | None = None

    def __len__(self) -> int:
        return self.records

    def full(self, size: int) -> bool:
        """Return True once the batch holds `size` records (read, duplicate or rejected) or BATCH_HELD_BYTES.

        Deliveries are a few bytes each; other records hold their text and a few objects until
        the batch is written, so a batch of long bounces is cut early: memory stays bounded
        whatever the input.
        """
        return self.records + self.duplicates_in_batch + len(self.rejects) >= size or self.held >= BATCH_HELD_BYTES

    def fingerprint_arrays(self) -> tuple[bytes, bytes, bytes]:
        """Return (times, fingerprints, places) of every record: the deliveries' first, then `fps` in order."""
        times = [d.ts for d in self.deliveries]
        prints = [d.fps for d in self.deliveries]
        places = [d.order for d in self.deliveries]
        if self.fps:
            times.append(fingerprints.int64s(list(self.fps.values())))
            prints.append(fingerprints.int64s(list(self.fps)))
            places.append(fingerprints.int64s([self.order[fp] for fp in self.fps]))
        return b"".join(times), b"".join(prints), b"".join(places)


def stat_column(record_type: str, verdict: Verdict) -> int:
    """Return the delivery_stats column index a record increments, or -1 for none."""
    if record_type == "d":
        return _D
    if record_type in ("t", "tq"):
        return _REP if verdict.reputation else _DEF
    if record_type in BOUNCE_TYPES:
        return {"hard": _HARD, "soft": _SOFT, "block": _BLOCK}.get(verdict.bounce_class, -1)
    if record_type == "f":
        return _COMPL
    return -1


class BatchBuilder:
    """Build batches from rows; holds the current header and per-stream caches (pure)."""

    def __init__(self, classifier: CachedClassifier | None = None) -> None:
        self.header: Header | None = None
        self.classify = classifier or CachedClassifier()
        self._times: dict[str, int | None] = {}
        self._lanes: dict[tuple[str, str], str] = {}

    def add(self, batch: Batch, rows: list[list[str] | Reject]) -> None:
        """Add parsed rows (header rows switch the column map) to the batch."""
        header = self.header
        for row in rows:
            if row.__class__ is not list:
                batch.rejects.append(row)  # type: ignore[arg-type]
                continue
            first = row[0] if row else ""
            if first not in _TYPES:
                if is_header(row):  # type: ignore[arg-type]
                    header = self.header = Header(row)  # type: ignore[arg-type]
                elif row != [""] and row:
                    batch.rejects.append(Reject(f"unknown record type {first[:10]!r}", row_bytes(row)))
                continue
            if header is None:
                batch.rejects.append(Reject("record before any header line", row_bytes(row)))
                continue
            if len(row) != header.width:
                batch.rejects.append(Reject(f"wrong column count ({len(row)}, header has {header.width})",
                                            row_bytes(row)))
                continue
            record = header.record(row)
            if self._add_record(batch, record):
                row.pop()
                batch.rejects.append(Reject(f"unreadable timeLogged {record.time[:40]!r}", row_bytes(row)))

    def evaluate(self, record: Record) -> tuple[int | None, Verdict, str]:
        """Return (Unix time, verdict, lane) of a record."""
        epoch = self._time(record.time)
        verdict = self.classify(record.type, record.status, record.diag, record.bounce_cat, record.rcpt)
        return epoch, verdict, self._lane(record)

    def _time(self, text: str) -> int | None:
        epoch = self._times.get(text, -1)
        if epoch == -1:
            epoch = parse_time(text)
            if len(self._times) > 100_000:
                self._times.clear()
            self._times[text] = epoch
        return epoch  # type: ignore[return-value]

    def _lane(self, record: Record) -> str:
        domain = record.rcpt.rpartition("@")[2] if record.rcpt else record.queue.partition("/")[0]
        key = (domain, record.mta)
        lane = self._lanes.get(key)
        if lane is None:
            lane = lane_for(domain, record.mta)
            if len(self._lanes) > 100_000:
                self._lanes.clear()
            self._lanes[key] = lane
        return lane

    def _add_record(self, batch: Batch, record: Record) -> bool:
        """Add one record; return True when its time is unreadable (a reject)."""
        epoch = self._times.get(record[1], -1)
        if epoch == -1:
            epoch = self._time(record[1])
        if epoch is None:
            return True
        self.add_scanned(batch, record, epoch, md5_fingerprint(fingerprint_key(record, epoch)))
        return False

    def add_scanned(self, batch: Batch, record: Record, epoch: int, fp: int, order: int | None = None) -> None:
        """Add one record whose time and fingerprint are known (once per batch), at its place in the input."""
        if order is None:
            order = batch.next_order
            batch.next_order += 1
        self.add_scanned_all(batch, ((fp, epoch, record, order),))

    def add_scanned_all(self, batch: Batch, items: Iterable[tuple[int, int, tuple, int]]) -> None:
        """Add records whose time and fingerprint are known: (fingerprint, epoch, fields, place in the input),
        fields in reader.Record order (a Record, or the compiled scanner's plain tuple).

        One loop for every record other than the scanned deliveries, so names are looked up once
        (it runs for ~100,000 records per million). A record whose fingerprint is already in the
        batch is a duplicate; the others are counted into the counters and details.
        """
        fps, places, stats, counts, entries, details = (batch.fps, batch.order, batch.stats, batch.counts,
                                                       batch.entries, batch.details)
        classify, lanes, make, record_class = self.classify, self._lanes, Record._make, Record
        records, last = batch.records, batch.last_epoch
        for fp, epoch, record, order in items:
            if fp in fps:
                batch.duplicates_in_batch += 1
                continue
            fps[fp] = epoch
            places[fp] = order
            records += 1
            if last is None or epoch > last:
                last = epoch
            record_type, rcpt = record[0], record[3]
            verdict = classify(record_type, record[4], record[5], record[7], rcpt)
            lane = lanes.get((rcpt.rpartition("@")[2], record[6])) if rcpt else None
            if lane is None:
                lane = self._lane(record if record.__class__ is record_class else make(record))
            # f: dlvSourceIp is the reporter's MTA, not ours; rb has no source IP of ours either
            if record_type == "d":
                ip, column, vmta = record[8], _D, record[9]
            else:
                ip = record[8] if record_type != "f" and record_type != "rb" else ""
                column, vmta = stat_column(record_type, verdict), record[9] if record_type != "f" else ""
            day = epoch // 86400
            stat_key = (day, ip, lane, vmta, column)
            count_key = (epoch - epoch % 3600, record_type, verdict.bounce_class, verdict.reason, ip, lane)
            if column >= 0:
                stats[stat_key] = stats.get(stat_key, 0) + 1
                if column == _REP:  # a reputation deferral is a deferral too
                    extra = (day, ip, lane, vmta, _DEF)
                    stats[extra] = stats.get(extra, 0) + 1
            counts[count_key] = counts.get(count_key, 0) + 1
            entries.append((fp, stat_key, count_key))
            if record_type in _DETAIL_TYPES:
                details.append(Detail(fp, record if record.__class__ is record_class else make(record), epoch, verdict,
                                      lane, ip).prepare())
        batch.records, batch.last_epoch = records, last

    def delivery_keys(self, hour: int, ip: str, domain: str, mta: str, vmta: str) -> tuple[tuple, tuple]:
        """Return the (delivery_stats, bounce_counts) keys a delivery of this group increments."""
        key = (domain, mta)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = lane_for(domain, mta)
        return (hour // 86400, ip, lane, vmta, _D), (hour, "d", "delivered", "delivered", ip, lane)


_DETAIL_TYPES = frozenset({"b", "rb", "f"})
_TYPES = frozenset({"d", "b", "t", "tq", "r", "f", "rb", "rs"})


def recount(batch: Batch, new: set) -> tuple[dict, dict]:
    """Return (stats, counts) for only the records whose fingerprint is new."""
    stats: Counter = Counter()
    counts: Counter = Counter()
    for fp, stat_key, count_key in batch.entries:
        if fp not in new:
            continue
        column = stat_key[4]
        if column >= 0:
            stats[stat_key] += 1
            if column == _REP:
                stats[(*stat_key[:4], _DEF)] += 1
        counts[count_key] += 1
    return stats, counts


def settle(batch: Batch, mask: bytes) -> int:
    """Keep only the records `mask` marks new (order of Batch.fingerprint_arrays); return how many.

    Deliveries are counted here, per group; the other records were counted when added and are
    recounted only when some of them turned out to be stored already.
    """
    offset = 0
    totals: list[tuple[tuple, tuple, int]] = []
    for part in batch.deliveries:
        size = len(part)
        counts = fingerprints.count_groups(part.group_of, mask[offset:offset + size], len(part.keys))
        totals += [(stat_key, count_key, n) for (stat_key, count_key), n in zip(part.keys, counts, strict=True) if n]
        offset += size
    rest = mask[offset:]
    if rest.count(0):
        new = {fp for fp, flag in zip(batch.fps, rest, strict=True) if flag}
        batch.stats, batch.counts = recount(batch, new)
        batch.details = [d for d in batch.details if d.fp in new]
    stats, counts = batch.stats, batch.counts
    for stat_key, count_key, n in totals:
        stats[stat_key] = stats.get(stat_key, 0) + n
        counts[count_key] = counts.get(count_key, 0) + n
    return mask.count(1)


def event_id(detail: Detail) -> str:
    """Return the stable event id of a record: its time and fingerprint (`<unix>-<16 hex>`)."""
    return f"{detail.epoch}-{detail.fp & 0xFFFFFFFFFFFFFFFF:016x}"


def event_payload(detail: Detail, event_type: str) -> dict[str, Any]:
    """Return the forwarding event JSON for a record (issue 8's contract)."""
    record = detail.record
    return {
        "id": event_id(detail),
        "type": event_type,
        "email": record.rcpt.strip().lower(),
        "reason": detail.verdict.reason,
        "status": record.status,
        "diag": record.diag,
        "occurred_at": iso_time(detail.epoch),
        "source_ip": detail.ip,
        "vmta": record.vmta,
        "campaign_uid": record.campaign_uid,
        "subscriber_uid": record.subscriber_uid,
        "message_id": record.message_id,
    }


_quote = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) uses for a str


def event_json(detail: Detail, event_type: str) -> str:
    """Return json.dumps(event_payload(detail, event_type), ensure_ascii=False), the same text, built
    without the dict: it is made for every hard bounce and complaint read."""
    r = detail.record
    return (f'{{"id": "{detail.event_id or event_id(detail)}", "type": "{event_type}", "email": {_quote(detail.email)}, '
            f'"reason": {_quote(detail.verdict.reason)}, "status": {_quote(r.status)}, "diag": {_quote(r.diag)}, '
            f'"occurred_at": "{iso_time(detail.epoch)}", "source_ip": {_quote(detail.ip)}, '
            f'"vmta": {_quote(r.vmta)}, "campaign_uid": {_quote(r.campaign_uid)}, '
            f'"subscriber_uid": {_quote(r.subscriber_uid)}, "message_id": {_quote(r.message_id)}}}')


def iso_time(epoch: int) -> str:
    """Return the UTC time of Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`."""
    hour, second = divmod(epoch, 3600)
    return f"{_ISO_HOURS.get(hour) or _hour_text(_ISO_HOURS, hour, 'T')}{_MINUTES[second]}Z"


def _sql_time(epoch: int) -> str:
    """Return the UTC time of Unix seconds as a timestamptz literal for COPY text."""
    hour, second = divmod(epoch, 3600)
    return f"{_SQL_HOURS.get(hour) or _hour_text(_SQL_HOURS, hour, ' ')}{_MINUTES[second]}+00"


# Times are formatted for every bounce and event: from cached hour prefixes ('YYYY-MM-DD HH:', records
# come in time order) and a table of 'MM:SS' rather than datetime objects.
_ISO_HOURS: dict[int, str] = {}
_SQL_HOURS: dict[int, str] = {}
_MINUTES = tuple(f"{second // 60:02d}:{second % 60:02d}" for second in range(3600))


def _hour_text(cache: dict[int, str], hour: int, separator: str) -> str:
    """Return (and cache) 'YYYY-MM-DD<separator>HH:' of an hour since the epoch."""
    if len(cache) > 10_000:
        cache.clear()
    text = cache[hour] = f"{_day_text(hour // 24)}{separator}{hour % 24:02d}:"
    return text


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: list[tuple[str, ...]]) -> str:
    """Return rows of strings in PostgreSQL's COPY text format (backslash, tab, newline, CR escaped).

    Built by hand: psycopg's write_row adapts value by value, several times slower. Values rarely
    need escaping, so the rows are joined first and checked as one text; NUL, the temporary
    separator, never reaches here (the reader rejects it).
    """
    if not rows:
        return ""
    text = "\n".join(["\x00".join(row) for row in rows])
    if _copy_plain(text, len(rows)):
        return text.replace("\x00", "\t") + "\n"
    lines = []
    for row in rows:
        line = "\x00".join(row)
        if _COPY_SPECIAL.search(line):
            line = "\x00".join([value.translate(_COPY_ESCAPES) for value in row])
        lines.append(line)
    lines.append("")
    return "\n".join(lines).replace("\x00", "\t")




def _copy_plain(text: str, rows: int) -> bool:
    """Return whether rows joined by newlines need no COPY escapes (`in` is a memchr, far faster than a regex)."""
    return "\\" not in text and "\t" not in text and "\r" not in text and text.count("\n") == rows - 1


def copy_lines(lines: list[str]) -> str:
    """Return COPY text of rows given as their values joined by NUL (see Detail.line), escaped as copy_text."""
    if not lines:
        return ""
    text = "\n".join(lines)
    if _copy_plain(text, len(lines)):
        return text.replace("\x00", "\t") + "\n"
    return copy_text([tuple(line.split("\x00")) for line in lines])


# The additive upserts: (table, columns, PostgreSQL types, ON CONFLICT clause). On PostgreSQL their
# rows are staged as text in one temporary table (one COPY for all three) and cast when inserted.
UPSERTS = {
    "stats": ("delivery_stats", ("day", "source_ip", "provider", "vmta", *STAT_COLUMNS),
              ("date", "text", "text", "text", *["bigint"] * 7),
              "ON CONFLICT (day, source_ip, provider, vmta) DO UPDATE SET "
              + ", ".join(f"{c} = delivery_stats.{c} + excluded.{c}" for c in STAT_COLUMNS)),
    "counts": ("bounce_counts", ("hour", "record_type", "bounce_class", "reason", "source_ip", "provider", "count"),
               ("timestamptz", "text", "text", "text", "text", "text", "bigint"),
               "ON CONFLICT (hour, record_type, bounce_class, reason, source_ip, provider) "
               "DO UPDATE SET count = bounce_counts.count + excluded.count"),
    "suppressions": ("suppressions", ("email", "cause", "reason", "source_ip", "first_at", "last_at"),
                     ("text", "text", "text", "text", "timestamptz", "timestamptz"),
                     "ON CONFLICT (email) DO UPDATE SET last_at = CASE WHEN excluded.last_at > "
                     "suppressions.last_at THEN excluded.last_at ELSE suppressions.last_at END"),
}
STAGE_WIDTH = max(len(columns) for _, columns, _, _ in UPSERTS.values())
STAGE_TABLE = (f"CREATE TEMP TABLE IF NOT EXISTS ee_stage_in (kind text, "
               f"{', '.join(f'c{i} text' for i in range(1, STAGE_WIDTH + 1))}) ON COMMIT DELETE ROWS")


def staged(kind: str, rows: list[tuple[str, ...]]) -> str:
    """Return rows of one of UPSERTS as COPY text for ee_stage_in: the kind first, NULL in unused columns."""
    if not rows:
        return ""
    width = len(UPSERTS[kind][1])
    pad = "\t\\N" * (STAGE_WIDTH - width)  # added after escaping: \N is COPY's NULL
    text = copy_text([(kind, *row) for row in rows])
    return text.replace("\n", f"{pad}\n") if pad else text


@dataclass
class Plan:
    """What one transaction writes: a batch settled against the mask of its new records (Store.plan)."""

    mask: bytes  # the claim's mask this plan was made for (all ones: planned ahead, every record new)
    duplicates: int
    new: int
    suppressed: int  # hard bounces and complaints suppressed (addresses)
    events: int  # hard bounces and complaints enqueued for forwarding
    soft: dict[str, Detail]  # soft-bounced address -> its latest record (the soft rule runs in the transaction)
    stats: list[tuple] = field(default_factory=list)
    counts: list[tuple] = field(default_factory=list)
    bounces: list[tuple] = field(default_factory=list)  # without created_at (the transaction's time)
    suppressions: list[tuple] = field(default_factory=list)
    outbox: list[tuple] = field(default_factory=list)  # without created_at and next_attempt_at
    texts: dict[str, bytes] = field(default_factory=dict)  # PostgreSQL: those rows as COPY text (UTF-8) instead


def plan_suppressions(details: list[Detail]) -> tuple[list[tuple], list[tuple[Detail, str]], dict[str, Detail]]:
    """Return (suppression rows, events, soft) of new records: one row per address of hard bounces and
    complaints (email, cause, reason, ip, first epoch, last epoch; a complaint's cause wins), their
    events, and each soft-bounced address's latest record."""
    suppressions: dict[str, tuple] = {}
    events: list[tuple[Detail, str]] = []
    soft: dict[str, Detail] = {}
    for d in details:
        email = d.email
        if not d.event:
            if d.verdict.bounce_class == "soft" and email and (email not in soft or d.epoch > soft[email].epoch):
                soft[email] = d
            continue
        events.append((d, d.event))
        if not email:
            continue
        cause = "complaint" if d.event == "complaint" else "hard"
        first = suppressions.get(email)
        low, high = (min(first[4], d.epoch), max(first[5], d.epoch)) if first else (d.epoch, d.epoch)
        keep = first if first and first[1] == "complaint" else None
        cause, reason = (keep[1], keep[2]) if keep else (cause, d.verdict.reason)
        suppressions[email] = (email[:320], cause, reason, d.ip[:IP_CHARS], low, high)
    return list(suppressions.values()), events, soft


@dataclass
class WriteResult:
    """What one committed batch did."""

    new: int
    duplicates: int
    suppressed: int
    events: int


class Store:
    """Writes batches; one transaction each. Dialects: PostgreSQL (COPY) and SQLite.

    `engine` is an SQLAlchemy Engine, or for the pipe on PostgreSQL a DirectPostgres (psycopg alone).
    """

    def __init__(self, engine: Engine | DirectPostgres, destinations: list[str], soft_limit: int,
                 soft_window_days: int) -> None:
        self.engine = engine
        self.direct = isinstance(engine, DirectPostgres)
        self.postgres = self.direct or engine.dialect.name == "postgresql"  # type: ignore[union-attr]
        self.destinations = destinations
        self.soft_limit = soft_limit
        self.soft_window = timedelta(days=soft_window_days)

    # ---- public ----

    def write(self, batch: Batch, now: datetime, host: str = "", segment: str | None = None,
              offset: int | None = None, status: bool = False) -> WriteResult:
        """Write one batch (and the spool position / pipe counters when given) in one transaction."""
        with self._transaction() as cursor:
            result = self._write(cursor, batch, now)
            position = (segment, offset) if segment is not None and offset is not None else None
            if position and status and self.postgres:  # one statement, one round trip
                self._position_and_status(cursor, position, host, batch, result.duplicates, now)
            else:
                if position:
                    self._position(cursor, *position, host, now)
                if status:
                    self._status(cursor, host, batch, result.duplicates, now)
        return result

    def committed_offset(self, segment: str) -> int:
        """Return the spool position committed for a segment (0: none)."""
        with self._transaction() as cursor:
            cursor.execute(f'SELECT "offset" FROM bounce_pipe_positions WHERE segment = {self._mark()}', (segment,))  # noqa: S608
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def forget_segment(self, segment: str) -> None:
        """Delete the position of a segment that is fully committed (its file is deleted next)."""
        with self._transaction() as cursor:
            cursor.execute(f"DELETE FROM bounce_pipe_positions WHERE segment = {self._mark()}", (segment,))  # noqa: S608

    def prune_fingerprints(self, keep_days: int, now: float) -> int:
        """Delete the fingerprint blocks of minutes older than keep_days (a primary-key range delete).

        Return how many fingerprints (records) were forgotten.
        """
        oldest = (int(now) - keep_days * 86400) // 60
        with self._transaction() as cursor:
            cursor.execute(f"SELECT coalesce(sum(length(fps)), 0) FROM bounce_fingerprint_blocks "  # noqa: S608
                           f"WHERE bucket < {self._mark()}", (oldest,))
            size = cursor.fetchone()[0]
            cursor.execute(f"DELETE FROM bounce_fingerprint_blocks WHERE bucket < {self._mark()}", (oldest,))  # noqa: S608
        return int(size or 0) // 8

    def dispose(self) -> None:
        """Drop the database connections (after a database error: the next write reconnects)."""
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """Yield a DB-API cursor in a transaction, committed when the block ends."""
        if self.direct:
            with self.engine.transaction() as cursor:  # type: ignore[union-attr]
                yield cursor
            return
        with self.engine.begin() as connection:  # type: ignore[union-attr]
            cursor = connection.connection.driver_connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    # ---- plans (pure) ----

    def plan(self, batch: Batch, mask: bytes | None = None) -> Plan:
        """Return what writing the batch does when `mask` marks its new records (None: all are new).

        Pure, so the pipe's parser thread plans each batch while the writer's transaction runs:
        the transaction then only claims the fingerprints and, when every record is new (the
        common case), sends the planned rows. The batch itself is left as read.
        """
        if mask is None:
            mask = b"\x01" * (sum(len(part) for part in batch.deliveries) + len(batch.fps))
        settled = replace(batch, stats=dict(batch.stats), counts=dict(batch.counts), details=list(batch.details))
        new = settle(settled, mask)
        suppressions, events, soft = plan_suppressions(settled.details)
        plan = Plan(mask=mask, duplicates=len(mask) - new + batch.duplicates_in_batch,
                    new=sum(settled.counts.values()), suppressed=len(suppressions), events=len(events), soft=soft,
                    stats=self._stats_rows(settled.stats), counts=self._counts_rows(settled.counts))
        if self.postgres:  # COPY text now, in the planning thread (every value a string)
            ts = _sql_time
            outbox = []
            for d, kind in events:
                tail = f"\x00{kind}\x00{d.email[:320]}\x00{d.payload}\x00{d.time}\x00pending\x000"
                outbox += [f"{d.event_id}\x00{destination}{tail}" for destination in self.destinations]
            plan.texts = {
                "stage": (staged("stats", [tuple(map(str, row)) for row in plan.stats])
                          + staged("counts", [(*row[:-1], str(row[-1])) for row in plan.counts])
                          + staged("suppressions", [(*row[:4], ts(row[4]), ts(row[5])) for row in suppressions])
                          ).encode(),
                "bounces": copy_lines([d.line for d in settled.details]).encode(),
                "outbox": copy_lines(outbox).encode()}
            plan.stats = plan.counts = []
            return plan
        ts = self._ts
        plan.bounces = [(d.fp, ts(d.epoch), *d.row()[1:]) for d in settled.details]
        plan.suppressions = [(*row[:4], ts(row[4]), ts(row[5])) for row in suppressions]
        plan.outbox = [(d.event_id, destination, kind, d.email[:320], d.payload, ts(d.epoch), "pending", 0)
                       for d, kind in events for destination in self.destinations]
        return plan

    def _stats_rows(self, stats: dict[tuple, int]) -> list[tuple]:
        merged: dict[tuple, list[int]] = {}
        for (day, ip, lane, vmta, column), n in stats.items():
            if column < 0:
                continue
            # cut to the column sizes: one over-long field must not make the batch fail forever
            merged.setdefault((day, ip[:IP_CHARS], lane, vmta[:VMTA_CHARS]), [0] * 7)[column] += n
        return sorted((_day_text(day), ip, lane, vmta, *values) for (day, ip, lane, vmta), values in merged.items())

    def _counts_rows(self, counts: dict[tuple, int]) -> list[tuple]:
        totals: dict[tuple, int] = {}
        for (hour, record_type, bounce_class, reason, ip, lane), n in counts.items():
            key = (hour, record_type, bounce_class, reason, ip[:IP_CHARS], lane)
            totals[key] = totals.get(key, 0) + n
        ts = _sql_time if self.postgres else self._ts
        return sorted((ts(hour), *rest, n) for (hour, *rest), n in totals.items())

    # ---- steps ----

    def _write(self, cursor: Any, batch: Batch, now: datetime) -> WriteResult:
        times, prints, places = batch.fingerprint_arrays()
        mask = self._claim(cursor, times, prints, places)
        plan = batch.plan
        if plan is None or plan.mask != mask:  # not planned, or some records were stored before
            plan = self.plan(batch, mask)
        return self._apply(cursor, plan, now)


    # PostgreSQL: one INSERT ... SELECT per target from the staging table, sent as one query (no parameters).
    # No ORDER BY against deadlocks: every transaction writing these tables takes the fingerprint lock
    # first (_claim), so they never run at once (sorting the rows cost 2% of the database's time).
    _UPSERT_STAGED = "; ".join(
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - constant names
        f"SELECT {', '.join(f'c{i}::{kind}' for i, kind in enumerate(types, 1))} FROM ee_stage_in "
        f"WHERE kind = '{name}' {conflict}"
        for name, (table, columns, types, conflict) in UPSERTS.items())

    def _apply(self, cursor: Any, plan: Plan, now: datetime) -> WriteResult:
        """Write a plan's counters and rows."""
        texts = plan.texts
        if texts.get("stage"):  # PostgreSQL: one COPY for the three upserts, then one query
            with cursor.copy(f"COPY ee_stage_in (kind, {', '.join(f'c{i}' for i in range(1, STAGE_WIDTH + 1))}) "
                             "FROM STDIN") as copy:
                copy.write(texts["stage"])
            cursor.execute(self._UPSERT_STAGED)
        elif not self.postgres:
            for kind, rows in (("stats", plan.stats), ("counts", plan.counts), ("suppressions", plan.suppressions)):
                self._upsert(cursor, kind, rows)
        if plan.bounces or texts.get("bounces"):
            self._bounces(cursor, plan, now)
        soft_events = self._soft_rule(cursor, plan.soft)
        self._outbox(cursor, plan, soft_events, now)
        return WriteResult(plan.new, plan.duplicates, plan.suppressed + len(soft_events), plan.events + len(soft_events))

    def _claim(self, cursor: Any, times: bytes, prints: bytes, places: bytes) -> bytes:
        """Mark which records are new against the stored fingerprint blocks, and store the merged blocks.

        Writers are serialised for the rest of the transaction (a PostgreSQL advisory lock; on SQLite
        the write lock taken first), so two batches never both take a record for new.
        """
        if not times:
            return b""
        minutes = fingerprints.buckets(times)
        blocks: dict[int, bytes] = {}
        if self.postgres:  # one round trip: the staging table (once per session), the lock, then the blocks
            cursor.execute(f"{STAGE_TABLE}; SELECT pg_advisory_xact_lock({FINGERPRINT_LOCK}); "  # noqa: S608 - integers
                           f"SELECT bucket, fps FROM bounce_fingerprint_blocks WHERE bucket IN "
                           f"({', '.join(map(str, minutes))})")
            while cursor.nextset():  # to the last result: the blocks
                pass
            blocks.update((bucket, bytes(block)) for bucket, block in cursor.fetchall())
        else:
            cursor.execute("DELETE FROM bounce_fingerprint_blocks WHERE 0")  # takes the write lock now
            for start in range(0, len(minutes), 500):
                chunk = minutes[start:start + 500]
                cursor.execute(f"SELECT bucket, fps FROM bounce_fingerprint_blocks "  # noqa: S608
                               f"WHERE bucket IN ({self._marks(len(chunk))})", chunk)
                blocks.update((bucket, bytes(block)) for bucket, block in cursor.fetchall())
        mask, changed = fingerprints.dedupe(times, prints, blocks, places)
        if changed:
            cursor.executemany(f"INSERT INTO bounce_fingerprint_blocks (bucket, fps) VALUES ({self._marks(2)}) "  # noqa: S608
                               "ON CONFLICT (bucket) DO UPDATE SET fps = excluded.fps", sorted(changed.items()))
        return mask

    _BOUNCE_COLUMNS = ("fingerprint", "occurred_at", "record_type", "bounce_class", "reason", "rcpt", "source_ip",
                       "vmta", "provider", "status", "diag", "bounce_cat", "message_id", "campaign_uid",
                       "subscriber_uid", "created_at")

    def _bounces(self, cursor: Any, plan: Plan, now: datetime) -> None:
        if self.postgres:  # the planned rows as they are: created_at defaults to now() (migration 0010)
            with cursor.copy(f"COPY bounces ({', '.join(self._BOUNCE_COLUMNS[:-1])}) FROM STDIN") as copy:
                copy.write(plan.texts["bounces"])
            return
        created = self._now(now)
        self._insert(cursor, "bounces", self._BOUNCE_COLUMNS, [(*row, created) for row in plan.bounces])

    def _soft_rule(self, cursor: Any, soft: dict[str, Detail]) -> list[Detail]:
        """Return the soft-bounced addresses that reach the limit now and were not suppressed yet."""
        if not soft:
            return []
        emails = list(soft)
        oldest = min(d.epoch for d in soft.values()) - int(self.soft_window.total_seconds())
        seen: dict[str, list[int]] = {}
        emails.sort()
        # PostgreSQL gives the times as Unix seconds (no datetime per row); SQLite as text
        occurred = "extract(epoch FROM occurred_at)::bigint" if self.postgres else "occurred_at"
        query = f"SELECT rcpt, {occurred} FROM bounces WHERE bounce_class = 'soft' AND record_type IN ('b', 'rb') AND "  # noqa: S608
        # PostgreSQL: one statement with an array (its plan is cached); SQLite: IN lists of up to 500
        chunks = [(self._ts(oldest), emails)] if self.postgres else [
            (self._ts(oldest), *emails[start:start + 500]) for start in range(0, len(emails), 500)]
        for params in chunks:
            where = "occurred_at > %s AND rcpt = ANY(%s)" if self.postgres else \
                f"occurred_at > ? AND rcpt IN ({self._marks(len(params) - 1)})"
            cursor.execute(query + where, params)
            for rcpt, when in cursor.fetchall():
                seen.setdefault(rcpt, []).append(when if when.__class__ is int else _epoch(when))
        window = int(self.soft_window.total_seconds())
        reached = []
        for email, detail in soft.items():
            recent = [t for t in seen.get(email, []) if detail.epoch - window < t <= detail.epoch]
            if len(recent) >= self.soft_limit:
                reached.append(detail)
        suppressed = []
        reached.sort(key=lambda d: d.email)
        for detail in reached:
            cursor.execute(f"INSERT INTO suppressions (email, cause, reason, source_ip, first_at, last_at) VALUES "  # noqa: S608
                           f"({self._marks(6)}) ON CONFLICT (email) DO NOTHING RETURNING email",
                           (detail.email[:320], "soft", detail.verdict.reason, detail.ip[:IP_CHARS],
                            self._ts(detail.epoch), self._ts(detail.epoch)))
            if cursor.fetchall():
                suppressed.append(detail)
        return suppressed

    _OUTBOX_COLUMNS = ("event_id", "destination", "event_type", "email", "payload", "occurred_at", "status",
                       "attempts", "created_at", "next_attempt_at")

    def _outbox(self, cursor: Any, plan: Plan, soft_events: list[Detail], now: datetime) -> None:
        if not self.destinations:
            return
        ts = _sql_time if self.postgres else self._ts
        late = [(event_id(d), destination, "soft_bounce_suppressed", d.email[:320],
                 event_json(d, "soft_bounce_suppressed"), ts(d.epoch), "pending", 0)
                for d in soft_events for destination in self.destinations]
        if self.postgres:  # created_at and next_attempt_at default to now() (migration 0010)
            planned, text = plan.texts.get("outbox", b""), copy_text([tuple(map(str, row)) for row in late])
            if planned or text:
                with cursor.copy(f"COPY outbox ({', '.join(self._OUTBOX_COLUMNS[:-2])}) FROM STDIN") as copy:
                    copy.write(planned)
                    copy.write(text.encode())
            return
        created = self._now(now)
        self._insert(cursor, "outbox", self._OUTBOX_COLUMNS, [(*row, created, created) for row in plan.outbox + late])

    def _position_sql(self) -> str:
        return (f"INSERT INTO bounce_pipe_positions (segment, host, \"offset\", updated_at) VALUES "  # noqa: S608
                f"({self._marks(4)}) ON CONFLICT (segment) DO UPDATE SET \"offset\" = "
                f"{self._greatest}(bounce_pipe_positions.\"offset\", excluded.\"offset\"), "
                "updated_at = excluded.updated_at")

    def _status_sql(self) -> str:
        return (f"INSERT INTO bounce_pipe_status (host, records, rejects, duplicates, last_record_at, updated_at) "  # noqa: S608
                f"VALUES ({self._marks(6)}) ON CONFLICT (host) DO UPDATE SET "
                "records = bounce_pipe_status.records + excluded.records, "
                "rejects = bounce_pipe_status.rejects + excluded.rejects, "
                "duplicates = bounce_pipe_status.duplicates + excluded.duplicates, "
                "last_record_at = CASE WHEN bounce_pipe_status.last_record_at IS NULL "
                "OR excluded.last_record_at > bounce_pipe_status.last_record_at "
                "THEN excluded.last_record_at ELSE bounce_pipe_status.last_record_at END, "
                "updated_at = excluded.updated_at")

    def _status_values(self, host: str, batch: Batch, duplicates: int, now: datetime) -> tuple:
        last = self._ts(batch.last_epoch) if batch.last_epoch is not None and batch.records else None
        return host, batch.records + batch.duplicates_in_batch, len(batch.rejects), duplicates, last, self._now(now)

    def _position(self, cursor: Any, segment: str, offset: int, host: str, now: datetime) -> None:
        cursor.execute(self._position_sql(), (segment, host, offset, self._now(now)))

    def _status(self, cursor: Any, host: str, batch: Batch, duplicates: int, now: datetime) -> None:
        cursor.execute(self._status_sql(), self._status_values(host, batch, duplicates, now))

    def _position_and_status(self, cursor: Any, position: tuple[str, int], host: str, batch: Batch, duplicates: int,
                             now: datetime) -> None:
        """PostgreSQL: the spool position and the pipe's counters in one statement (a data-modifying CTE)."""
        segment, offset = position
        cursor.execute(f"WITH position AS ({self._position_sql()}) {self._status_sql()}",
                       (segment, host, offset, self._now(now), *self._status_values(host, batch, duplicates, now)))

    # ---- dialect helpers ----

    @property
    def _greatest(self) -> str:
        return "greatest" if self.postgres else "max"

    def _mark(self) -> str:
        return "%s" if self.postgres else "?"

    def _marks(self, n: int) -> str:
        return ", ".join([self._mark()] * n)

    def _ts(self, epoch: int) -> Any:
        moment = datetime.fromtimestamp(epoch, UTC)
        return moment if self.postgres else moment.strftime("%Y-%m-%d %H:%M:%S.000000")

    def _now(self, now: datetime) -> Any:
        return now if self.postgres else now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _upsert(self, cursor: Any, kind: str, rows: list[tuple]) -> None:
        """INSERT rows ... ON CONFLICT (one of UPSERTS) on SQLite (PostgreSQL stages them, see _apply)."""
        table, columns, _, conflict = UPSERTS[kind]
        if rows:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({self._marks(len(columns))}) "  # noqa: S608
                               f"{conflict}", rows)

    def _insert(self, cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """INSERT rows (SQLite; PostgreSQL gets COPY text from the plan)."""
        if rows:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({self._marks(len(columns))})",  # noqa: S608
                               rows)


_DAYS: dict[int, str] = {}


def _day_text(day: int) -> str:
    """Return 'YYYY-MM-DD' for a day number since the epoch (cached: few distinct days per batch)."""
    text = _DAYS.get(day)
    if text is None:
        text = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        _DAYS[day] = text
    return text


def _epoch(value: Any) -> int:
    """Return Unix seconds of a datetime or SQLite datetime string read back from the database."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())
