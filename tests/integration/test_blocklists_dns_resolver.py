"""integrations/dns.py: resolvers honour EE_DNS_NAMESERVERS (host, host:port) and EE_DNS_TIMEOUT."""

from __future__ import annotations

import asyncio

import dns.resolver
import pytest

from emailengine.config import Settings, get_settings
from emailengine.integrations.dns import make_async_resolver, make_resolver, nameservers


def test_nameservers_parse_host_and_port():
    settings = Settings(dns_nameservers="127.0.0.1:5353 10.0.0.53 [::1]:5300", dns_timeout=1.5)
    assert nameservers(settings) == [("127.0.0.1", 5353), ("10.0.0.53", 53), ("::1", 5300)]
    resolver = make_resolver(settings)
    assert [(ns.address, ns.port) for ns in resolver.nameservers] == nameservers(settings)
    assert resolver.timeout == 1.5
    assert resolver.lifetime == pytest.approx(4.5)  # one try per server
    assert resolver.cache is None


def test_sync_resolver_queries_the_configured_server(dns_server):
    dns_server.add("mx.example.net", "A", "192.0.2.25")
    answer = make_resolver(get_settings()).resolve("mx.example.net.", "A")
    assert [rdata.to_text() for rdata in answer] == ["192.0.2.25"]
    assert ("mx.example.net.", "A") in dns_server.queries


def test_async_resolver_queries_the_configured_server(dns_server):
    dns_server.add("example.net", "TXT", '"v=spf1 -all"')

    async def ask():
        return await make_async_resolver(get_settings()).resolve("example.net.", "TXT")

    answer = asyncio.run(ask())
    assert [rdata.to_text() for rdata in answer] == ['"v=spf1 -all"']


def test_timeout_is_the_configured_one(dns_server):
    dns_server.behave("slow.example.net", "timeout")
    resolver = make_resolver(get_settings())
    assert resolver.timeout == 1.0  # the dns_server fixture sets EE_DNS_TIMEOUT=1
    resolver.lifetime = resolver.timeout = 0.2
    with pytest.raises(dns.resolver.LifetimeTimeout):
        resolver.resolve("slow.example.net.", "A")


def test_unknown_names_get_a_valid_nxdomain_from_the_server_fast_path(dns_server):
    resolver = make_resolver(get_settings())
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("4.3.2.1.zen.spamhaus.org.", "A")
    assert dns_server.query_counts["4.3.2.1.zen.spamhaus.org."] == 1
