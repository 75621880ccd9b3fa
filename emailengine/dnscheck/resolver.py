"""The small resolver interface every pure dnscheck module takes, and its dnspython adapter.

The pure checks (spf, dkim, dmarc, ptr, mx) never import dnspython: they call
`resolver.query(name, rdtype)` and get an `Answer`, or a `DnsTempError` when the answer is
unknown (SERVFAIL, REFUSED, timeout). "Absent" (NXDOMAIN, NODATA) and "unknown" are kept apart
everywhere, so a DNS outage is never mistaken for a missing record (or for a passing one).

Record shapes in `Answer.records`, per type:
    TXT   tuple[bytes, ...]  the character-strings of one RR, unjoined
    A/AAAA str               the address text
    MX    (int, str)          preference, exchange (lowercase, no trailing dot; "" = root)
    PTR/CNAME/NS str          the target name (lowercase, no trailing dot)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import dns.resolver

    from emailengine.config import Settings


class DnsTempError(Exception):
    """The DNS could not answer (SERVFAIL, REFUSED, timeout): the truth is unknown."""

    def __init__(self, name: str, rdtype: str, reason: str) -> None:
        super().__init__(f"{rdtype} {name}: {reason}")
        self.name, self.rdtype, self.reason = name, rdtype, reason


@dataclass(frozen=True)
class Answer:
    """One query's outcome: NXDOMAIN, or NOERROR with zero or more records."""

    name: str
    rdtype: str
    records: tuple[Any, ...] = ()
    nxdomain: bool = False
    ttl: int | None = None

    @property
    def void(self) -> bool:
        """True when the query found nothing (NXDOMAIN or NOERROR without data): RFC 7208 §4.6.4."""
        return not self.records


class Resolver(Protocol):
    """What the checks need: one query, an Answer back, DnsTempError when unknown."""

    def query(self, name: str, rdtype: str) -> Answer: ...


def txt_strings(answer: Answer) -> list[str]:
    """Given a TXT answer, return each RR's strings joined as bytes then decoded (RFC 7208 §3.3).

    Joining before decoding keeps a UTF-8 character that straddles a string boundary intact;
    undecodable bytes are replaced rather than dropping the record.
    """
    return [b"".join(parts).decode("utf-8", errors="replace") for parts in answer.records]


def normalize_name(name: str) -> str:
    """Return name lowercase without the trailing dot."""
    return name.rstrip(".").lower()


@dataclass
class DnsPythonResolver:
    """Adapter from a dnspython Resolver to the Resolver protocol, with a per-run cache.

    The cache (also of failures) makes one validation run see one consistent view of the DNS
    and ask each question once, even when many checks need the same answer. Thread-safe.
    """

    inner: dns.resolver.Resolver
    cache_enabled: bool = True
    queries: int = 0
    _cache: dict[tuple[str, str], Answer | DnsTempError] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def query(self, name: str, rdtype: str) -> Answer:
        """Resolve name/rdtype; raise DnsTempError on SERVFAIL, REFUSED or timeout."""
        key = (normalize_name(name), rdtype.upper())
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = self._resolve(*key)
            with self._lock:
                self.queries += 1
                if self.cache_enabled:
                    self._cache[key] = cached
        if isinstance(cached, DnsTempError):
            raise cached
        return cached

    def _resolve(self, name: str, rdtype: str) -> Answer | DnsTempError:
        import dns.exception
        import dns.name
        import dns.resolver

        try:
            qname = dns.name.from_text(name or ".")
        except (dns.exception.DNSException, UnicodeError, ValueError):
            # A name that cannot exist on the wire cannot have records.
            return Answer(name, rdtype, nxdomain=True)
        try:
            response = self.inner.resolve(qname, rdtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return Answer(name, rdtype, nxdomain=True)
        except dns.resolver.NoNameservers as error:
            return DnsTempError(name, rdtype, _no_nameservers_reason(error))
        except dns.exception.Timeout:
            return DnsTempError(name, rdtype, "timeout")
        except dns.exception.DNSException as error:
            return DnsTempError(name, rdtype, type(error).__name__)
        rrset = response.rrset
        if rrset is None:
            return Answer(name, rdtype)
        return Answer(name, rdtype, tuple(_record(rdata, rdtype) for rdata in rrset), ttl=rrset.ttl)


def _no_nameservers_reason(error: Exception) -> str:
    text = str(error)
    for rcode in ("SERVFAIL", "REFUSED", "FORMERR", "NOTIMP"):
        if rcode in text:
            return rcode
    return "no nameserver answered"


def _record(rdata: Any, rdtype: str) -> Any:
    if rdtype in ("TXT", "SPF"):
        return tuple(rdata.strings)
    if rdtype == "MX":
        return (int(rdata.preference), normalize_name(rdata.exchange.to_text()))
    if rdtype in ("PTR", "CNAME", "NS"):
        return normalize_name(rdata.target.to_text())
    return rdata.to_text()


def make_resolver(settings: Settings | None = None) -> DnsPythonResolver:
    """Return the protocol resolver over the project's configured dnspython resolver."""
    from emailengine.integrations.dns import make_resolver as make_dnspython_resolver

    return DnsPythonResolver(make_dnspython_resolver(settings))
