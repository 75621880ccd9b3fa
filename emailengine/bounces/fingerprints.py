"""Fingerprint blocks: which records of a batch are new, and the blocks to store (pure).

Every record has a 64-bit fingerprint (reader.md5_fingerprint). The store keeps them as one
sorted block per UTC minute of the record's time (table bounce_fingerprint_blocks): a batch
reads the blocks of its minutes, `dedupe` marks the records not seen before (in the store or
earlier in the batch) and returns the merged blocks to write back.

Times and fingerprints travel as native int64 arrays (bytes); stored blocks are little-endian.
The compiled module (_accel.c) does this at C speed; the Python functions here are the
reference it is tested against and the fallback when it is not built.
"""

from __future__ import annotations

import sys
from array import array
from types import ModuleType


def _load_accel() -> ModuleType | None:
    try:
        from emailengine.bounces import _accel
    except ImportError:
        return None
    return _accel


ACCEL = _load_accel()


def int64s(values: list[int]) -> bytes:
    """Return a native int64 array of the values."""
    return array("q", values).tobytes()


def _from_block(block: bytes) -> array:
    values = array("q", block)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def _to_block(values: list[int]) -> bytes:
    packed = array("q", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def py_buckets(ts: bytes) -> list[int]:
    """Return the sorted distinct minutes (Unix seconds // 60) of an int64 time array."""
    return sorted({t // 60 for t in array("q", ts)})


def py_dedupe(ts: bytes, fps: bytes, blocks: dict[int, bytes], order: bytes | None = None,
              ) -> tuple[bytes, dict[int, bytes]]:
    """Return (mask, changed): mask[i] is 1 when record i is new; changed maps minute → merged block.

    Of several records with one fingerprint in the batch, the first by `order` (else by index) is new.
    """
    times, prints = array("q", ts), array("q", fps)
    if len(times) != len(prints):
        raise ValueError("ts and fps must be int64 arrays of one length")
    ranks = array("q", order) if order is not None else None
    if ranks is not None and len(ranks) != len(times):
        raise ValueError("order must be an int64 array as long as ts")
    indexes = sorted(range(len(times)), key=ranks.__getitem__) if ranks is not None else range(len(times))
    mask = bytearray(len(times))
    seen: dict[int, set[int]] = {}
    added: dict[int, list[int]] = {}
    for index in indexes:
        t, fp = times[index], prints[index]
        minute = t // 60
        known = seen.get(minute)
        if known is None:
            known = seen[minute] = set(_from_block(blocks[minute])) if blocks.get(minute) else set()
        if fp in known:
            continue
        known.add(fp)
        mask[index] = 1
        added.setdefault(minute, []).append(fp)
    changed = {}
    for minute, new in added.items():
        old = list(_from_block(blocks[minute])) if blocks.get(minute) else []
        changed[minute] = _to_block(sorted(old + new))
    return bytes(mask), changed


def py_count_groups(group_of: bytes, mask: bytes, ngroups: int) -> list[int]:
    """Return, per group index, how many records of that group the mask marks new."""
    counts = [0] * ngroups
    for index, group in enumerate(array("i", group_of)):
        if mask[index]:
            counts[group] += 1
    return counts


buckets = ACCEL.buckets if ACCEL else py_buckets
dedupe = ACCEL.dedupe if ACCEL else py_dedupe
count_groups = ACCEL.count_groups if ACCEL else py_count_groups
