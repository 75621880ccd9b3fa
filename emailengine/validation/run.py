"""Validate addresses: DNS lookups (concurrent, cached per domain) and suppression look-ups,
streamed in chunks so a 100,000-line file runs in bounded memory."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING

from emailengine.validation.rules import (
    DNS_A,
    DNS_ERROR,
    DNS_MX,
    DNS_NONE,
    DNS_NULL_MX,
    DNS_NXDOMAIN,
    Result,
    Syntax,
    check_syntax,
    verdict,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from emailengine.config import Settings

CHUNK = 2000
DOMAIN_CACHE = 50_000


class _LRU(OrderedDict):
    """A small LRU so the domain cache stays bounded on huge files."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: str) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


async def lookup_domain(resolver: object, domain: str) -> str:
    """Return the DNS outcome of a mail domain: mx, a, null-mx, none, nxdomain or error."""
    import dns.exception
    import dns.resolver

    try:
        answer = await resolver.resolve(domain, "MX", raise_on_no_answer=False)  # type: ignore[attr-defined]
        exchanges = [str(r.exchange) for r in answer] if answer.rrset is not None else []
        if exchanges:
            return DNS_NULL_MX if exchanges == ["."] else DNS_MX
        for rdtype in ("A", "AAAA"):
            answer = await resolver.resolve(domain, rdtype, raise_on_no_answer=False)  # type: ignore[attr-defined]
            if answer.rrset is not None and len(answer.rrset):
                return DNS_A
        return DNS_NONE
    except dns.resolver.NXDOMAIN:
        return DNS_NXDOMAIN
    except (dns.exception.DNSException, OSError):
        return DNS_ERROR


async def lookup_domains(resolver: object, domains: Iterable[str], concurrency: int) -> dict[str, str]:
    """Look up domains with at most `concurrency` queries in flight; return {domain: outcome}."""
    gate = asyncio.Semaphore(concurrency)

    async def one(domain: str) -> tuple[str, str]:
        async with gate:
            return domain, await lookup_domain(resolver, domain)

    return dict(await asyncio.gather(*(one(d) for d in domains)))


def suppression_causes(engine: Engine, addresses: list[str]) -> dict[str, str]:
    """Return {address: cause} for the addresses (lowercase) found in the suppressions table."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from emailengine.db.models import Suppression

    found: dict[str, str] = {}
    with Session(engine) as session:
        for start in range(0, len(addresses), 500):
            part = addresses[start:start + 500]
            for email, cause in session.execute(
                select(Suppression.email, Suppression.cause).where(Suppression.email.in_(part))
            ):
                found[email.lower()] = cause
    return found


def _lines(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            yield text


def validate_stream(lines: Iterable[str], settings: Settings, engine: Engine,
                    progress: Callable[[int], None] | None = None, chunk_size: int = CHUNK) -> Iterator[Result]:
    """Yield one Result per non-empty, non-comment input line, in input order.

    Reads chunk_size lines at a time (memory is bounded by the chunk and the domain cache): syntax, then the chunk's new domains resolved concurrently
    (EE_VALIDATE_CONCURRENCY), then one suppression query per 500 addresses.
    """
    from emailengine.integrations.dns import make_async_resolver

    resolver = make_async_resolver(settings)
    cache = _LRU(DOMAIN_CACHE)
    source = _lines(lines)
    while chunk := list(islice(source, chunk_size)):
        checks = [check_syntax(text) for text in chunk]
        new = {c.domain for c in checks if c.ok and c.domain not in cache}
        if new:
            for domain, outcome in asyncio.run(
                lookup_domains(resolver, sorted(new), settings.validate_concurrency)
            ).items():
                cache.put(domain, outcome)
        causes = suppression_causes(engine, sorted({c.normalized.lower() for c in checks if c.ok}))
        for check in checks:
            yield _result(check, cache, causes)
        if progress:
            progress(len(chunk))


def _result(check: Syntax, cache: _LRU, causes: dict[str, str]) -> Result:
    if not check.ok:
        return verdict(check, "")
    return verdict(check, cache.get(check.domain, DNS_ERROR), causes.get(check.normalized.lower(), ""))
