"""An in-memory Resolver with the DNSTestServer's semantics, for pure unit tests of dnscheck.

Built from the same (name, type, zone-file text) triples the loopback server takes, so a case
table can run against both: unknown name → NXDOMAIN, known name without the type → NODATA,
`fail` maps names to "servfail"/"timeout" (DnsTempError).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from emailengine.dnscheck.resolver import Answer, DnsTempError, _record, normalize_name


class FakeResolver:
    def __init__(self, records: Iterable[tuple[str, str, str]] = (), fail: dict[str, str] | None = None) -> None:
        self.zone: dict[str, dict[str, list[object]]] = defaultdict(lambda: defaultdict(list))
        self.fail = {normalize_name(k): v for k, v in (fail or {}).items()}
        self.queries: list[tuple[str, str]] = []
        for name, rdtype, text in records:
            self.add(name, rdtype, text)

    def add(self, name: str, rdtype: str, text: str) -> None:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text,
                                    origin=dns.name.root)
        self.zone[normalize_name(name)][rdtype.upper()].append(_record(rdata, rdtype.upper()))

    def query(self, name: str, rdtype: str) -> Answer:
        key = normalize_name(name)
        self.queries.append((key, rdtype))
        if key in self.fail:
            raise DnsTempError(key, rdtype, self.fail[key])
        if key not in self.zone:
            return Answer(key, rdtype, nxdomain=True)
        return Answer(key, rdtype, tuple(self.zone[key].get(rdtype.upper(), [])))
