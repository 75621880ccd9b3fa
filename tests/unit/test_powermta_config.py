"""The PowerMTA config parser/writer: byte-for-byte round trip, structure, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emailengine.integrations.powermta.config import (
    Block,
    ConfigParseError,
    Directive,
    Document,
    parse,
    write,
)

REALISTIC = (
    "# ---- operator config ----\r\n"
    "postmaster postmaster@example.com\r\n"
    "host-name mta.example.com   # trailing comment\r\n"
    "run-as-root no\r\n"
    "\r\n"
    "http-mgmt-port 8080\n"
    "http-access 127.0.0.1 monitor\n"
    "\t\n"
    "include /etc/pmta/ee-managed.conf\n"
    "domain-key s2024,example.com,/etc/pmta/dkim/s2024.example.com.pem\n"
    "<source 0/0>\n"
    "    always-allow-relaying yes\n"
    "    process-x-virtual-mta yes\n"
    "</source>\n"
    "<virtual-mta vmta-a>\n"
    "    smtp-source-host 203.0.113.10 mta1.example.com\n"
    "    include /etc/pmta/vmta-a-extra.conf\n"
    "    <domain example.net>\n"
    "        max-msg-rate 50/h\n"
    "    </domain>\n"
    "</virtual-mta>\n"
    "<smtp-pattern-list throttle>\n"
    "    reply /^421 .*try again later/ mode=backoff\n"
    "    reply /blocked using/ mode=backoff,disable-source-ip,reenable-after=1h  # \\x23 not a comment\n"
    "</smtp-pattern-list>\n"
    "<domain *>\n"
    "    retry-after 10m,10m,\\\n"
    "        20m,30m,1h\n"
    "    dkim-sign yes\n"
    "</domain>\n"
    "<acct-file |/usr/local/bin/ee bounce-pipe>\n"
    "    records b,rb,f\n"
    "    record-fields b timeLogged,orig,rcpt,\\\n"
    "      dsnStatus,dsnDiag,header_Message-Id\n"
    "</acct-file>\n"
    "  # indented comment with trailing spaces   \n"
    "<acct-file /var/log/pmta/acct.csv>\n"
    "    move-to /var/log/pmta/acct-done\n"
    "</acct-file>"  # no final newline
)


def test_realistic_round_trip_is_byte_for_byte() -> None:
    assert write(parse(REALISTIC)) == REALISTIC


def test_structure_of_realistic_config() -> None:
    doc = parse(REALISTIC)
    assert doc.includes() == ["/etc/pmta/ee-managed.conf", "/etc/pmta/vmta-a-extra.conf"]
    assert doc.values("host-name") == ["mta.example.com"]
    vmta = doc.blocks("virtual-mta")[0]
    assert vmta.arg == "vmta-a"
    assert vmta.blocks("domain")[0].values("max-msg-rate") == ["50/h"]
    assert doc.blocks("domain")[0].values("retry-after") == ["10m,10m, 20m,30m,1h"]
    pipes = doc.blocks("acct-file")
    assert pipes[0].arg == "|/usr/local/bin/ee bounce-pipe"
    assert pipes[0].values("record-fields")[0].endswith("dsnStatus,dsnDiag,header_Message-Id")


def test_edits_keep_untouched_bytes() -> None:
    doc = parse(REALISTIC)
    doc.children.append(Block("virtual-mta-pool", "pool-x", [Directive("virtual-mta", "vmta-a")]))
    text = write(doc)
    assert text.startswith(REALISTIC)
    assert text.endswith("<virtual-mta-pool pool-x>\n    virtual-mta vmta-a\n</virtual-mta-pool>\n")
    assert parse(text).blocks("virtual-mta-pool")[0].values("virtual-mta") == ["vmta-a"]


@pytest.mark.parametrize("text, message", [
    ("<domain x>\nmax-smtp-out 1\n", "never closed"),
    ("</domain>\n", "unexpected"),
    ("<domain x>\n</virtual-mta>\n", "closes <domain>"),
    ("<domain x\n", "without '>'"),
])
def test_malformed_configs_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigParseError, match=message):
        parse(text)


# ---- generated configs ----
NAMES = st.sampled_from(["max-smtp-out", "include", "retry-after", "dkim-sign", "smtp-source-host", "records"])
VALUES = st.text(alphabet="abcxyz0123/.,-_*= ", min_size=0, max_size=12)
COMMENT = st.text(alphabet="abc #\\<>/ \t", max_size=10).map(lambda t: "#" + t)
INDENT = st.sampled_from(["", "  ", "    ", "\t"])
EOL = st.sampled_from(["\n", "\r\n"])
TAGS = st.sampled_from(["domain", "virtual-mta", "source", "acct-file"])


@st.composite
def lines(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["directive", "comment", "blank", "block", "continued"] if depth < 3
                                else ["directive", "comment", "blank"]))
    pad, eol = draw(INDENT), draw(EOL)
    if kind == "directive":
        tail = draw(st.one_of(st.just(""), COMMENT.map(lambda c: "  " + c)))
        return f"{pad}{draw(NAMES)} {draw(VALUES).strip() or 'x'}{tail}{eol}"
    if kind == "comment":
        return f"{pad}{draw(COMMENT)}{eol}"
    if kind == "blank":
        return f"{pad}{eol}"
    if kind == "continued":
        return f"{pad}{draw(NAMES)} a,\\{eol}{draw(INDENT)}b,c{eol}"
    tag = draw(TAGS)
    body = "".join(draw(st.lists(lines(depth + 1), max_size=4)))
    return f"{pad}<{tag} {draw(VALUES).strip() or '*'}>{eol}{body}{pad}</{tag}>{eol}"


@settings(max_examples=150, deadline=None)
@given(st.lists(lines(), max_size=8), st.booleans())
def test_generated_configs_round_trip(parts: list[str], strip_last_newline: bool) -> None:
    text = "".join(parts)
    if strip_last_newline:
        text = text.rstrip("\r\n")
    doc = parse(text)
    assert isinstance(doc, Document)
    assert write(doc) == text
