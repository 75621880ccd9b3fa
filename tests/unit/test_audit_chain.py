"""Hash-chain verification catches edited, deleted and reordered rows."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from emailengine.audit import GENESIS, AuditRow, first_broken, row_hash


def _chain(n: int) -> list[AuditRow]:
    rows, prev = [], GENESIS
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        at = start + timedelta(minutes=i)
        digest = row_hash(prev, i, at, "alice", "ip.add", f"192.0.2.{i}", None, {"state": "WARMING"})
        rows.append(AuditRow(i, at, "alice", "ip.add", f"192.0.2.{i}", None, {"state": "WARMING"}, prev, digest))
        prev = digest
    return rows


def test_intact_chain_verifies():
    assert first_broken(_chain(5)) is None
    assert first_broken([]) is None


def test_edited_row_is_found():
    rows = _chain(5)
    rows[2] = replace(rows[2], actor="mallory")
    broken = first_broken(rows)
    assert broken is not None and broken[0].id == 3 and "edited" in broken[1]


def test_deleted_row_is_found():
    rows = _chain(5)
    del rows[1]
    broken = first_broken(rows)
    assert broken is not None and broken[0].id == 3 and "deleted" in broken[1]


def test_reordered_rows_are_found():
    rows = _chain(5)
    rows[1], rows[2] = rows[2], rows[1]
    broken = first_broken(rows)
    assert broken is not None and broken[0].id == 3


def test_rehashing_one_row_after_an_edit_still_breaks_the_next_link():
    rows = _chain(4)
    edited = replace(rows[1], target="203.0.113.9")
    rows[1] = replace(edited, hash=row_hash(edited.prev_hash, 2, edited.at, edited.actor, edited.action,
                                            edited.target, edited.before, edited.after))
    broken = first_broken(rows)
    assert broken is not None and broken[0].id == 3
