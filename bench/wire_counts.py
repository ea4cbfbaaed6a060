"""Counting what a request costs outside Python: PostgreSQL round trips and fsyncs.

`RoundTripProxy` sits between a client and PostgreSQL on loopback and counts round trips:
the client speaking after the server last spoke (however many statements one message
carries, it is one wait for the server). Counting on the wire sees what the driver really
sends (psycopg2's implicit BEGIN, a pool's ROLLBACK or ping), which no hook in the process
would. `FsyncCounter` counts os.fsync calls in this process (tests); `bench/submit_bench.py`
counts a server's with strace. Used by the benchmark and by tests/test_repository_costs.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class RoundTripProxy:
    """Listens on a loopback port, forwards to `target`, counts client turns."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self.trips = 0
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, url: str) -> str:
        """`url` with its host and port replaced by the proxy's."""
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")
        user = netloc[0] + "@" if netloc[1] else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    def reset(self) -> None:
        with self._lock:
            self.trips = 0

    def close(self) -> None:
        self._closing = True
        self._server.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            last = ["server"]  # who spoke last on this connection
            threading.Thread(
                target=self._pump, args=(client, upstream, last, "client"), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, last, "server"), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, last: list[str], who: str) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                with self._lock:
                    if who == "client" and last[0] == "server":
                        self.trips += 1
                    last[0] = who
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def round_trip_proxy(postgres_url: str) -> Iterator[RoundTripProxy]:
    parts = urlsplit(postgres_url)
    proxy = RoundTripProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    try:
        yield proxy
    finally:
        proxy.close()


class FsyncCounter:
    """Counts os.fsync calls made while it is installed (monkeypatched)."""

    def __init__(self, monkeypatch: Any) -> None:  # a pytest MonkeyPatch
        self.calls = 0
        real = os.fsync

        def counting(fd: int) -> None:
            self.calls += 1
            real(fd)

        monkeypatch.setattr(os, "fsync", counting)
