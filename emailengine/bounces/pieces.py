"""Cut an accounting byte stream into pieces: complete records under one header (pure, no I/O).

The pipe's parser and `ee bounces import` both read through `RawCutter`: the boundary of the last
complete record is found by quote parity and header lines by a byte search (both in the compiled
module without the GIL when it is built), with no per-record work; a new header mid-stream
switches the column names of the pieces after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from emailengine.bounces.reader import split_records

CHUNK = 1 << 20  # bytes per read of stdin or of a file


@dataclass
class RawBatch:
    """Complete records (no header lines) under one header, and the stream offset after them."""

    names: list[str] | None
    data: bytes | memoryview  # a view of the buffer read, in the pipe
    end: int


class RawCutter:
    """Cut a byte stream into RawBatches at record boundaries and header lines.

    No per-record work: the boundary is the last newline with an even number of quotes before it
    (C-speed bytes.count); when quotes never balance (a malformed line), the Python splitter
    finds the boundary and the bad line becomes a reject later.
    """

    def __init__(self, names: list[str] | None = None) -> None:
        self.names = names
        self.carry = b""

    def feed(self, data: bytes, end: int, final: bool) -> list[RawBatch]:
        """Given the next bytes (ending at stream offset `end`), return the complete pieces."""
        buffer = self.carry + data if self.carry else data
        cut = len(buffer) if final else _boundary(buffer)
        self.carry = buffer[cut:]
        base = end - len(buffer)
        pieces: list[RawBatch] = []
        # pieces are views of the buffer (the pipe's parser reads ~2.5 MB at a time: no copies)
        chunk = memoryview(buffer)[:cut] if cut < len(buffer) else buffer
        start = 0
        for begin, finish in _header_lines(chunk):
            if begin > start:
                pieces.append(RawBatch(self.names, chunk[start:begin], base + begin))
            self.names = header_names(chunk[begin:finish])
            start = finish
        if start < len(chunk) or (start and not pieces):
            pieces.append(RawBatch(self.names, chunk[start:], base + len(chunk)))
        return pieces


def _header_lines(chunk: bytes) -> list[tuple[int, int]]:
    """Return (start, end) of every header line (a line starting with `type,`, perhaps after a
    byte-order mark). The compiled module searches without holding the GIL."""
    from emailengine.bounces.fingerprints import ACCEL

    if ACCEL is not None:
        return ACCEL.header_lines(chunk)
    return py_header_lines(chunk)


def py_header_lines(chunk: bytes | memoryview) -> list[tuple[int, int]]:
    """_header_lines in Python: the reference the compiled module is tested against."""
    chunk = bytes(chunk)
    found = []
    position = chunk.find(b"type,")
    while position >= 0:
        begin = position - 3 if chunk[position - 3:position] == _BOM else position
        end = chunk.find(b"\n", position)
        end = len(chunk) if end < 0 else end + 1
        if begin == 0 or chunk[begin - 1:begin] == b"\n":
            found.append((begin, end))
        position = chunk.find(b"type,", position + 5)
    return found


_BOM = b"\xef\xbb\xbf"


def _boundary(buffer: bytes) -> int:
    from emailengine.bounces.fingerprints import ACCEL

    found = ACCEL.record_boundary(buffer) if ACCEL is not None else py_record_boundary(buffer)
    if found >= 0:
        return found
    if len(buffer) < (4 << 20):
        return 0  # wait for more: a quoted field may still close
    return split_records(buffer, final=False)[1]


def py_record_boundary(buffer: bytes | memoryview) -> int:
    """Return the offset after the last newline with an even number of quotes before it, looking at
    the last 64 newlines only (-1: none): the reference of the compiled record_boundary."""
    buffer = bytes(buffer)
    position = buffer.rfind(b"\n")
    tries = 0
    while position >= 0 and tries < 64:
        if not buffer.count(b'"', 0, position) & 1:
            return position + 1
        position = buffer.rfind(b"\n", 0, position)
        tries += 1
    return -1


def header_names(line: bytes) -> list[str]:
    import csv

    text = bytes(line).decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n")
    return next(csv.reader([text]))


def iter_pieces(chunks: Iterator[tuple[bytes, bool]], max_bytes: int) -> Iterator[RawBatch]:
    """Given (bytes, is_last) chunks, yield RawBatches of up to about max_bytes under one header."""
    cutter = RawCutter()
    offset = 0
    pending: RawBatch | None = None
    for data, last in chunks:
        offset += len(data)
        for piece in cutter.feed(data, offset, last):
            if pending is not None and (pending.names != piece.names or len(pending.data) >= max_bytes):
                yield pending
                pending = None
            pending = piece if pending is None else RawBatch(piece.names, bytes(pending.data) + piece.data, piece.end)
    if pending is not None:
        yield pending


def read_chunks(stream: IO[bytes], progress: Callable[[int], None] | None = None,
                ) -> Iterator[tuple[bytes, bool]]:
    """Yield (chunk, is_last) from a binary stream."""
    pending = stream.read(CHUNK)
    while pending:
        following = stream.read(CHUNK)
        if progress:
            progress(len(pending))
        yield pending, not following
        pending = following


def last_header(source: IO[bytes], limit: int) -> bytes | None:
    """Return the last header line (without its line end) in the first `limit` bytes of a file."""
    found = None
    position, carry = 0, b""
    source.seek(0)
    while position < limit:
        data = source.read(min(CHUNK, limit - position))
        if not data:
            break
        position += len(data)
        buffer = carry + data
        found = latest_header(buffer) or found
        carry = buffer.rpartition(b"\n")[2][-65536:]
    return found.rstrip(b"\r\n") if found else None


def latest_header(buffer: bytes) -> bytes | None:
    """Return the last complete header line (with its newline) in a buffer that starts at a line start."""
    for begin, end in reversed(_header_lines(buffer)):
        if buffer[end - 1:end] == b"\n":
            return buffer[begin:end]
    return None
