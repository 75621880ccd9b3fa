"""Test helpers for the bounce pipeline: a stoppable loopback TCP proxy (a database that goes
away and comes back without touching the real server) and accounting data."""

from __future__ import annotations

import socket
import threading
import time

from emailengine.bounces.sample import generate

DEMO_IPS = [("198.51.100.10", "vmta-10"), ("198.51.100.11", "vmta-11")]


def accounting(count: int, seed: int = 7, **options: object) -> bytes:
    """Return a generated accounting file of `count` records (header first), starting two days ago
    (inside the fingerprint retention, outside `--since 24h`)."""
    options.setdefault("start", int(time.time()) // 3600 * 3600 - 2 * 86400)
    return b"".join(generate(count, DEMO_IPS, seed, **options))


class TcpProxy:
    """Forward 127.0.0.1:<port> to a target; stop() closes the listener and every connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(50)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener:
            listener.close()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
