"""The bounce pipeline against real databases (SQLite and PostgreSQL): imports, effects,
re-imports, the real `ee bounce-pipe` process (trickle, SIGTERM, kill -9, database down)."""

from __future__ import annotations

import csv
import io
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from emailengine.bounces import last_record_at, pipe_counters
from emailengine.bounces.importer import import_files
from emailengine.config import load_settings
from tests.fakes.bounces import TcpProxy, accounting

EE = str(Path(sys.executable).parent / "ee")


def type_counts(data: bytes) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in csv.reader(io.StringIO(data.decode())):
        if row and row[0] != "type":
            counts[row[0]] = counts.get(row[0], 0) + 1
    return counts


def snapshot(engine) -> dict:
    with engine.connect() as connection:
        q = lambda sql: connection.execute(sa.text(sql)).all()  # noqa: E731
        return {
            "by_type": dict(q("SELECT record_type, sum(count) FROM bounce_counts GROUP BY record_type")),
            "stats": tuple(q("SELECT sum(delivered), sum(deferred), sum(rep_deferred), sum(hard), sum(soft), "
                             "sum(block), sum(complaints) FROM delivery_stats")[0]),
            "bounces": q("SELECT count(*) FROM bounces")[0][0],
            "fingerprints": q("SELECT coalesce(sum(length(fps)), 0) / 8 FROM bounce_fingerprint_blocks")[0][0],
            "suppressions": q("SELECT count(*) FROM suppressions")[0][0],
            "outbox": q("SELECT count(*) FROM outbox")[0][0],
        }


def settings_for(tmp_path: Path):
    return load_settings(spool_dir=tmp_path / "spool")


def test_import_counts_exactly_and_a_second_import_changes_nothing(engine, tmp_path):
    data = accounting(3000)
    path = tmp_path / "acct.csv"
    path.write_bytes(data)
    first = import_files([path], settings_for(tmp_path), engine)
    before = snapshot(engine)
    second = import_files([path], settings_for(tmp_path), engine)
    assert first.new == 3000 and first.rejects == 0
    assert second.new == 0 and second.duplicates == 3000
    assert snapshot(engine) == before
    assert {k: int(v) for k, v in before["by_type"].items()} == type_counts(data)
    assert before["fingerprints"] == 3000
    delivered = type_counts(data)["d"]
    assert before["stats"][0] == delivered


def test_gzip_import_equals_plain_import(engine, tmp_path):
    import gzip

    data = accounting(500, seed=3)
    path = tmp_path / "acct.csv.gz"
    path.write_bytes(gzip.compress(data))
    result = import_files([path], settings_for(tmp_path), engine)
    assert result.new == 500


EFFECTS = (
    "type,timeLogged,orig,rcpt,dsnStatus,dsnDiag,dsnMta,bounceCat,dlvSourceIp,vmta,header_Message-Id,"
    "header_X-Mw-Campaign-Uid,header_X-Mw-Subscriber-Uid,feedbackType\r\n"
    "b,2024-05-14 09:12:09+0000,o1@b.example.com,NoSuchUser@Gmail.com,5.1.1 (bad destination mailbox address),"
    "\"smtp;550-5.1.1 The email account that you tried to reach does not exist. - gsmtp\",gmail-smtp-in.l.google.com "
    "(1.2.3.4),bad-mailbox,198.51.100.10,vmta-10,<m1@x>,cmp1,sub1,\r\n"
    "f,2024-05-14 11:02:55+0000,,,,,,,203.0.113.250,,<m2@x>,cmp2,sub2,abuse\r\n"
    "b,2024-05-01 10:00:00+0000,o2@b.example.com,full@example.org,5.2.2 (mailbox full),smtp;552 5.2.2 Mailbox full,,"
    "quota-issues,198.51.100.11,vmta-11,<m3@x>,cmp3,sub3,\r\n"
    "b,2024-05-05 10:00:00+0000,o3@b.example.com,full@example.org,5.2.2 (mailbox full),smtp;552 5.2.2 Mailbox full,,"
    "quota-issues,198.51.100.11,vmta-11,<m4@x>,cmp3,sub3,\r\n"
    "t,2024-05-06 10:00:00+0000,o4@b.example.com,full@example.org,4.2.2 (mailbox full),smtp;452 4.2.2 Mailbox full,,"
    "quota-issues,198.51.100.11,vmta-11,<m5@x>,cmp3,sub3,\r\n"
    "b,2024-05-10 10:00:00+0000,o5@b.example.com,full@example.org,5.2.2 (mailbox full),smtp;552 5.2.2 Mailbox full,,"
    "quota-issues,198.51.100.11,vmta-11,<m6@x>,cmp3,sub3,\r\n"
    "b,2024-05-14 10:00:00+0000,o6@b.example.com,blocked@example.org,5.7.1 (refused),\"smtp;554 5.7.1 Service "
    "unavailable; Client host [198.51.100.11] blocked using zen.spamhaus.org\",,spam-related,198.51.100.11,vmta-11,,,,\r\n"
)


def test_effects_suppressions_outbox_soft_rule_and_stats(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("EE_MAILWIZZ_API_URL", "http://127.0.0.1:9/api")
    path = tmp_path / "acct.csv"
    path.write_bytes(EFFECTS.encode())
    result = import_files([path], load_settings(spool_dir=tmp_path / "spool"), engine)
    with engine.connect() as connection:
        suppressions = dict(connection.execute(sa.text("SELECT email, cause FROM suppressions")).all())
        outbox = connection.execute(sa.text(
            "SELECT event_id, destination, event_type, email, payload, status FROM outbox ORDER BY id")).all()
        stats = connection.execute(sa.text(
            "SELECT source_ip, sum(hard), sum(soft), sum(block), sum(complaints), sum(deferred) FROM delivery_stats "
            "GROUP BY source_ip ORDER BY source_ip")).all()
    assert result.new == 7
    # hard → suppressed; 3 soft b within 15 days → suppressed (the t record never counts); block → not
    assert suppressions == {"nosuchuser@gmail.com": "hard", "full@example.org": "soft"}
    kinds = sorted((row.event_type, row.destination) for row in outbox)
    assert kinds == sorted([(kind, dest) for kind in ("hard_bounce", "complaint", "soft_bounce_suppressed")
                            for dest in ("scraper", "mailwizz")])
    import json

    complaint = next(json.loads(r.payload) if isinstance(r.payload, str) else r.payload
                     for r in outbox if r.event_type == "complaint")
    assert set(complaint) == {"id", "type", "email", "reason", "status", "diag", "occurred_at", "source_ip", "vmta",
                              "campaign_uid", "subscriber_uid", "message_id"}
    assert (complaint["campaign_uid"], complaint["subscriber_uid"], complaint["message_id"]) == ("cmp2", "sub2", "<m2@x>")
    assert complaint["occurred_at"] == "2024-05-14T11:02:55Z" and complaint["source_ip"] == ""
    assert all(row.status == "pending" for row in outbox)
    by_ip = {row[0]: tuple(int(v) for v in row[1:]) for row in stats}
    assert by_ip["198.51.100.10"] == (1, 0, 0, 0, 0)
    assert by_ip["198.51.100.11"] == (0, 3, 1, 0, 1)
    assert by_ip[""] == (0, 0, 0, 1, 0)
    # importing again adds no event and no suppression
    import_files([path], load_settings(spool_dir=tmp_path / "spool"), engine)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM outbox")).scalar() == 6


# ------------------------------------------------------------------ the real process


def pipe_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EE_") or k.startswith("EE_TEST_")}
    env.update({"EE_DATABASE_URL": db_url, "EE_SPOOL_DIR": str(tmp_path / "spool"),
                "EE_ENV_FILE": str(tmp_path / "empty.env"), "EE_METRICS_TEXTFILE_DIR": str(tmp_path / "metrics")})
    return env


def start_pipe(db_url: str, tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([EE, "bounce-pipe", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=pipe_env(db_url, tmp_path))


def wait_for(predicate, timeout: float, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def committed(engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT coalesce(sum(count), 0) FROM bounce_counts")).scalar())


def test_pipe_commits_a_lone_record_within_one_second_and_exits_0_on_sigterm(engine, use_db, tmp_path):
    data = accounting(1)
    header, record = data.split(b"\r\n", 1)
    pipe = start_pipe(use_db, tmp_path)
    pipe.stdin.write(header + b"\r\n")
    pipe.stdin.flush()
    assert wait_for(lambda: list((tmp_path / "spool").glob("*.acct")), 20)  # the process is up
    time.sleep(0.3)
    pipe.stdin.write(record)
    pipe.stdin.flush()
    started = time.monotonic()
    assert wait_for(lambda: committed(engine) == 1, 5)
    elapsed = time.monotonic() - started
    pipe.send_signal(signal.SIGTERM)
    assert pipe.wait(20) == 0
    assert elapsed < 1.0, elapsed
    assert committed(engine) == 1
    assert not list((tmp_path / "spool").glob("*.acct"))  # fully committed segment is removed
    with engine.connect() as connection:
        from sqlalchemy.orm import Session

        with Session(bind=connection) as session:
            assert last_record_at(session) is not None
            assert pipe_counters(session)["records"] == 1
    assert list((tmp_path / "metrics").glob("ee_bounce_pipe.prom"))


def test_kill_9_mid_stream_then_restart_and_import_the_whole_file_gives_exact_counts(engine, use_db, tmp_path):
    data = accounting(6000, seed=11)
    path = tmp_path / "acct.csv"
    path.write_bytes(data)
    cut = data.index(b"\r\n", len(data) // 2) + 2
    pipe = start_pipe(use_db, tmp_path)
    pipe.stdin.write(data[:cut])
    pipe.stdin.flush()
    assert wait_for(lambda: committed(engine) > 0, 30)
    pipe.kill()
    pipe.wait(10)
    assert list((tmp_path / "spool").glob("*.acct"))  # the spool survived
    # a new pipe replays the dead one's uncommitted spool, then reads its own stdin
    header = data.split(b"\r\n", 1)[0] + b"\r\n"
    second = start_pipe(use_db, tmp_path)
    out, err = second.communicate(header + data[cut:], timeout=120)
    assert second.returncode == 0, err.decode()[-2000:]
    assert snapshot(engine)["fingerprints"] == 6000
    before = snapshot(engine)
    import_files([path], settings_for(tmp_path), engine)  # the operator's backfill
    after = snapshot(engine)
    assert after == before
    assert {k: int(v) for k, v in after["by_type"].items()} == type_counts(data)
    assert not list((tmp_path / "spool").glob("*.acct"))


@pytest.mark.postgres
def test_database_down_mid_stream_loses_nothing_and_never_blocks_the_pipe(pg_url, tmp_path):
    from sqlalchemy.engine import make_url

    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import upgrade

    url = make_url(pg_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = create_engine_for(pg_url)
    upgrade(engine, "head")
    data = accounting(4000, seed=5)
    first_cut = data.index(b"\r\n", len(data) // 3) + 2
    second_cut = data.index(b"\r\n", 2 * len(data) // 3) + 2
    pipe = start_pipe(proxied, tmp_path)
    try:
        pipe.stdin.write(data[:first_cut])
        pipe.stdin.flush()
        assert wait_for(lambda: committed(engine) > 0, 30)
        proxy.stop()
        started = time.monotonic()
        pipe.stdin.write(data[first_cut:second_cut])  # 120 KB+: more than a pipe buffer
        pipe.stdin.flush()
        assert time.monotonic() - started < 2.0  # the pipe kept reading
        assert wait_for(lambda: sum(p.stat().st_size for p in (tmp_path / "spool").glob("*.acct")) >= second_cut, 10)
        time.sleep(1.0)
        proxy.start()
        pipe.stdin.write(data[second_cut:])
        pipe.stdin.close()
        assert pipe.wait(90) == 0
    finally:
        if pipe.poll() is None:
            pipe.kill()
        proxy.stop()
    assert snapshot(engine)["fingerprints"] == 4000
    assert {k: int(v) for k, v in snapshot(engine)["by_type"].items()} == type_counts(data)
    engine.dispose()


@pytest.mark.postgres
def test_pipe_on_an_outdated_schema_says_run_db_upgrade_and_keeps_what_it_read(pg_url, tmp_path):
    """The engine opens while stdin is read: an error opening it still ends the pipe with one line
    and a non-zero exit, and what was read stays in the spool for the start after `ee db upgrade`."""
    from emailengine.db.engine import create_engine_for
    from emailengine.db.migrate import upgrade

    engine = create_engine_for(pg_url)
    upgrade(engine, "0001")
    data = accounting(300, seed=8)
    pipe = start_pipe(pg_url, tmp_path)
    _, err = pipe.communicate(data, timeout=60)
    assert pipe.returncode == 2
    assert err.decode().strip().splitlines() == [err.decode().strip()] and "run `ee db upgrade`" in err.decode()
    assert "Traceback" not in err.decode()
    assert sum(p.stat().st_size for p in (tmp_path / "spool").glob("*.acct")) == len(data)
    assert not (tmp_path / "spool" / "rejects.log").exists()
    upgrade(engine, "head")
    second = start_pipe(pg_url, tmp_path)
    _, err = second.communicate(b"", timeout=60)
    assert second.returncode == 0, err.decode()[-2000:]
    assert {k: int(v) for k, v in snapshot(engine)["by_type"].items()} == type_counts(data)
    assert not list((tmp_path / "spool").glob("*.acct"))
    engine.dispose()


def test_fingerprints_older_than_the_retention_are_pruned(engine, tmp_path):
    from emailengine.bounces.queries import prune_fingerprints

    path = tmp_path / "acct.csv"
    path.write_bytes(accounting(300, seed=2, start=1_700_000_000))
    import_files([path], settings_for(tmp_path), engine)
    assert prune_fingerprints(engine, 90, 1_700_000_000 + 89 * 86400) == 0
    assert prune_fingerprints(engine, 90, 1_700_000_000 + 91 * 86400) == 300
    assert snapshot(engine)["fingerprints"] == 0


def test_a_record_twice_in_one_file_counts_once(engine, tmp_path):
    data = accounting(50, seed=8)
    header, body = data.split(b"\r\n", 1)
    path = tmp_path / "acct.csv"
    path.write_bytes(header + b"\r\n" + body + body)
    result = import_files([path], settings_for(tmp_path), engine)
    assert (result.new, result.duplicates) == (50, 50)
    assert {k: int(v) for k, v in snapshot(engine)["by_type"].items()} == type_counts(data)


def _import_into_sqlite(tmp_path: Path, name: str, path: Path, pure_python: bool) -> dict:
    """Run `ee bounces import` in a fresh process (optionally without the compiled scanner); return the tables."""
    database = tmp_path / f"{name}.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EE_")}
    env.update({"EE_DATABASE_URL": f"sqlite:///{database}", "EE_SPOOL_DIR": str(tmp_path / f"{name}-spool"),
                "EE_ENV_FILE": str(tmp_path / "empty.env")})
    (tmp_path / "empty.env").write_text("")
    block = "import sys; sys.modules['emailengine.bounces._accel'] = None; " if pure_python else ""
    probe = ("from emailengine.bounces.fingerprints import ACCEL; import sys; "
             "sys.stderr.write('accel=%s\\n' % (ACCEL is not None)); ")
    code = f"{block}{probe}from emailengine.__main__ import main; sys.argv = ['ee', 'bounces', 'import', {str(path)!r}]; main()"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"accel={not pure_python}" in done.stderr
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        q = lambda sql: sorted(tuple(row) for row in connection.execute(sa.text(sql)).all())  # noqa: E731
        tables = {
            "counts": q("SELECT hour, record_type, bounce_class, reason, source_ip, provider, count FROM bounce_counts"),
            "stats": q("SELECT * FROM delivery_stats"),
            "bounces": q("SELECT fingerprint, occurred_at, record_type, bounce_class, reason, rcpt, source_ip, vmta, "
                         "provider, status, diag, bounce_cat, message_id, campaign_uid, subscriber_uid FROM bounces"),
            "suppressions": q("SELECT email, cause, reason, source_ip, first_at, last_at FROM suppressions"),
            "outbox": q("SELECT event_id, destination, event_type, email, payload FROM outbox"),
            "fingerprints": q("SELECT bucket, fps FROM bounce_fingerprint_blocks"),
        }
    engine.dispose()
    return tables


def test_the_compiled_scanner_and_the_python_reader_store_the_same(tmp_path):
    data = accounting(4000, seed=11)
    header = data.split(b"\n", 1)[0]
    odd = [
        b'd,2024-05-14T01:26:40Z,' + b',' * (header.count(b",") - 1),  # a time only the Python reader parses
        b"garbage line with no commas",
        b"x" * 300_000,  # absurd length
        b'\xff\xfe,bad utf-8',
    ]
    path = tmp_path / "acct.csv"
    # CRLF for some records, odd lines in the middle, and the whole file twice (duplicates count once)
    body = data.replace(b"\n", b"\r\n", 200)
    path.write_bytes(body + b"\n".join(odd) + b"\n" + data)
    compiled = _import_into_sqlite(tmp_path, "compiled", path, pure_python=False)
    python = _import_into_sqlite(tmp_path, "python", path, pure_python=True)
    assert sum(row[-1] for row in compiled["counts"]) >= 4000
    assert compiled["bounces"] and compiled["outbox"] and compiled["fingerprints"]
    for table in compiled:
        assert compiled[table] == python[table], table


def _reordered(data: bytes) -> bytes:
    """The same accounting file with the columns after `type` reversed (a restart with a new record-fields list)."""
    rows = list(csv.reader(io.StringIO(data.decode())))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([row[:1] + list(reversed(row[1:])) for row in rows])
    return out.getvalue().encode()


def test_pipe_rotates_spool_segments_and_keeps_the_header_in_force(engine, tmp_path, monkeypatch):
    from emailengine.bounces import run

    monkeypatch.setattr(run, "SEGMENT_MAX_BYTES", 60_000)  # about 150 records per segment
    rotations = []
    rotate = run.Pipe._rotate
    monkeypatch.setattr(run.Pipe, "_rotate", lambda self, *a: rotations.append(a[1]) or rotate(self, *a))
    first, second = accounting(700, seed=21), _reordered(accounting(700, seed=22))
    settings = settings_for(tmp_path)
    read_end, write_end = os.pipe()

    def feed() -> None:
        # As PowerMTA writes: whole records, in writes of at most PIPE_BUF bytes (atomic), so every
        # read ends at a record's end — the only place the spool may rotate.
        with os.fdopen(write_end, "wb", buffering=0) as stream:
            for data in (first, second):
                chunk = b""
                for line in data.splitlines(keepends=True):
                    if len(chunk) + len(line) > select.PIPE_BUF:
                        stream.write(chunk)
                        chunk = b""
                    chunk += line
                stream.write(chunk)

    import threading

    feeder = threading.Thread(target=feed)
    feeder.start()
    result = run.run_pipe(settings, engine, read_end)
    feeder.join()
    os.close(read_end)
    expected = type_counts(first)
    for kind, n in type_counts(_reordered(second)).items():  # reversing twice gives the original order back
        expected[kind] = expected.get(kind, 0) + n
    assert result.rejects == 0 and result.new == 1400
    assert {k: int(v) for k, v in snapshot(engine)["by_type"].items()} == expected
    assert not list((tmp_path / "spool").glob("*.acct"))  # every segment committed and deleted
    assert len(rotations) >= 4 and {header.split(b",")[1] for header in rotations} == {b"timeLogged", b"reportedDomain"}


def test_a_hard_bounce_dated_after_year_9999_is_rejected_not_a_crash(engine, tmp_path):
    data = accounting(50, seed=31)
    header, first, rest = data.split(b"\r\n", 2)
    cells = next(csv.reader([rest.split(b"\r\n", 1)[0].decode()]))
    names = header.decode().split(",")
    cells[names.index("type")], cells[names.index("timeLogged")] = "b", "999999999999"
    cells[names.index("dsnStatus")] = "5.1.1 (bad destination mailbox address)"
    line = io.StringIO()
    csv.writer(line, lineterminator="\r\n").writerow(cells)
    path = tmp_path / "acct.csv"
    path.write_bytes(data + line.getvalue().encode())
    result = import_files([path], settings_for(tmp_path), engine)
    assert result.new == 50 and result.rejects == 1
    assert "unreadable timeLogged" in (tmp_path / "spool" / "rejects.log").read_text()


def test_over_long_source_ip_and_vmta_are_cut_to_fit_not_a_failing_batch(engine, tmp_path):
    header = "type,timeLogged,orig,rcpt,dsnStatus,dsnDiag,dlvSourceIp,vmta\n"
    now = int(time.time()) // 3600 * 3600 - 86400
    rows = [f"d,{now},a@x.com,b@gmail.com,2.0.0,smtp;250 ok,{'1' * 60},v1\n",
            f"b,{now + 1},a@x.com,c@gmail.com,5.1.1 (bad),smtp;550 5.1.1 user unknown,{'2' * 60},{'v' * 80}\n",
            f"t,{now + 2},a@x.com,d@gmail.com,4.2.0,smtp;421 try later,{'3' * 60},{'w' * 80}\n"]
    path = tmp_path / "acct.csv"
    path.write_text(header + "".join(rows))
    result = import_files([path], settings_for(tmp_path), engine)
    assert (result.new, result.rejects, result.suppressed) == (3, 0, 1)
    with engine.connect() as connection:
        ips = {row[0] for row in connection.execute(sa.text("SELECT source_ip FROM delivery_stats"))}
        vmtas = {row[0] for row in connection.execute(sa.text("SELECT vmta FROM delivery_stats"))}
        suppressed_ip = connection.execute(sa.text("SELECT source_ip FROM suppressions")).scalar()
    assert ips == {"1" * 45, "2" * 45, "3" * 45} and vmtas == {"v1", "v" * 64, "w" * 64}
    assert suppressed_ip == "2" * 45


def poison_bounces(monkeypatch, data: bytes) -> int:
    """Make storing the bounce rows of one recipient of `data` fail (not a database error), as an
    unforeseen record would; return how many records of `data` carry that recipient in rows."""
    from emailengine.bounces import ingest

    poison = next(line for line in data.split(b"\r\n")[1:] if line.startswith(b"b,"))
    rcpt = next(csv.reader([poison.decode()]))[data.split(b"\r\n")[0].decode().split(",").index("rcpt")]
    bounces = ingest.Store._bounces

    def fragile(self, cursor, plan, now):  # noqa: ANN001, ANN202
        # the planned bounce rows (SQLite) or their COPY text (PostgreSQL): rcpt is the 6th column
        emails = {row[5] for row in plan.bounces}
        emails |= {line.split("\t")[5] for line in plan.texts.get("bounces", b"").decode().splitlines()}
        if rcpt.strip().lower() in emails:
            raise ValueError(f"cannot handle {rcpt}")
        return bounces(self, cursor, plan, now)

    monkeypatch.setattr(ingest.Store, "_bounces", fragile)
    return sum(1 for line in data.split(b"\r\n")[1:] if rcpt.encode() in line and line.startswith((b"b,", b"rb,", b"f,")))


def test_a_record_that_fails_its_batch_is_rejected_and_the_rest_stored(engine, tmp_path, monkeypatch):
    """A batch failing for a reason other than the database (a record nothing foresaw) must not
    stop the pipe forever: its records are stored one by one and the one that fails is rejected."""
    from emailengine.bounces import run

    data = accounting(300, seed=41)
    same_rcpt = poison_bounces(monkeypatch, data)
    path = tmp_path / "acct.csv"
    path.write_bytes(data)
    with path.open("rb") as stdin:
        result = run.run_pipe(settings_for(tmp_path), engine, stdin.fileno())
    assert result.rejects == same_rcpt and result.new == 300 - same_rcpt
    assert "cannot be stored: cannot handle" in (tmp_path / "spool" / "rejects.log").read_text()
    assert not list((tmp_path / "spool").glob("*.acct"))  # the position moved past it: nothing replays
    assert sum(int(v) for v in snapshot(engine)["by_type"].values()) == 300 - same_rcpt


def _tables(engine) -> dict:
    with engine.connect() as connection:
        q = lambda sql: sorted(tuple(row) for row in connection.execute(sa.text(sql)).all())  # noqa: E731
        return {
            "counts": q("SELECT record_type, bounce_class, reason, source_ip, provider, sum(count) FROM bounce_counts "
                        "GROUP BY record_type, bounce_class, reason, source_ip, provider"),
            "stats": q("SELECT source_ip, provider, vmta, sum(delivered), sum(deferred), sum(hard), sum(soft), "
                       "sum(block), sum(complaints) FROM delivery_stats GROUP BY source_ip, provider, vmta"),
            "bounces": q("SELECT fingerprint, record_type, bounce_class, rcpt, diag, message_id FROM bounces"),
            "suppressions": q("SELECT email, cause, reason FROM suppressions"),
            "outbox": q("SELECT event_id, destination, event_type, email FROM outbox"),
        }


def test_a_batch_planned_ahead_is_replanned_when_part_of_it_was_stored_before(engine, tmp_path):
    """The pipe's parser may plan a batch taking every record for new; when the claim finds some
    stored already (an earlier import), the transaction writes only the new ones, the same
    tables as one import of the whole file."""
    from datetime import UTC, datetime

    from emailengine.bounces.importer import make_store
    from emailengine.bounces.ingest import BatchBuilder
    from emailengine.bounces.pieces import header_names
    from emailengine.bounces.scan import batch_from_piece
    from emailengine.db.models import Base

    data = accounting(3000, seed=23)
    header, body = data.split(b"\n", 1)
    first = b"\n".join(body.split(b"\n")[:1000]) + b"\n"
    names = header_names(header + b"\n")
    store = make_store(settings_for(tmp_path), engine)

    def planned(records: bytes):
        batch = batch_from_piece(names, records, BatchBuilder())
        batch.plan = store.plan(batch)
        return batch

    whole = store.write(planned(body), datetime.now(UTC))  # reference: the whole file, all new
    reference = _tables(engine)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in ("bounce_counts", "delivery_stats", "bounces", "suppressions", "outbox",
                              "bounce_fingerprint_blocks"):
                connection.execute(table.delete())

    store.write(batch_from_piece(names, first, BatchBuilder()), datetime.now(UTC))
    batch = planned(body)
    rest = store.write(batch, datetime.now(UTC))
    assert batch.plan.mask.count(0) == 0  # the plan made ahead took every record for new
    assert whole.new == 3000 and rest.new == 2000 and rest.duplicates == 1000
    assert _tables(engine) == reference
    assert reference["bounces"] and reference["outbox"] and reference["suppressions"]


def test_import_stores_a_failing_batch_record_by_record_and_rejects_the_record_that_fails(engine, tmp_path,
                                                                                          monkeypatch):
    """`ee bounces import` does what the pipe does with a batch that fails for a reason other than
    the database: its records are stored one by one, the one that fails is rejected with the error."""
    data = accounting(300, seed=43)
    same_rcpt = poison_bounces(monkeypatch, data)
    path = tmp_path / "acct.csv"
    path.write_bytes(data)
    result = import_files([path], settings_for(tmp_path), engine, reject_file=tmp_path / "rejects.log")
    assert same_rcpt >= 1
    assert result.rejects == same_rcpt and result.new == 300 - same_rcpt and result.records == 300 - same_rcpt
    assert (tmp_path / "rejects.log").read_text().count("cannot be stored: cannot handle") == same_rcpt
    assert sum(int(v) for v in snapshot(engine)["by_type"].values()) == 300 - same_rcpt
    again = import_files([path], settings_for(tmp_path), engine, reject_file=tmp_path / "rejects.log")
    assert again.new == 0 and again.rejects == same_rcpt  # the rest is stored: nothing counts twice
