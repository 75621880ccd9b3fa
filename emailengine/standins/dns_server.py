"""A real DNS server on loopback (UDP and TCP) serving test zones, built on dnspython.

Records are given as (name, type, rdata text). Names not present answer NXDOMAIN; a known name
without the asked type answers NOERROR with no records. Behaviours make a name (or every name
under a suffix) answer SERVFAIL or REFUSED, or never answer (a timeout). `delay` makes every
answer wait, concurrently (the round trip a real resolver pays to remote lists).

    with DNSTestServer([("2.0.0.127.zen.spamhaus.org", "A", "127.0.0.2")]) as server:
        server.nameserver  # "127.0.0.1:PORT" for EE_DNS_NAMESERVERS
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import socket
import struct
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

BEHAVIOURS = ("servfail", "refused", "timeout", "nxdomain")
_PLAIN_LABEL = re.compile(rb"[A-Za-z0-9_-]{1,63}")


class DNSTestServer:
    def __init__(self, records: Iterable[tuple[str, str, str]] = (), delay: float = 0.0, ttl: int = 60) -> None:
        self.delay = delay
        self.ttl = ttl
        self._records: dict[dns.name.Name, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._behaviours: dict[dns.name.Name, str] = {}
        self._suffix_behaviours: list[tuple[dns.name.Name, str]] = []
        self._slow_names: set[str] = set()  # lower-case names with records or behaviours
        self.queries: list[tuple[str, str]] = []
        self.query_counts: Counter[str] = Counter()
        self.host = "127.0.0.1"
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        for name, rdtype, value in records:
            self.add(name, rdtype, value)

    # ---- configuration ----
    def add(self, name: str, rdtype: str, value: str) -> None:
        """Serve one record. TXT values are given as zone-file text (quoted strings)."""
        with self._lock:
            qname = dns.name.from_text(name)
            self._records[qname][dns.rdatatype.from_text(rdtype)].append(value)
            self._slow_names.add(qname.to_text().lower())

    def clear(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._records.clear()
                self._behaviours.clear()
                self._suffix_behaviours.clear()
                self._slow_names.clear()
            else:
                # a name may still have a behaviour; keeping it in _slow_names is always safe
                self._records.pop(dns.name.from_text(name), None)

    def behave(self, name: str, behaviour: str, *, subtree: bool = False) -> None:
        """Make name (or, with subtree, every name under it) answer with a failure behaviour."""
        assert behaviour in BEHAVIOURS, behaviour
        with self._lock:
            if subtree:
                self._suffix_behaviours.append((dns.name.from_text(name), behaviour))
            else:
                self._behaviours[dns.name.from_text(name)] = behaviour
                self._slow_names.add(dns.name.from_text(name).to_text().lower())

    @property
    def nameserver(self) -> str:
        return f"{self.host}:{self.port}"

    # ---- answering ----
    def _behaviour_for(self, qname: dns.name.Name) -> str | None:
        if qname in self._behaviours:
            return self._behaviours[qname]
        for suffix, behaviour in self._suffix_behaviours:
            if qname.is_subdomain(suffix):
                return behaviour
        return None

    def answer(self, wire: bytes) -> bytes | None:
        """Return the response to a query in wire format, or None to stay silent."""
        fast = self._fast_nxdomain(wire)
        if fast is not None:
            return fast
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - garbage gets silence, as many servers do
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        qname = question.name
        self.queries.append((qname.to_text(), dns.rdatatype.to_text(question.rdtype)))
        self.query_counts[qname.to_text()] += 1
        with self._lock:
            behaviour = self._behaviour_for(qname)
            by_type = self._records.get(qname)
            values = list(by_type.get(question.rdtype, [])) if by_type else []
            cname = list(by_type.get(dns.rdatatype.CNAME, [])) if by_type else []
        if behaviour == "timeout":
            return None
        if behaviour in ("servfail", "refused"):
            response.set_rcode(dns.rcode.SERVFAIL if behaviour == "servfail" else dns.rcode.REFUSED)
            return response.to_wire()
        if behaviour == "nxdomain" or by_type is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        if not values and cname and question.rdtype != dns.rdatatype.CNAME:
            response.answer.append(dns.rrset.from_text(qname, self.ttl, "IN", "CNAME", *cname))
        elif values:
            response.answer.append(
                dns.rrset.from_text(qname, self.ttl, "IN", dns.rdatatype.to_text(question.rdtype), *values)
            )
        return response.to_wire(max_size=65535)

    def _fast_nxdomain(self, wire: bytes) -> bytes | None:
        """Answer NXDOMAIN without dnspython when the name is plainly unknown (the common case
        in load tests); return None to take the full path (records, behaviours, odd queries)."""
        if len(wire) < 17 or wire[2] & 0xF8 or wire[4:6] != b"\x00\x01":  # not a plain 1-question QUERY
            return None
        labels, offset = [], 12
        while offset < len(wire):
            length = wire[offset]
            if length == 0:
                break
            label = wire[offset + 1:offset + 1 + length]
            if length > 63 or not _PLAIN_LABEL.fullmatch(label):
                return None  # compression, escapes or garbage: let dnspython decide
            labels.append(label.decode("ascii"))
            offset += 1 + length
        end = offset + 5
        if end > len(wire) or wire[offset + 3:offset + 5] != b"\x00\x01":  # class IN
            return None
        text = ".".join(labels) + "."
        key = text.lower()
        with self._lock:
            if self._suffix_behaviours or key in self._slow_names:
                return None
        qtype = int.from_bytes(wire[offset + 1:offset + 3], "big")
        self.queries.append((text, dns.rdatatype.to_text(qtype)))
        self.query_counts[text] += 1
        flags = 0x8400 | (wire[2] & 0x01) << 8 | dns.rcode.NXDOMAIN  # QR, AA, copy RD
        return wire[:2] + flags.to_bytes(2, "big") + b"\x00\x01\x00\x00\x00\x00\x00\x00" + wire[12:end]

    # ---- serving ----
    def start(self) -> DNSTestServer:
        self._thread = threading.Thread(target=self._serve, name="dns-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("DNS test server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> DNSTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        server = self

        udp, tcp_socket = _bind_pair(self.host)
        with contextlib.suppress(OSError):  # room for bursts of queries from load tests
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        due: dict[float, list[tuple[bytes, tuple[str, int]]]] = {}
        tcp: list[asyncio.Server] = []

        def send(reply: bytes, addr: tuple[str, int]) -> None:
            with contextlib.suppress(OSError):  # the client went away: like a lost datagram
                udp.sendto(reply, addr)

        def flush(moment: float) -> None:
            for reply, addr in due.pop(moment, []):
                send(reply, addr)

        def read_ready() -> None:
            # Drain every waiting datagram per wake-up (asyncio's transport reads one per loop pass).
            while True:
                try:
                    data, addr = udp.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    continue
                reply = server.answer(data)
                if reply is None:
                    continue
                if len(reply) > 512 and not _has_edns(data):
                    reply = _truncated(data)
                if not server.delay:
                    send(reply, addr)
                    continue
                # one timer per millisecond of replies instead of one per reply
                moment = math.ceil((loop.time() + server.delay) * 1000) / 1000
                if moment not in due:
                    due[moment] = []
                    loop.call_at(moment, flush, moment)
                due[moment].append((reply, addr))

        async def handle_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    header = await reader.readexactly(2)
                    (length,) = struct.unpack("!H", header)
                    data = await reader.readexactly(length)
                    reply = server.answer(data)
                    if reply is None:
                        await asyncio.sleep(3600)
                        return
                    if server.delay:
                        await asyncio.sleep(server.delay)
                    writer.write(struct.pack("!H", len(reply)) + reply)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        async def setup() -> None:
            self.port = udp.getsockname()[1]
            loop.add_reader(udp.fileno(), read_ready)
            tcp.append(await asyncio.start_server(handle_tcp, sock=tcp_socket))

        loop.run_until_complete(setup())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.remove_reader(udp.fileno())
            udp.close()
            for listener in tcp:
                listener.close()
            loop.run_until_complete(asyncio.sleep(0))  # let the listener finish closing
            loop.close()


def _bind_pair(host: str) -> tuple[socket.socket, socket.socket]:
    """Return a UDP and a TCP socket bound to the same free port on host (non-blocking).

    The UDP port is chosen by the system; the same TCP port can be taken already (e.g. by a
    client connection's ephemeral port), so try again with a new port a few times.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((host, 0))
        tcp = socket.socket(family, socket.SOCK_STREAM)
        try:
            tcp.bind((host, udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(64)
        udp.setblocking(False)
        tcp.setblocking(False)
        return udp, tcp
    raise OSError(f"no free UDP+TCP port pair on {host}")


def _has_edns(wire: bytes) -> bool:
    try:
        return dns.message.from_wire(wire).edns >= 0
    except Exception:  # noqa: BLE001
        return False


def _truncated(wire: bytes) -> bytes:
    query = dns.message.from_wire(wire)
    response = dns.message.make_response(query)
    response.flags |= dns.flags.TC
    return response.to_wire()
