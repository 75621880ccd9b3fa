"""Turn a piece of accounting data (complete records under one header) into a Batch (pure).

Two readers, one result. The compiled scanner (`_accel.scan`, see _accel.c) takes the common
case: single-line, well-formed UTF-8 records of a known type with a time in one of PowerMTA's
two formats. It returns deliveries as arrays (counted only once the store knows they are new),
every other record with its fingerprint, and the raw lines it declines. Those lines, and the
rest of a piece from a header-like or multi-line record on, go through the Python reader
(reader.py), which names every reject. Without the compiled module everything takes the Python
path; tests check that both give the same batch.
"""

from __future__ import annotations

from emailengine.bounces.fingerprints import ACCEL
from emailengine.bounces.ingest import Batch, BatchBuilder, Deliveries
from emailengine.bounces.reader import FIELDS, Header, decode_records, parse_rows, split_records

MAX_COLUMNS = 1024  # the compiled scanner's limit; wider headers are read by the Python path
# What a bounce or complaint (a record with rows of its own, ingest.Detail) costs in memory until its
# batch is written, besides about four times its text (fields, event JSON, COPY text of the plan):
# the Record, Detail, keys and dict entries. Deferrals and deliveries hold only counters. Measured:
# with 16 MB batches, a file of bounces only peaks at 150 MB RSS, the benchmark's mix at 140 MB.
RECORD_OVERHEAD = 3000


def batch_from_piece(names: list[str] | None, data: bytes | memoryview, builder: BatchBuilder, accelerated: bool = True,
                     into: Batch | None = None) -> Batch:
    """Return the batch of `data` (records under the header `names`; None: no header seen yet).

    With `into`, the records are added to that batch (one transaction for several pieces).
    """
    _use_header(builder, names)
    batch = into if into is not None else Batch()
    if ACCEL is not None and accelerated and builder.header is not None and data and 1 <= builder.header.width <= MAX_COLUMNS:
        data = _scan(builder, builder.header, data, batch)
    if data:
        add_python(builder, batch, data)
    return batch


def add_python(builder: BatchBuilder, batch: Batch, data: bytes) -> None:
    """Read records on the Python path into the batch (header lines switch the builder's map)."""
    items, _ = split_records(bytes(data), final=True)
    details = len(batch.details)
    builder.add(batch, parse_rows(decode_records(items)))
    if items:  # the records kept whole (bounces, complaints), at the piece's average size
        batch.held += (len(batch.details) - details) * (4 * len(data) // len(items) + RECORD_OVERHEAD)


def _use_header(builder: BatchBuilder, names: list[str] | None) -> None:
    if names is None:
        builder.header = None
    elif builder.header is None or builder.header.names != tuple(name.strip() for name in names):
        builder.header = Header(names)


def _scan(builder: BatchBuilder, header: Header, data: bytes, batch: Batch) -> bytes:
    """Scan with the compiled module; return what is left for the Python path.

    Every record gets its place in the input (Batch.order): the compiled records their line, the
    declined lines theirs, and what is left after a stop continues from the stop line.
    """
    positions = [header.positions[name] for name in FIELDS]
    base = batch.next_order
    (stop, fps, times, group_of, groups, others, slow, last, end_order,
     places, others_bytes) = ACCEL.scan(data, positions, header.width, base)
    details = len(batch.details)
    if fps:
        keys = [builder.delivery_keys(*group) for group in groups]
        batch.deliveries.append(Deliveries(fps, times, group_of, keys, places))
        batch.records += len(fps) // 8
        batch.last_epoch = last if batch.last_epoch is None else max(batch.last_epoch, last)
    add = builder.add_scanned_all
    if not slow:
        add(batch, others)
    else:  # declined lines go through the Python reader in their place
        done = 0
        for position, line, order in slow:
            add(batch, others[done:position])
            done = max(done, position)
            batch.next_order = order
            add_python(builder, batch, line)
        add(batch, others[done:])
    batch.next_order = end_order
    # what the new details hold, at the others' average size (deferrals hold next to nothing); details of
    # declined lines were counted by add_python already, so this errs on the safe side
    if others:
        batch.held += (len(batch.details) - details) * (4 * others_bytes // len(others) + RECORD_OVERHEAD)
    return data[stop:] if stop >= 0 else b""
