"""The RFC 7208 case table again, over the wire: dnspython against the real loopback DNSTestServer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emailengine.config import Settings
from emailengine.dnscheck import spf
from emailengine.dnscheck.resolver import DnsPythonResolver, DnsTempError, make_resolver
from emailengine.standins.dns_server import DNSTestServer
from tests.fakes.spf_cases import CASES, Case


@pytest.fixture(scope="module")
def server() -> Iterator[DNSTestServer]:
    with DNSTestServer() as running:
        yield running


def _resolver(server: DNSTestServer, timeout: float = 1.0) -> DnsPythonResolver:
    return make_resolver(Settings(dns_nameservers=[server.nameserver], dns_timeout=timeout))


def _serve(server: DNSTestServer, case: Case) -> None:
    server.clear()
    for name, rdtype, value in case.zone:
        server.add(name, rdtype, value)
    for name, behaviour in case.fail.items():
        server.behave(name, behaviour)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_check_host_over_real_dns(server: DNSTestServer, case: Case) -> None:
    _serve(server, case)
    result = spf.check_host(_resolver(server), case.ip, case.domain, sender=case.sender, helo=case.helo)
    assert result.result == case.expect, "\n".join(result.trail)


@pytest.mark.parametrize("where", ["example.com", "_spf.example.com"])
def test_timeouts_give_temperror_never_a_verdict(server: DNSTestServer, where: str) -> None:
    server.clear()
    server.add("example.com", "TXT", '"v=spf1 include:_spf.example.com -all"')
    server.behave(where, "timeout")
    result = spf.check_host(_resolver(server, timeout=0.3), "192.0.2.3", "example.com")
    assert result.result == "temperror"
    assert "timeout" in result.explanation


def test_adapter_keeps_nxdomain_nodata_and_failure_apart(server: DNSTestServer) -> None:
    server.clear()
    server.add("example.com", "A", "192.0.2.1")
    server.add("example.com", "TXT", '"part one " "part two"')
    server.add("example.com", "MX", "10 mx.example.com.")
    server.behave("refused.example.com", "refused")
    resolver = _resolver(server)
    assert resolver.query("nowhere.example.com", "A").nxdomain
    nodata = resolver.query("example.com", "AAAA")
    assert not nodata.nxdomain and nodata.void
    assert resolver.query("example.com", "TXT").records == ((b"part one ", b"part two"),)
    assert resolver.query("example.com", "MX").records == ((10, "mx.example.com"),)
    with pytest.raises(DnsTempError, match="REFUSED"):
        resolver.query("refused.example.com", "A")
    asked = server.query_counts["example.com."]
    resolver.query("example.com", "TXT")
    assert server.query_counts["example.com."] == asked  # cached within one run
