"""`ee validate email` against a loopback DNS server: MX/A/null MX/NXDOMAIN/SERVFAIL, our
suppressions, files streamed as JSON or TSV, bad input refused."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session


@pytest.fixture
def zones(dns_server):
    for name, rdtype, value in [("example.net", "MX", "10 mx.example.net."), ("mx.example.net", "A", "192.0.2.25"),
                                ("a-only.example", "A", "192.0.2.26"), ("nomail.example", "MX", "0 ."),
                                ("empty.example", "TXT", '"v=spf1 -all"')]:
        dns_server.add(name, rdtype, value)
    dns_server.behave("broken.example", "servfail")
    return dns_server


def test_verdicts_from_dns_and_suppressions(cli, engine, zones):
    from emailengine.db.models import Suppression

    with Session(engine) as session:
        session.add_all([Suppression(email="gone@example.net", cause="hard", reason="bad-mailbox"),
                         Suppression(email="tired@example.net", cause="soft", reason="mailbox-full")])
        session.commit()
    addresses = ["alice@example.net", "bob@a-only.example", "carol@nomail.example", "dave@missing.example",
                 "erin@empty.example", "frank@broken.example", "Gone@Example.NET", "tired@example.net",
                 "postmaster@example.net", "x@@y"]
    result = cli("validate", "email", *addresses, "--json")
    assert result.exit_code == 0, result
    verdicts = {row["address"]: row["verdict"] for row in result.json()}
    assert verdicts == {
        "alice@example.net": "valid", "bob@a-only.example": "valid", "carol@nomail.example": "invalid",
        "dave@missing.example": "invalid", "erin@empty.example": "invalid", "frank@broken.example": "unknown",
        "Gone@Example.NET": "suppressed", "tired@example.net": "risky", "postmaster@example.net": "risky",
        "x@@y": "invalid",
    }
    # One lookup per domain however many addresses share it.
    assert zones.queries.count(("example.net.", "MX")) == 1


def test_file_streams_json_array_in_input_order(cli, use_db, zones, tmp_path):
    path = tmp_path / "list.txt"
    lines = [f"user{n}@example.net" if n % 3 else f"user{n}@missing.example" for n in range(5000)]
    path.write_text("# a comment\n\n" + "\n".join(lines) + "\n")
    result = cli("validate", "email", "--file", str(path), "--json")
    assert result.exit_code == 0, result
    rows = json.loads(result.stdout)
    assert [r["address"] for r in rows] == lines
    assert sum(r["verdict"] == "invalid" for r in rows) == len(range(0, 5000, 3))
    assert "valid: 3333" not in result.stderr  # JSON mode prints no text summary


def test_file_text_output_is_tab_separated_with_counts_on_stderr(cli, use_db, zones, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("alice@example.net\nnot-an-address\n")
    result = cli("validate", "email", "-f", str(path))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "valid\talice@example.net\t"
    assert result.stdout.splitlines()[1].startswith("invalid\tnot-an-address\tsyntax:")
    assert "invalid: 1, valid: 1" in result.stderr


@pytest.mark.parametrize("args", [(), ("a@example.net", "--file", "x.txt"), ("--file", "/nonexistent/list.txt")])
def test_bad_input_is_one_line_usage_error(cli, use_db, args):
    result = cli("validate", "email", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_input_is_consumed_one_chunk_at_a_time(engine, zones):
    """Bounded memory: the first results come out after one chunk is read, not the whole file."""
    from emailengine.config import get_settings
    from emailengine.validation.run import validate_stream

    consumed = 0

    def lines():
        nonlocal consumed
        for n in range(3_000):
            consumed += 1
            yield f"user{n}@example.net\n"

    stream = validate_stream(lines(), get_settings(), engine, chunk_size=500)
    first = next(stream)
    assert first.verdict == "valid" and consumed <= 501
    assert sum(1 for r in stream if r.verdict == "valid") == 2_999
    assert consumed == 3_000
