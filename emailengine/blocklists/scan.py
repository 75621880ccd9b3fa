"""Asynchronous blocklist lookups: self-test every zone, then ask every (target, zone) pair.

Built on asyncio and dnspython (answer parsing, TCP fallback). Queries go to the nameservers of
`integrations.dns.make_async_resolver(settings)` (EE_DNS_NAMESERVERS, EE_DNS_TIMEOUT) over a
small pool of connected UDP sockets shared by all queries, drained per wake-up: dnspython's
socket per query costs about 0.5 ms of CPU, which capped a scan near 2,000 queries/s. Query
bytes are written here and NXDOMAIN/SERVFAIL/REFUSED are read from the header; answers with
records are parsed by dnspython. See docs/blocklists.md for the figures.

Limits (settings, blocklists section):
  EE_BLOCKLIST_CONCURRENCY  queries in flight at once (workers)
  EE_BLOCKLIST_ZONE_QPS     per zone: sends 1/qps apart and never more than qps in any
                            1-second window, retries and TXT look-ups included
  EE_BLOCKLIST_RETRIES      extra tries after a timeout or SERVFAIL (next nameserver each time)
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emailengine.blocklists.verdict import Answer, Verdict, ZoneHealth, applicable, final_verdict, query_name
from emailengine.blocklists.zones import Zone
from emailengine.logs import logger

if TYPE_CHECKING:
    from emailengine.config import Settings

Progress = Callable[[int, int], None]  # (done, total)
SOCKETS_PER_NAMESERVER = 8
TRANSIENT = ("TIMEOUT", "SERVFAIL", "NETWORK")


@dataclass(frozen=True)
class Target:
    """A thing to look up: an IP address or a domain name (already normalised)."""

    name: str
    kind: str  # ip | domain
    label: str = ""  # what it is to us, e.g. "tracking domain of example.net"


@dataclass
class Result:
    """One (target, zone) verdict."""

    target: Target
    zone: Zone
    verdict: Verdict

    def to_dict(self) -> dict[str, object]:
        return {"target": self.target.name, "target_kind": self.target.kind, "zone": self.zone.zone,
                **self.verdict.to_dict(), "delist_url": self.zone.delist_url if self.verdict.status == "listed" else ""}


@dataclass
class ScanReport:
    """Everything a scan learned: verdicts, zone health, and what it cost."""

    results: list[Result] = field(default_factory=list)
    health: dict[str, ZoneHealth] = field(default_factory=dict)
    queries: int = 0
    retries: int = 0
    seconds: float = 0.0
    max_zone_qps: float = 0.0  # the highest per-zone send rate seen over any 1-second window


class _Pacer:
    """Limit sends to one zone: spaced 1/rate apart, and never more than `rate` sends in any
    1-second window (a hard cap that also holds when the event loop wakes a sleeper late)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.limit = max(1, int(rate))
        self.next_slot = 0.0
        self.recent: deque[float] = deque()
        self.sent: list[float] = []

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
        while len(self.recent) >= self.limit and loop.time() - self.recent[0] < 1.0:
            await asyncio.sleep(self.recent[0] + 1.0 - loop.time())
        moment = loop.time()  # no await between the check above and recording the send
        self.recent.append(moment)
        if len(self.recent) > self.limit:
            self.recent.popleft()
        self.sent.append(moment)

    def peak_rate(self) -> float:
        """Return the most sends seen in any 1-second window (for reports and the benchmark)."""
        peak, start = 0, 0
        for end, moment in enumerate(self.sent):
            while moment - self.sent[start] >= 1.0:
                start += 1
            peak = max(peak, end - start + 1)
        return float(peak)


class _Socket:
    """One connected, non-blocking UDP socket; replies are matched to waiting queries by id.

    Every readable wake-up drains all waiting datagrams (asyncio's datagram transport reads
    one per event-loop pass, which costs a select() call per answer).
    """

    def __init__(self, host: str, port: int, loop: asyncio.AbstractEventLoop) -> None:
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self.loop = loop
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.connect((host, port))  # the kernel drops datagrams from any other address
        loop.add_reader(self.sock.fileno(), self._drain)

    def send(self, data: bytes) -> None:
        self.sock.send(data)

    def _drain(self) -> None:
        while True:
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. ICMP port unreachable: fail what waits here
                self._fail(error)
                return
            if len(data) < 12:
                continue
            waiter = self.pending.pop(int.from_bytes(data[:2], "big"), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(data)

    def _fail(self, error: Exception) -> None:
        for waiter in self.pending.values():
            if not waiter.done():
                waiter.set_exception(error)
        self.pending.clear()

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class DnsClient:
    """Ask A/TXT questions of the configured nameservers; return verdict-ready Answers."""

    def __init__(self, servers: list[tuple[str, int]], timeout: float, retries: int) -> None:
        self.servers = servers
        self.timeout = timeout
        self.retries = retries
        self.sockets: list[list[_Socket]] = []
        self.queries = 0
        self.retried = 0
        self._random, self._random_offset = b"", 0

    def _random_id(self) -> int:
        """Return an unpredictable 16-bit message id (from a refilled os.urandom buffer:
        one system call per 2,048 ids instead of one per id)."""
        if self._random_offset >= len(self._random):
            self._random, self._random_offset = secrets.token_bytes(4096), 0
        self._random_offset += 2
        return int.from_bytes(self._random[self._random_offset - 2:self._random_offset], "big")

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        for host, port in self.servers:
            self.sockets.append([_Socket(host, port, loop) for _ in range(SOCKETS_PER_NAMESERVER)])

    def close(self) -> None:
        for group in self.sockets:
            for sock in group:
                sock.close()

    async def _exchange(self, server: int, qname: str, rdtype: int) -> Answer:
        """Send one query over UDP (TCP when truncated); raise TimeoutError or OSError.

        The query and the common NXDOMAIN/SERVFAIL/REFUSED replies are handled as bytes; a
        reply with records is parsed by dnspython.
        """
        loop = asyncio.get_running_loop()
        query_id = self._random_id()
        sock = self.sockets[server][query_id % SOCKETS_PER_NAMESERVER]
        while query_id in sock.pending:
            query_id = self._random_id()
        question = _question_wire(qname, rdtype)
        waiter: asyncio.Future[bytes] = loop.create_future()
        sock.pending[query_id] = waiter
        expiry = loop.call_later(self.timeout, _expire, waiter)
        try:
            sock.send(query_id.to_bytes(2, "big") + _QUERY_HEADER + question + _OPT_RR)
            wire = await waiter
        finally:
            expiry.cancel()
            sock.pending.pop(query_id, None)
        if not wire[2] & 0x80 or wire[12:12 + len(question)].lower() != question.lower():
            raise OSError("response does not match the query")
        if wire[2] & 0x02:  # truncated: ask again over TCP
            return await self._tcp(server, qname, rdtype)
        rcode = wire[3] & 0x0F
        if rcode in _SIMPLE_RCODES:
            return Answer(_SIMPLE_RCODES[rcode])
        return _parse(wire, rdtype)

    async def _tcp(self, server: int, qname: str, rdtype: int) -> Answer:
        """Ask over TCP with dnspython (for answers too big for UDP)."""
        import dns.asyncquery
        import dns.message

        host, port = self.servers[server]
        query = dns.message.make_query(qname, rdtype)
        response = await dns.asyncquery.tcp(query, host, timeout=self.timeout, port=port)
        return _parse(response.to_wire(), rdtype)

    async def ask(self, qname: str, rdtype: int, pacer: _Pacer) -> Answer:
        """Return the Answer to qname/rdtype, retrying timeouts and SERVFAIL on the next server."""
        import dns.exception

        answer = Answer("OTHER")
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
            await pacer.wait()
            self.queries += 1
            try:
                answer = await self._exchange(attempt % len(self.servers), qname, rdtype)
            except TimeoutError:
                answer = Answer("TIMEOUT", detail=f"no answer within {self.timeout:g}s")
                continue
            except (OSError, ValueError, dns.exception.DNSException) as error:
                answer = Answer("NETWORK", detail=str(error)[:200])
                continue
            if answer.rcode not in TRANSIENT:
                return answer
        return answer


A, TXT = 1, 16
_QUERY_HEADER = b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01"  # RD; 1 question; 1 additional (OPT)
_OPT_RR = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"  # EDNS0, UDP payload 1232
_SIMPLE_RCODES = {3: "NXDOMAIN", 2: "SERVFAIL", 5: "REFUSED"}
_OTHER_RCODES = {1: "FORMERR", 4: "NOTIMP"}


def _question_wire(qname: str, rdtype: int) -> bytes:
    """Return the question section for qname (ASCII, fully qualified); raise ValueError."""
    parts = []
    for label in qname.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError(f"invalid label in {qname!r}")
        parts.append(bytes([len(raw)]) + raw)
    wire = b"".join(parts) + b"\x00"
    if len(wire) > 255:
        raise ValueError(f"query name too long: {qname!r}")
    return wire + rdtype.to_bytes(2, "big") + b"\x00\x01"


def _parse(wire: bytes, rdtype: int) -> Answer:
    """Parse a full response with dnspython into an Answer (A values or joined TXT text)."""
    import dns.message
    import dns.rcode

    response = dns.message.from_wire(wire)
    code = response.rcode()
    if code != dns.rcode.NOERROR:
        return Answer(_SIMPLE_RCODES.get(code, "OTHER"), detail=dns.rcode.to_text(code))  # type: ignore[arg-type]
    values = [rdata for rrset in response.answer if rrset.rdtype == rdtype for rdata in rrset]
    if rdtype == TXT:
        text = " ".join(b"".join(rdata.strings).decode("utf-8", "replace") for rdata in values)
        return Answer("NOERROR", txt=text)
    return Answer("NOERROR", addresses=tuple(rdata.to_text() for rdata in values))


def _expire(waiter: asyncio.Future[bytes]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _nameservers(settings: Settings) -> list[tuple[str, int]]:
    """Return (address, port) of every nameserver of the configured async resolver."""
    from emailengine.integrations.dns import make_async_resolver

    servers = []
    for server in make_async_resolver(settings).nameservers:
        address = getattr(server, "address", server)
        port = getattr(server, "port", 53)
        servers.append((str(address), int(port)))
    return servers


async def _lookup(client: DnsClient, qname: str, pacer: _Pacer) -> Answer:
    """Ask the A record; for a positive or error-code answer add the TXT reason (best effort)."""
    answer = await client.ask(qname, A, pacer)
    if answer.rcode == "NOERROR" and answer.addresses:
        txt = await client.ask(qname, TXT, pacer)
        if txt.rcode == "NOERROR" and txt.txt:
            answer = Answer("NOERROR", answer.addresses, txt=txt.txt[:500])
    return answer


async def _self_tests(client: DnsClient, zones: list[Zone], pacers: dict[str, _Pacer]) -> dict[str, ZoneHealth]:
    """Run every zone's positive and negative test entries concurrently; return health by zone."""
    from emailengine.blocklists.verdict import self_test

    async def one(zone: Zone) -> tuple[str, ZoneHealth]:
        positive, negative = await asyncio.gather(
            _lookup(client, query_name(zone.test_positive, zone, test_entry=True), pacers[zone.zone]),
            _lookup(client, query_name(zone.test_negative, zone, test_entry=True), pacers[zone.zone]))
        return zone.zone, self_test(zone, positive, negative)

    return dict(await asyncio.gather(*(one(zone) for zone in zones)))


async def scan_async(targets: Iterable[Target], zones: list[Zone], settings: Settings,
                     progress: Progress | None = None) -> ScanReport:
    """Self-test zones, then look up every applicable (target, zone) pair on healthy zones.

    Pairs on a zone that failed its self-test get an error verdict without a query.
    """
    started = time.perf_counter()
    client = DnsClient(_nameservers(settings), settings.dns_timeout, settings.blocklist_retries)
    pacers = {zone.zone: _Pacer(settings.blocklist_zone_qps) for zone in zones}
    await client.open()
    try:
        report = ScanReport(health=await _self_tests(client, zones, pacers))
        # target-major order interleaves zones, so every zone's pacer has work at all times
        pairs = [(target, zone) for target in targets for zone in zones
                 if applicable(target.kind, target.name, zone)]
        report.results = await _run_pairs(client, pairs, report.health, pacers, settings, progress)
    finally:
        client.close()
    report.queries, report.retries = client.queries, client.retried
    report.seconds = time.perf_counter() - started
    report.max_zone_qps = max((pacer.peak_rate() for pacer in pacers.values()), default=0.0)
    broken = [name for name, health in report.health.items() if not health.healthy]
    logger.info("blocklist scan: %d pairs, %d queries, %d broken zones in %.2fs",
                len(report.results), report.queries, len(broken), report.seconds)
    return report


async def _run_pairs(client: DnsClient, pairs: list[tuple[Target, Zone]], health: dict[str, ZoneHealth],
                     pacers: dict[str, _Pacer], settings: Settings, progress: Progress | None) -> list[Result]:
    """Look up pairs with at most EE_BLOCKLIST_CONCURRENCY workers; results keep pair order."""
    results: list[Result | None] = [None] * len(pairs)
    next_index = 0
    done = 0

    async def worker() -> None:
        nonlocal next_index, done
        while next_index < len(pairs):
            index = next_index
            next_index += 1
            target, zone = pairs[index]
            zone_health = health[zone.zone]
            if zone_health.healthy:
                answer = await _lookup(client, query_name(target.name, zone), pacers[zone.zone])
            else:
                answer = Answer("OTHER")
            results[index] = Result(target, zone, final_verdict(zone, answer, zone_health))
            done += 1
            if progress is not None:
                progress(done, len(pairs))

    workers = min(settings.blocklist_concurrency, max(1, len(pairs)))
    await asyncio.gather(*(worker() for _ in range(workers)))
    return [result for result in results if result is not None]


def scan(targets: Iterable[Target], zones: list[Zone], settings: Settings,
         progress: Progress | None = None) -> ScanReport:
    """Run scan_async in a fresh event loop (for synchronous callers)."""
    return asyncio.run(scan_async(list(targets), zones, settings, progress))
