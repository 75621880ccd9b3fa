"""`ee bounces import` (accounting files through the same batches and store as the pipe) and
`ee bounce-pipe --dry-run`; the reject log and the retry helpers the pipe shares.
"""

from __future__ import annotations

import gc
import gzip
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from emailengine.bounces.ingest import Batch, BatchBuilder, Store, WriteResult
from emailengine.bounces.pieces import RawBatch, iter_pieces, read_chunks
from emailengine.bounces.reader import Reject, decode_records, parse_rows, split_records
from emailengine.bounces.scan import batch_from_piece
from emailengine.logs import logger

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from emailengine.config import Settings


def dry_run(stream: IO[bytes], out: IO[str]) -> dict[str, int]:
    """Print one JSON object per record (type, rcpt, ip, class, reason, status, diag, ...); write nothing.

    Duplicates are not dropped: operators use this to test rules. Returns counters.
    """
    builder = BatchBuilder()
    totals = {"records": 0, "rejects": 0}
    carry = b""
    for data, last in read_chunks(stream):
        buffer = carry + data
        items, consumed = split_records(buffer, final=last)
        carry = buffer[consumed:]
        for row in parse_rows(decode_records(items)):
            totals["records" if _dry_row(builder, row, out) else "rejects"] += 1
    return totals


def _dry_row(builder: BatchBuilder, row: list[str] | Reject, out: IO[str]) -> bool:
    from emailengine.bounces.reader import is_header

    if isinstance(row, Reject):
        out.write(json.dumps({"reject": row.reason, "raw": row.raw.decode("utf-8", "replace")}) + "\n")
        return False
    if not row or row == [""]:
        return True
    if is_header(row):
        builder.add(Batch(), [row])
        return True
    probe = Batch()
    builder.add(probe, [list(row)])
    if probe.rejects:
        out.write(json.dumps({"reject": probe.rejects[0].reason}) + "\n")
        return False
    record = builder.header.record(row)  # type: ignore[union-attr]
    epoch, verdict, lane = builder.evaluate(record)
    out.write(json.dumps({
        "type": record.type, "time": datetime.fromtimestamp(epoch, UTC).isoformat() if epoch is not None else None,
        "rcpt": record.rcpt, "ip": record.ip, "vmta": record.vmta, "provider": lane,
        "class": verdict.bounce_class, "reason": verdict.reason, "rule": verdict.rule,
        "status": record.status, "diag": record.diag, "bounce_cat": record.bounce_cat,
        "message_id": record.message_id, "campaign_uid": record.campaign_uid,
        "subscriber_uid": record.subscriber_uid,
    }, ensure_ascii=False) + "\n")
    return True


@dataclass
class ImportResult:
    """Totals of an import or pipe run."""

    records: int = 0
    new: int = 0
    duplicates: int = 0
    rejects: int = 0
    suppressed: int = 0
    events: int = 0
    files: int = 0

    def add(self, batch: Batch, new: int, duplicates: int, suppressed: int, events: int) -> None:
        """Add one committed batch."""
        self.records += batch.records + batch.duplicates_in_batch
        self.rejects += len(batch.rejects)
        self.new += new
        self.duplicates += duplicates
        self.suppressed += suppressed
        self.events += events

    def as_dict(self) -> dict[str, int]:
        """Return the totals as a dict."""
        return dict(self.__dict__)


GC_INTERVAL = 60.0  # seconds between collections of reference cycles while the collector is paused


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while records stream through.

    Batches allocate millions of tuples, strings and small objects that form no reference
    cycles; reference counting frees them. The collector would traverse them again and again:
    measured, 12% of the pipe's CPU (0.5 s per million records). What was alive before (modules,
    classes) is frozen out of later collections; the few cycles made meanwhile (exceptions with
    their tracebacks) are collected by explicit `gc.collect()` calls between batches.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def make_store(settings: Settings, engine: Engine) -> Store:
    """Return the Store for these settings."""
    from emailengine.forwarding import destinations

    return Store(engine, destinations(settings), settings.soft_bounce_limit, settings.soft_bounce_window_days)


def import_files(paths: list[Path], settings: Settings, engine: Engine, reject_file: Path | None = None,
                 progress: Callable[[Path, int, int], None] | None = None) -> ImportResult:
    """Ingest accounting files (plain or .gz) through the same pipeline; re-imports change nothing."""
    from emailengine.errors import UsageError

    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path} is not a readable file")
    store = make_store(settings, engine)
    result = ImportResult()
    rejects = RejectLog(reject_file or settings.spool_dir / "rejects.log")
    with collector_paused():
        for path in paths:
            _import_file(path, settings, store, result, rejects, progress)
            gc.collect()
    rejects.close()
    return result


def _import_file(path: Path, settings: Settings, store: Store, result: ImportResult, rejects: RejectLog,
                 progress: Callable[[Path, int, int], None] | None) -> None:
    """Ingest one accounting file into `result` (see import_files)."""
    from emailengine.errors import TemporaryFailure, UsageError

    builder = BatchBuilder()
    with path.open("rb") as raw:
        is_gzip = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if is_gzip else raw  # type: ignore[assignment]
        size = path.stat().st_size

        def tick(_: int, raw: IO[bytes] = raw, path: Path = path, size: int = size) -> None:
            if progress:
                progress(path, raw.tell(), size)

        try:
            for batch, pieces in _batches(iter_pieces(read_chunks(stream, tick), raw_batch_bytes(settings)),
                                          builder, settings.bounce_batch_size):
                try:
                    written = _write_with_retry(store, batch, deadline=time.monotonic() + 120)
                except TemporaryFailure:
                    raise
                except Exception as error:  # noqa: BLE001 - not the database: one record cannot be stored
                    _salvage_import(store, pieces, str(path), result, rejects, error)
                    continue
                result.add(batch, written.new, written.duplicates, written.suppressed, written.events)
                rejects.write(str(path), batch.rejects)
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise UsageError(f"cannot read {path}: {error}") from None
    result.files += 1


PIECE_RECORDS = 5000  # records per piece the parser cuts (the pipe's writers join waiting pieces)


def raw_batch_bytes(settings: Settings) -> int:
    """Return the bytes per piece: up to PIECE_RECORDS (or EE_BOUNCE_BATCH_SIZE) records of about 500 bytes."""
    return min(settings.bounce_batch_size, PIECE_RECORDS) * 500


def _batches(pieces: Iterator[RawBatch], builder: BatchBuilder, size: int) -> Iterator[tuple[Batch, list[RawBatch]]]:
    """Yield batches of about `size` records read from consecutive pieces, with those pieces (kept
    until the batch is written: a batch that cannot be stored is stored record by record)."""
    batch: Batch | None = None
    read: list[RawBatch] = []
    for piece in pieces:
        batch = batch_from_piece(piece.names, piece.data, builder, into=batch)
        read.append(piece)
        if batch.full(size):
            yield batch, read
            batch, read = None, []
    if batch is not None:
        yield batch, read


def _salvage_import(store: Store, pieces: list[RawBatch], source: str, result: ImportResult, rejects: RejectLog,
                    error: Exception) -> None:
    """Store the records of a batch that failed for a reason other than the database one by one;
    reject the record that still fails with its error (as the pipe does, see Pipe._salvage)."""
    from emailengine.errors import TemporaryFailure

    logger.error("bounces import: a batch failed (%s); storing its records one by one", first_line(error))
    builder = BatchBuilder()
    for piece in pieces:
        items, _ = split_records(bytes(piece.data), final=True)
        for item in items:
            if not isinstance(item, bytes):
                result.add(Batch(rejects=[item]), 0, 0, 0, 0)
                rejects.write(source, [item])
                continue
            one = batch_from_piece(piece.names, item, builder, accelerated=False)
            try:
                written = _write_with_retry(store, one, deadline=time.monotonic() + 120)
            except Exception as failure:
                if isinstance(failure, TemporaryFailure):
                    raise
                one = Batch(rejects=[Reject(f"cannot be stored: {first_line(failure)}", item[:512])])
                written = WriteResult(0, 0, 0, 0)
            result.add(one, written.new, written.duplicates, written.suppressed, written.events)
            rejects.write(source, one.rejects)


def _write_with_retry(store: Store, batch: Batch, deadline: float) -> WriteResult:
    """Write a batch, retrying database errors with backoff until the deadline (then TemporaryFailure)."""
    from emailengine.errors import TemporaryFailure

    delay = 0.2
    while True:
        try:
            return store.write(batch, datetime.now(UTC))
        except Exception as error:  # noqa: BLE001 - any database error: keep the batch and retry
            if not is_db_error(error):
                raise
            if time.monotonic() >= deadline:
                raise TemporaryFailure(f"database unavailable: {first_line(error)}", "retry later") from None
            logger.warning("database write failed, retrying in %.1fs: %s", delay, first_line(error))
            store.engine.dispose()
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def is_db_error(error: BaseException) -> bool:
    """Return whether an error means the database is unreachable or failing (retry), not bad data."""
    import sys

    from emailengine.errors import SchemaOutdated, TemporaryFailure

    # SchemaOutdated: a server back from an outage at another schema (db/direct.py checks each new
    # connection); retried, the records wait in the spool until `ee db upgrade`
    if isinstance(error, (TemporaryFailure, SchemaOutdated, ConnectionError)):
        return True
    if "psycopg" in sys.modules:  # the server went away, or refused (AdminShutdown is an OperationalError)
        import psycopg

        if isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError)):
            return True
    if type(error).__module__ == "sqlite3" and type(error).__name__ == "OperationalError":  # locked, disk I/O
        return True
    if "sqlalchemy" not in sys.modules:  # the pipe on PostgreSQL does without it (db/direct.py)
        return False
    from sqlalchemy.exc import DBAPIError, OperationalError

    return isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated)


def first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


class RejectLog:
    """Append-only reject file: `time<TAB>source<TAB>reason<TAB>raw` (raw as a JSON string)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def write(self, source: str, rejects: list[Reject]) -> None:
        """Append rejects (opens the file on first use)."""
        if not rejects:
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        for reject in rejects:
            raw = json.dumps(reject.raw.decode("utf-8", "replace"), ensure_ascii=False)
            self._file.write(f"{stamp}\t{source}\t{reject.reason}\t{raw}\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file:
            self._file.close()
            self._file = None
