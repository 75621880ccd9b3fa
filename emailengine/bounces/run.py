"""`ee bounce-pipe`: stdin → spool → database, never blocking PowerMTA and never losing a record.

Pipe threads (PowerMTA must never see the pipe block, so nothing on the stdin path waits on
the database):
- reader (main thread): stdin → append to the active spool segment; fsync at least every 50 ms
  while data flows (≤ 200 ms by EE_BOUNCE_FLUSH_MS); only fsynced bytes are "durable".
- parser: durable spool bytes → raw pieces cut at record boundaries and header lines, read into
  batches (scan.py: the compiled scanner, else the Python reader); a batch goes to the writer as
  soon as it is idle, and grows up to EE_BOUNCE_BATCH_SIZE records (or Batch.full's memory
  bound) while it is busy. When the writer is behind, the parser also plans the batch
  (Store.plan) so the transaction only sends. Bounded queue of read batches, so memory is
  bounded however far the database is behind.
- writer (PG_WRITERS): one transaction per batch, including the segment's committed byte offset;
  on a database error it keeps the batch, backs off (0.2 s doubling to 30 s) and retries.
On start, segments left by a killed process (not locked by a live one) are replayed from their
committed offset first; fingerprints make any replay idempotent. A segment fully committed and
no longer written is deleted with its position row.

The database opens in a thread of its own (`open_database`: psycopg alone on PostgreSQL, see
db/direct.py) while stdin is already spooled and read; an error opening it ends the pipe with
one line (the input stays in the spool). CPython's cyclic GC is paused while records stream
through (importer.collector_paused); the writer collects cycles every GC_INTERVAL.
"""

from __future__ import annotations

import fcntl
import gc
import os
import queue
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emailengine.bounces.importer import (
    GC_INTERVAL,
    ImportResult,
    RejectLog,
    collector_paused,
    first_line,
    is_db_error,
    make_store,
    raw_batch_bytes,
)
from emailengine.bounces.ingest import Batch, BatchBuilder, Store, WriteResult
from emailengine.bounces.pieces import CHUNK, RawBatch, RawCutter, header_names, last_header, latest_header
from emailengine.bounces.reader import Reject, split_records
from emailengine.bounces.scan import batch_from_piece
from emailengine.db.direct import is_postgresql_url
from emailengine.logs import logger

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from emailengine.config import Settings
    from emailengine.db.direct import DirectPostgres

SEGMENT_MAX_BYTES = 128 << 20
SYNC_INTERVAL = 0.05
METRICS_INTERVAL = 15.0
SHUTDOWN_TIMEOUT = 30.0
JOB = "bounce-pipe"
PG_WRITERS = 1  # writer threads on PostgreSQL; measured (1M records): 1 → 5.4 s, 2 → 5.6-6.7 s, 3 → 6.2-7.6 s (GIL-bound)


def host_name() -> str:
    """Return this host's name (the key of its pipe status row)."""
    return socket.gethostname()


# ---------------------------------------------------------------- the pipe


class _GiveUp(Exception):
    """The input ended while the database stayed down: leave the rest in the spool."""


@dataclass
class Segment:
    """One spool file: its path, the bytes made durable so far, and whether it is finished."""

    path: Path
    durable: int = 0
    closed: bool = False
    committed: int = 0  # every byte before this is committed (the low watermark)
    queued: list[int] = field(default_factory=list)  # ends of pieces handed to writers, in order
    finished: set[int] = field(default_factory=set)  # ends of pieces committed out of order

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class PipeState:
    """Shared between the pipe's threads."""

    segments: list[Segment] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    stopping: bool = False
    input_done: bool = False
    result: ImportResult = field(default_factory=ImportResult)
    spooled: int = 0
    db_ok: bool = True
    last_record_at: float = 0.0
    last_progress: float = 0.0
    error: BaseException | None = None


class Pipe:
    """`ee bounce-pipe`: see the module docstring."""

    def __init__(self, settings: Settings, engine: Engine | DirectPostgres | Callable[[], Engine | DirectPostgres],
                 stdin_fd: int = 0) -> None:
        """`engine` may be a function that returns it: it then runs in a thread of its own while
        stdin is spooled and read (importing the database stack and connecting take ~0.3 s)."""
        self.settings = settings
        self.fd = stdin_fd
        self.host = host_name()
        self.spool = Path(settings.spool_dir)
        self.state = PipeState()
        self.rejects = RejectLog(self.spool / "rejects.log")
        self.flush_seconds = settings.bounce_flush_ms / 1000
        # writer threads, each with its own connection (see PG_WRITERS)
        self.writers = PG_WRITERS if is_postgresql_url(settings.effective_database_url()) else 1
        self._engine: Engine | DirectPostgres | None = None
        self._engine_error: BaseException | None = None
        self._engine_ready = threading.Event()
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        if callable(engine):
            threading.Thread(target=self._open_engine, args=(engine,), name="bounce-engine", daemon=True).start()
        else:
            self._engine = engine
            self._engine_ready.set()
        # read batches (compact: raw bytes are dropped once read) waiting for a writer
        self._queue: queue.Queue[tuple[Segment, Batch | None, list[int]]] = queue.Queue(maxsize=self.writers + 1)
        self._builder = BatchBuilder()  # the parser's: it holds the current header
        self._locks: dict[str, int] = {}

    # -- the database, opened in the background

    def _open_engine(self, factory: Callable[[], Engine | DirectPostgres]) -> None:
        try:
            self._engine = factory()
        except BaseException as error:  # noqa: BLE001 - raised by Pipe.run in the main thread
            self._engine_error = error
        finally:
            self._engine_ready.set()

    @property
    def engine(self) -> Engine | DirectPostgres:
        """The database (waits until it is open; raises what opening it raised)."""
        self._engine_ready.wait()
        if self._engine_error is not None:
            raise self._engine_error
        return self._engine  # type: ignore[return-value]

    @property
    def store(self) -> Store:
        """The batch store (made once the engine is open)."""
        with self._store_lock:
            if self._store is None:
                self._store = make_store(self.settings, self.engine)
            return self._store

    # -- lifecycle

    def run(self) -> ImportResult:
        """Read stdin until EOF or SIGTERM, then flush, commit and return the totals."""
        self.spool.mkdir(parents=True, exist_ok=True)
        threading.Thread(target=self._prune, name="bounce-prune", daemon=True).start()
        orphans = self._orphans()
        active = self._new_segment()
        self.state.segments = [*orphans, active]
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        with collector_paused():  # the writers collect cycles every GC_INTERVAL
            return self._run(active, previous)

    def _run(self, active: Segment, previous: dict[int, Any]) -> ImportResult:
        """Run the threads (see the module docstring) until the input ends and batches are committed."""
        threads = [threading.Thread(target=self._guard(self._parse_loop), name="bounce-parser", daemon=True)]
        threads += [threading.Thread(target=self._guard(self._write_loop), name=f"bounce-writer-{n}", daemon=True)
                    for n in range(self.writers)]
        for thread in threads:
            thread.start()
        try:
            self._read_loop(active)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._engine_ready.wait()
        if self._engine_error is not None:  # e.g. an outdated schema: what was read stays in the spool
            self.rejects.close()
            raise self._engine_error
        with self.state.cond:
            self.state.input_done = True
            self.state.cond.notify_all()
        # Wait while batches still commit; give up only after SHUTDOWN_TIMEOUT without progress
        # (database down): the spool keeps the rest for the next start.
        self.state.last_progress = time.monotonic()
        while any(thread.is_alive() for thread in threads):
            threads[-1].join(0.5)
            if time.monotonic() - self.state.last_progress > SHUTDOWN_TIMEOUT:
                break
        if any(thread.is_alive() for thread in threads):
            logger.warning("bounce-pipe: database not reachable at exit; the spool keeps the rest for the next start")
        self.rejects.close()
        self._publish_metrics()
        return self.state.result

    def _prune(self) -> None:
        self._engine_ready.wait()
        if self._engine_error is not None:
            return  # Pipe.run reports it
        try:
            deleted = self.store.prune_fingerprints(self.settings.bounce_fingerprint_days, time.time())
            if deleted:
                logger.info("bounce-pipe: pruned %d fingerprints older than %d days", deleted,
                            self.settings.bounce_fingerprint_days)
        except Exception as error:  # noqa: BLE001 - pruning is housekeeping; a later start retries
            logger.warning("bounce-pipe: cannot prune fingerprints: %s", first_line(error))

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as error:  # noqa: BLE001 - a thread must report, not vanish
                if error is not self._engine_error:  # that one Pipe.run raises, in one line
                    logger.exception("bounce-pipe thread failed: %s", error)
                self.state.error = error
        return run

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.state.stopping = True

    # -- segments

    def _new_segment(self) -> Segment:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.spool / f"{self.host}-{stamp}-{os.getpid()}.acct"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._locks[path.name] = fd
        return Segment(path)

    def _orphans(self) -> list[Segment]:
        """Return segments left by dead processes (lockable), oldest first, with their sizes."""
        found = []
        for path in sorted(self.spool.glob("*.acct"), key=lambda p: p.stat().st_mtime):
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)  # a live pipe (or another replayer) owns it
                continue
            self._locks[path.name] = fd
            found.append(Segment(path, durable=path.stat().st_size, closed=True))
        return found

    def _committed_offset(self, segment: Segment) -> int:
        delay = 0.2
        while True:
            try:
                return self.store.committed_offset(segment.name)
            except Exception as error:  # noqa: BLE001
                if not is_db_error(error):
                    raise
                if self.state.input_done:
                    raise _GiveUp from None
                self.state.db_ok = False
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _finish_segment(self, segment: Segment) -> None:
        """Delete a fully committed, closed segment and its position row."""
        try:
            self.store.forget_segment(segment.name)
        except Exception as error:  # noqa: BLE001 - the file stays; a later run replays nothing new
            logger.warning("cannot drop position of %s: %s", segment.name, first_line(error))
            return
        segment.path.unlink(missing_ok=True)
        fd = self._locks.pop(segment.name, None)
        if fd is not None:
            os.close(fd)

    # -- reader (main thread)

    def _read_loop(self, segment: Segment) -> None:
        out = self._locks[segment.name]
        written = 0
        last_sync = time.monotonic()
        header = b""
        carry = b""
        eof = False
        while not self.state.stopping and not eof and self._engine_error is None:
            try:
                ready, _, _ = select.select([self.fd], [], [], SYNC_INTERVAL)
            except InterruptedError:
                continue
            if ready:
                try:
                    data = os.read(self.fd, CHUNK)
                except InterruptedError:
                    continue
                if not data:
                    eof = True
                else:
                    header, carry = _track_header(header, carry, data)
                    _write_all(out, data)
                    written += len(data)
                    self.state.spooled += len(data)
            now = time.monotonic()
            if written > segment.durable and (not ready or eof or now - last_sync >= SYNC_INTERVAL
                                              or written - segment.durable > (32 << 20)):
                os.fsync(out)
                last_sync = now
                with self.state.cond:
                    segment.durable = written
                    self.state.cond.notify_all()
            if written >= SEGMENT_MAX_BYTES and not carry and header:
                segment, out, written = self._rotate(segment, header)
        if written > segment.durable:
            os.fsync(out)
        with self.state.cond:
            segment.durable = written
            segment.closed = True
            self.state.cond.notify_all()

    def _rotate(self, segment: Segment, header: bytes) -> tuple[Segment, int, int]:
        """Close the full segment and start a new one that begins with the current header line."""
        old = self._locks[segment.name]
        os.fsync(old)
        fresh = self._new_segment()
        out = self._locks[fresh.name]
        _write_all(out, header)
        os.fsync(out)
        with self.state.cond:
            segment.durable = os.fstat(old).st_size
            segment.closed = True
            fresh.durable = len(header)
            self.state.segments.append(fresh)
            self.state.cond.notify_all()
        return fresh, out, len(header)

    # -- parser thread

    def _parse_loop(self) -> None:
        index = 0
        while True:
            with self.state.cond:
                if index >= len(self.state.segments):
                    break
                segment = self.state.segments[index]
            try:
                self._parse_segment(segment)
            except _GiveUp:
                break
            index += 1
            with self.state.cond:
                if index >= len(self.state.segments) and (self.state.input_done or self.state.stopping):
                    break
        for _ in range(self.writers):
            self._queue.put((Segment(Path("-")), None, [0], []))

    def _parse_segment(self, segment: Segment) -> None:
        committed = self._committed_offset(segment) if segment.closed else 0
        segment.committed = committed
        limit = raw_batch_bytes(self.settings)
        builder = self._builder
        with segment.path.open("rb") as source:
            header = last_header(source, committed) if committed else None
            cutter = RawCutter(header_names(header) if header else None)
            offset, pending, started = committed, None, 0.0
            batch: Batch | None = None
            ends: list[int] = []
            spans: list[tuple[list[str] | None, int, int]] = []  # (header, start, end) of each piece read
            while True:
                with self.state.cond:
                    while (offset >= segment.durable and not segment.closed
                           and not (started and time.monotonic() - started >= self.flush_seconds)
                           and not (batch is not None and self._queue.empty())):
                        self.state.cond.wait(0.05)
                    durable, closed = segment.durable, segment.closed
                data = b""
                if offset < durable:
                    data = os.pread(source.fileno(), min(max(CHUNK, limit) + (64 << 10), durable - offset), offset)
                    offset += len(data)  # about one piece per read
                final = closed and offset >= durable
                pieces = cutter.feed(data, offset, final)
                if pieces and cutter.carry:  # read the unfinished record again next time, not carry + data
                    offset -= len(cutter.carry)
                    cutter.carry = b""
                for piece in pieces:
                    if pending is not None and pending.names != piece.names:
                        batch = self._read_piece(segment, pending, builder, batch, ends, spans)
                        pending = None
                    pending = piece if pending is None else RawBatch(piece.names, bytes(pending.data) + piece.data,
                                                                     piece.end)
                    started = started or time.monotonic()
                due = started and time.monotonic() - started >= self.flush_seconds
                if pending is not None and (len(pending.data) >= limit or due or final):
                    batch = self._read_piece(segment, pending, builder, batch, ends, spans)
                    pending, started = None, 0.0
                # Hand the batch over when it is full, at the end, or as soon as the writer is idle:
                # while the writer is busy (catching up), pieces accumulate into one transaction.
                if batch is not None and (final or self._queue.empty() or batch.full(self.settings.bounce_batch_size)):
                    if self._queue.full():  # the writer is behind: plan here rather than wait (else it plans)
                        batch.plan = self.store.plan(batch)
                    self._queue.put((segment, batch, ends, spans))
                    batch, ends, spans = None, [], []
                if final:
                    self._queue.put((segment, None, [offset], []))  # segment done
                    return

    def _read_piece(self, segment: Segment, piece: RawBatch, builder: BatchBuilder, batch: Batch | None,
                    ends: list[int], spans: list[tuple[list[str] | None, int, int]]) -> Batch:
        """Read a raw piece into the pending batch (raw bytes are dropped once read)."""
        with self.state.cond:
            segment.queued.append(piece.end)
        ends.append(piece.end)
        spans.append((piece.names, piece.end - len(piece.data), piece.end))
        return batch_from_piece(piece.names, piece.data, builder, into=batch)

    # -- writer threads

    def _write_loop(self) -> None:
        self.store  # noqa: B018 - waits for the engine; an error opening it ends this thread, not a batch
        last_metrics = 0.0
        last_collect = time.monotonic()
        while True:
            segment, batch, ends, spans = self._queue.get()
            if segment.name == "-":
                break
            if batch is None:
                with self.state.cond:  # the segment is done once every piece of it is committed
                    while segment.queued and not self.state.error:
                        self.state.cond.wait(0.1)
                if segment.closed and ends[0] >= segment.durable:
                    self._commit_position(segment, ends[0])
                    self._finish_segment(segment)
                continue
            try:
                written = self._write_until_done(segment, batch, ends)
            except Exception as error:  # noqa: BLE001 - not the database: one record cannot be stored
                written = self._salvage(segment, spans, ends, error)
                batch = Batch()  # its records were counted one by one
            if written is None:
                return
            self._count(segment, batch, written)
            if time.monotonic() - last_metrics >= METRICS_INTERVAL:
                self._publish_metrics()
                last_metrics = time.monotonic()
            if time.monotonic() - last_collect >= GC_INTERVAL:
                gc.collect()
                last_collect = time.monotonic()

    def _count(self, segment: Segment, batch: Batch, written: WriteResult) -> None:
        self.state.result.add(batch, written.new, written.duplicates, written.suppressed, written.events)
        self.rejects.write(segment.name, batch.rejects)
        if batch.last_epoch:
            self.state.last_record_at = float(batch.last_epoch)

    def _salvage(self, segment: Segment, spans: list[tuple[list[str] | None, int, int]], ends: list[int],
                 error: Exception) -> WriteResult | None:
        """Store a batch that failed for a reason other than the database record by record, from the spool.

        A record that still fails is rejected with the error (so a replay cannot fail the same way
        forever); then the batch's spool position is committed. Returns the empty final write.
        """
        logger.error("bounce-pipe: a batch failed (%s); storing its records one by one", first_line(error))
        builder = BatchBuilder()
        with segment.path.open("rb") as source:
            for names, start, end in spans:
                source.seek(start)
                items, _ = split_records(source.read(end - start), final=True)
                for item in items:
                    one = batch_from_piece(names, item, builder, accelerated=False) if isinstance(item, bytes) else None
                    if one is None:
                        self.rejects.write(segment.name, [item])  # type: ignore[list-item]
                        continue
                    try:
                        written = self._write_until_done(segment, one, [])
                    except Exception as failure:  # noqa: BLE001
                        rejected = Batch(rejects=[Reject(f"cannot be stored: {first_line(failure)}", item[:512])])
                        self._count(segment, rejected, WriteResult(0, 0, 0, 0))
                        continue
                    if written is None:
                        return None
                    self._count(segment, one, written)
        return self._write_until_done(segment, Batch(), ends)

    def _safe_offset(self, segment: Segment, ends: list[int]) -> int:
        """Return the position a transaction writing the pieces ending at `ends` may record."""
        end = max(ends)
        with self.state.cond:
            earlier = [e for e in segment.queued if e < end and e not in ends]
            return end if all(e in segment.finished for e in earlier) else segment.committed

    def _done(self, segment: Segment, end: int) -> None:
        with self.state.cond:
            segment.finished.add(end)
            while segment.queued and segment.queued[0] in segment.finished:
                segment.committed = max(segment.committed, segment.queued.pop(0))
            segment.committed = max(segment.committed, end) if not segment.queued else segment.committed
            self.state.cond.notify_all()

    def _write_until_done(self, segment: Segment, batch: Batch, ends: list[int]) -> Any:
        delay = 0.2
        while True:
            try:
                position = {"segment": segment.name, "offset": self._safe_offset(segment, ends)} if ends else {}
                written = self.store.write(batch, datetime.now(UTC), host=self.host, status=True, **position)
                for end in ends:
                    self._done(segment, end)
                self.state.last_progress = time.monotonic()
                if not self.state.db_ok:
                    logger.info("bounce-pipe: database reachable again")
                self.state.db_ok = True
                return written
            except Exception as error:  # noqa: BLE001
                if not is_db_error(error):
                    raise
                if self.state.db_ok:
                    logger.warning("bounce-pipe: database write failed, spooling and retrying: %s",
                                   first_line(error))
                self.state.db_ok = False
                self.store.dispose()
                if self.state.input_done and time.monotonic() - self.state.last_progress > SHUTDOWN_TIMEOUT:
                    return None
                time.sleep(delay)
                delay = min(delay * 2, 30.0 if not self.state.input_done else 2.0)

    def _commit_position(self, segment: Segment, end: int) -> None:
        if end <= segment.committed:
            return
        self._write_until_done(segment, Batch(), [end])

    def _publish_metrics(self) -> None:
        if not (self.settings.metrics_textfile_dir or self.settings.pushgateway_url):
            return
        from prometheus_client import Gauge

        from emailengine import metrics
        registry = metrics.new_registry()
        result = self.state.result
        for name, value, text in (
            ("ee_bounce_pipe_records", result.records, "records committed by this pipe process"),
            ("ee_bounce_pipe_rejects", result.rejects, "malformed lines rejected by this pipe process"),
            ("ee_bounce_pipe_duplicates", result.duplicates, "records already ingested (skipped)"),
            ("ee_bounce_pipe_spooled_bytes", self.state.spooled, "bytes read from stdin into the spool"),
            ("ee_bounce_pipe_database_up", 1 if self.state.db_ok else 0, "1 when the last write succeeded"),
            ("ee_bounce_pipe_last_record_timestamp_seconds", self.state.last_record_at,
             "timeLogged of the newest committed record"),
            ("ee_bounce_pipe_heartbeat_timestamp_seconds", time.time(), "when the pipe last wrote metrics"),
        ):
            Gauge(name, text, registry=registry).set(value)
        metrics.publish(registry, JOB, self.settings)


def _track_header(header: bytes, carry: bytes, data: bytes) -> tuple[bytes, bytes]:
    """Given the header line in force, the unfinished line before `data` and `data` (the next bytes read
    from stdin), return the header line in force after them and the unfinished line after them.

    The reader keeps the header for the next spool segment. Only the line that spans two reads is
    joined: prepending the carry to every read copied the whole input, holding the GIL.
    """
    first = data.find(b"\n") + 1
    if not first:  # no line end yet: the line goes on (a header is never 64 KB long)
        joined = carry + data
        return header, joined if len(joined) < 65536 else b""
    header = latest_header(carry + data[:first]) or header
    found = latest_header(memoryview(data)[first:])
    if found is not None:
        header = bytes(found)
    tail = data[data.rfind(b"\n") + 1:]
    return header, tail if len(tail) < 65536 else b""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def open_database(settings: Settings) -> Engine | DirectPostgres:
    """Return the pipe's database, checked to be at the schema this code needs.

    PostgreSQL through psycopg alone (DirectPostgres: SQLAlchemy's import would delay the writer),
    SQLite through the SQLAlchemy engine. A database that cannot be reached now is returned
    unchecked: the pipe spools and its writer retries.
    """
    from emailengine.errors import TemporaryFailure

    url = settings.effective_database_url()
    if is_postgresql_url(url):
        from emailengine.db.direct import DirectPostgres
        from emailengine.db.migrate import SCHEMA_HEAD

        database = DirectPostgres(url)
        try:
            database.check_schema(SCHEMA_HEAD)
        except TemporaryFailure:
            pass
        return database
    from emailengine.db.engine import create_engine_for, get_engine

    try:
        return get_engine(url)
    except TemporaryFailure:
        return create_engine_for(url)


def run_pipe(settings: Settings, engine: Engine | DirectPostgres | Callable[[], Engine | DirectPostgres],
             stdin_fd: int = 0) -> ImportResult:
    """Run `ee bounce-pipe` until EOF/SIGTERM; return the totals of this process.

    `engine` may be a function that opens it (see Pipe): reading starts at once.
    """
    return Pipe(settings, engine, stdin_fd).run()


