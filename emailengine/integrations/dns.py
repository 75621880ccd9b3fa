"""The one place that builds dnspython resolvers from settings (sync and asyncio).

Every DNS query `ee` makes (blocklist scans, DNS record checks) goes through a resolver made
here, so `EE_DNS_NAMESERVERS` (host, host:port, [v6]:port) and `EE_DNS_TIMEOUT` mean the same
thing everywhere. Stable API:

    make_resolver(settings)        -> dns.resolver.Resolver
    make_async_resolver(settings)  -> dns.asyncresolver.Resolver
    nameservers(settings)          -> list[(address, port)] as configured

The resolvers have no cache: a blocklist answer or a freshly published record must be seen as
it is now. With no nameservers configured the system configuration (/etc/resolv.conf) is used;
that is allowed, but `ee config check` warns about it for blocklist queries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emailengine.config import Settings, get_settings, parse_nameserver

if TYPE_CHECKING:
    import dns.asyncresolver
    import dns.resolver


def nameservers(settings: Settings | None = None) -> list[tuple[str, int]]:
    """Given settings, return the configured nameservers as (address, port); [] = system default."""
    settings = settings or get_settings()
    return [parse_nameserver(entry) for entry in settings.dns_nameservers]


def _configure(resolver: dns.resolver.BaseResolver, settings: Settings) -> None:
    """Point resolver at the configured nameservers with the configured per-query timeout."""
    import dns.nameserver

    configured = nameservers(settings)
    if configured:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in configured]
    # timeout: one attempt at one server; lifetime: the whole query, so each server gets one try.
    resolver.timeout = settings.dns_timeout
    resolver.lifetime = settings.dns_timeout * max(1, len(resolver.nameservers))
    resolver.cache = None
    resolver.use_edns(0, 0, 1232)


def _new(cls: type, settings: Settings) -> dns.resolver.BaseResolver:
    """Create cls without reading the system configuration when nameservers are configured."""
    import dns.resolver

    if settings.dns_nameservers:
        resolver = cls(configure=False)
    else:
        try:
            resolver = cls(configure=True)
        except dns.resolver.NoResolverConfiguration:
            # No /etc/resolv.conf: fall back to a local resolver rather than crash.
            resolver = cls(configure=False)
            resolver.nameservers = ["127.0.0.1"]
    _configure(resolver, settings)
    return resolver


def make_resolver(settings: Settings | None = None) -> dns.resolver.Resolver:
    """Given settings (default: the process settings), return a synchronous dnspython resolver."""
    import dns.resolver

    return _new(dns.resolver.Resolver, settings or get_settings())  # type: ignore[return-value]


def make_async_resolver(settings: Settings | None = None) -> dns.asyncresolver.Resolver:
    """Given settings (default: the process settings), return an asyncio dnspython resolver."""
    import dns.asyncresolver

    return _new(dns.asyncresolver.Resolver, settings or get_settings())  # type: ignore[return-value]
