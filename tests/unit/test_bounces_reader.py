"""The accounting reader: header-driven columns, RFC 4180 records, rejects, times, fuzz (pure)."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from emailengine.bounces.ingest import Batch, BatchBuilder
from emailengine.bounces.reader import (
    Header,
    Reject,
    decode_records,
    fingerprint,
    parse_rows,
    parse_time,
    split_records,
)

HEADER = "type,timeLogged,orig,rcpt,dsnStatus,dsnDiag,dsnMta,bounceCat,dlvSourceIp,vmta,header_message-id,header_X-Foo-Campaign-Uid,header_X-Foo-Subscriber-Uid"


def rows_of(data: bytes, final: bool = True) -> list:
    items, _ = split_records(data, final=final)
    return parse_rows(decode_records(items))


def build(data: bytes) -> Batch:
    batch = Batch()
    BatchBuilder().add(batch, rows_of(data))
    return batch


def test_columns_are_mapped_by_header_name_not_position():
    a = (HEADER + "\r\nd,1715677923,o@x,a@example.net,2.0.0 (success),smtp;250 ok,mx (1.2.3.4),,203.0.113.10,"
         "vmta-a,<m@x>,c1,s1\r\n").encode()
    reordered = (b"type,rcpt,vmta,dlvSourceIp,timeLogged\r\nd,a@example.net,vmta-a,203.0.113.10,1715677923\r\n")
    first, second = build(a), build(reordered)
    assert first.records == second.records == 1
    (key_a,), (key_b,) = first.stats, second.stats
    assert key_a[1:4] == key_b[1:4] == ("203.0.113.10", "other", "vmta-a")


def test_header_columns_case_insensitive_and_uids_by_suffix():
    header = Header(HEADER.split(","))
    record = header.record(["b", "1", "o", "r@x", "5.1.1", "d", "m", "c", "ip", "v", "<mid@x>", "cmp", "sub"])
    assert (record.message_id, record.campaign_uid, record.subscriber_uid) == ("<mid@x>", "cmp", "sub")
    assert not header.has("feedback_type")
    assert header.record(["b"] + [""] * 12).feedback_type == ""


def test_a_new_header_mid_stream_switches_the_map():
    data = (b"type,rcpt,timeLogged\r\nd,a@gmail.com,1715677923\r\n"
            b"type,timeLogged,rcpt,dlvSourceIp\r\nd,1715677924,b@yahoo.com,203.0.113.11\r\n")
    batch = build(data)
    assert batch.records == 2 and not batch.rejects
    lanes = sorted(key[2] for key in batch.stats)
    assert lanes == ["gmail", "yahoo"]


def test_quotes_commas_doubled_quotes_and_crlf_inside_fields():
    diag = 'smtp;554 5.7.1 Service unavailable, client host [203.0.113.11] blocked using "dnsbl.example.org"\r\nsecond line'
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["type", "timeLogged", "rcpt", "dsnStatus", "dsnDiag"])
    writer.writerow(["b", "2024-05-14 09:12:15+0000", "erin@example.org", "5.7.1 (delivery not authorized, message refused)", diag])
    rows = rows_of(buffer.getvalue().encode())
    assert rows[1][4] == diag
    batch = build(buffer.getvalue().encode())
    assert batch.details[0].verdict.reason == "blocked"


def test_unfinished_record_is_left_for_the_next_read():
    data = b'type,rcpt\r\nd,"a\r\nb'
    items, consumed = split_records(data, final=False)
    assert items == [b"type,rcpt\r"]
    assert data[consumed:] == b'd,"a\r\nb'


def test_malformed_lines_become_rejects_and_reading_goes_on():
    lines = [
        b"d,1715677923,x@example.org\r\n",  # before any header
        b"type,timeLogged,rcpt\r\n",
        b"d,1715677923\r\n",  # wrong column count
        b"d,1715677923,\xff\xfe@example.org\r\n",  # bad UTF-8
        b"d,1715677923,a\x00b@example.org\r\n",  # NUL
        b"d,not-a-time,c@example.org\r\n",  # bad time
        b"zz,1715677923,c@example.org\r\n",  # unknown type
        b'd,1715677923,"unterminated\r\n',  # unbalanced quote (final)
        b"d," + b"x" * 300_000 + b"\r\n",  # absurd length
        b"d,1715677923,ok@example.org\r\n",
    ]
    batch = build(b"".join(lines))
    reasons = " | ".join(reject.reason for reject in batch.rejects)
    assert batch.records == 1
    assert len(batch.rejects) == 8, reasons
    for word in ("header", "column count", "UTF-8", "NUL", "timeLogged", "unknown record type", "absurd length"):
        assert word in reasons


def test_both_time_formats_and_variants_give_the_same_instant():
    expected = 1557352445
    assert parse_time("1557352445") == expected
    assert parse_time("2019-05-08 21:54:05+0000") == expected
    assert parse_time("2019-05-08 23:54:05+0200") == expected
    assert parse_time("2019-05-08 17:54:05-0400") == expected
    assert parse_time("2019-05-08T21:54:05Z") == expected
    assert parse_time("05/08/2019 21:54:05+0000") == expected
    assert parse_time("") is None and parse_time("yesterday") is None and parse_time("9" * 30) is None


def test_fingerprint_ignores_the_time_format():
    header = Header(["type", "timeLogged", "rcpt"])
    iso = header.record(["d", "2019-05-08 21:54:05+0000", "a@x"])
    unix = header.record(["d", "1557352445", "a@x"])
    assert fingerprint(iso, 1557352445) == fingerprint(unix, 1557352445)
    assert isinstance(fingerprint(iso, 1557352445), int)


def test_duplicate_records_in_one_batch_count_once():
    data = b"type,timeLogged,rcpt\r\nd,1715677923,a@x\r\nd,1715677923,a@x\r\n"
    batch = build(data)
    assert batch.records == 1 and batch.duplicates_in_batch == 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.booleans())
def test_fuzz_reader_never_crashes_on_bytes(data, final):
    items, consumed = split_records(data, final=final)
    assert 0 <= consumed <= len(data)
    rows = parse_rows(decode_records(items))
    batch = Batch()
    BatchBuilder().add(batch, rows)
    assert batch.records + len(batch.rejects) <= len(rows)


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cell, min_size=3, max_size=3), max_size=20))
def test_fuzz_any_csv_written_by_a_real_writer_reads_back(table):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["type", "timeLogged", "rcpt"])
    writer.writerows(table)
    data = buffer.getvalue().encode()
    items, consumed = split_records(data, final=True)
    rows = [row for row in parse_rows(decode_records(items)) if not isinstance(row, Reject)]
    assert consumed == len(data)
    assert rows[0] == ["type", "timeLogged", "rcpt"]
    assert rows[1:] == table


def test_times_that_no_utc_datetime_can_hold_are_unreadable():
    from datetime import UTC, datetime

    for text in ("0001-01-01 00:00:00+0100", "9999-12-31 23:59:59-0100", "253402300800", "999999999999"):
        assert parse_time(text) is None, text
    for text in ("0001-01-01 00:00:00", "9999-12-31 23:59:59+0000", "253402300799", "1900-01-01 00:00:00"):
        epoch = parse_time(text)
        assert epoch is not None and datetime.fromtimestamp(epoch, UTC).year in (1, 1900, 9999), text
