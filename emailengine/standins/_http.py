"""What every HTTP stand-in shares: serve a request-handler class on 127.0.0.1 at a free port,
in a daemon thread, as a context manager."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackHTTPServer(ABC):
    """Base of the HTTP stand-ins; a subclass returns its handler class from handler_class()."""

    _server: ThreadingHTTPServer | None = None

    @abstractmethod
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """Return the handler class serving this stand-in (it may close over self)."""

    @property
    def base_url(self) -> str:
        """Return http://127.0.0.1:PORT of the running server."""
        assert self._server is not None, "start() the stand-in first"  # noqa: S101 - programming error
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Start serving on a free loopback port; return self."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
