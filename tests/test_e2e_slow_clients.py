"""Slow and idle clients cannot take the server's capacity (issue 13, item 1).

Before: 6 connections sending their headers at 1 byte/s stopped the whole server (a normal
ITI-41 waited 18 s). Here 50 connections trickle at 1 byte/s (25 in their headers, 25 in
their bodies) and 10 more sit idle, while a normal ITI-41 and ITI-18 must each complete in
under a second; the trickling connections are closed once the read limit has passed.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from e2e_support import PATIENT, feed, secure_server, submission
from security_support import DevPki, make_pki

from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from ebrim.vocabulary import AvailabilityStatus
from soap.client import XdsClient
from xds_cli.server import ServerProcess

READ_TIMEOUT = 3  # seconds: --read-timeout, so that the test sees the connections closed
TRICKLERS = 25  # of each kind
HEAD = (
    b"POST /xds/repository HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/soap+xml\r\nContent-Length: 100000\r\n\r\n"
)


class Trickle:
    """Connections sending one byte per second each: into their head, or into their body."""

    def __init__(self, connect: Callable[[], socket.socket]) -> None:
        self.sockets: list[tuple[socket.socket, bytes]] = []
        for _ in range(TRICKLERS):
            head_trickler = connect()
            self.sockets.append((head_trickler, HEAD))
            body_trickler = connect()
            body_trickler.sendall(HEAD)  # a complete head, then a body at 1 byte/s
            self.sockets.append((body_trickler, b"<" * 100000))
        self.idle = [connect() for _ in range(10)]
        self.closed_after: dict[int, float] = {}
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        position = 0
        while not self._stop.is_set() and len(self.closed_after) < len(self.sockets):
            for index, (sock, data) in enumerate(self.sockets):
                if index in self.closed_after:
                    continue
                try:
                    sock.send(data[position : position + 1])
                except OSError:
                    self.closed_after[index] = time.monotonic() - self.started
            position += 1
            self._stop.wait(1.0)

    def wait_all_closed(self, timeout: float) -> None:
        self._thread.join(timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock, _ in self.sockets:
            sock.close()
        for sock in self.idle:
            sock.close()


def closed_by_peer(sock: socket.socket) -> bool:
    sock.settimeout(0.5)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def timed(action: Callable[[], object]) -> float:
    start = time.monotonic()
    action()
    return time.monotonic() - start


def normal_traffic(client: XdsClient, patient: str = PATIENT) -> tuple[float, float]:
    metadata = submission(patient)
    document = {metadata.documents[0].entry_uuid: b"<ClinicalDocument/>"}

    def submit() -> None:
        assert client.provide_and_register(metadata, document).status.name == "SUCCESS"

    def query() -> None:
        statuses = (AvailabilityStatus.APPROVED.value,)
        answer = client.query(
            StoredQueryRequest(FindDocumentsQuery(patient_id=patient, statuses=statuses))
        )
        assert metadata.documents[0].unique_id in {d.unique_id for d in answer.metadata.documents}

    return timed(submit), timed(query)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    args = ["--threads", "4", "--read-timeout", str(READ_TIMEOUT)]
    with ServerProcess(tmp_path_factory.mktemp("slow"), args=args, workers=1) as running:
        feed(running)
        yield running


def test_trickling_clients_leave_iti41_and_iti18_fast_and_are_closed(server) -> None:
    client = XdsClient(server.url, timeout=(5, 20))
    normal_traffic(client)  # warm: WSDL loaded by zeep, connections opened

    def connect() -> socket.socket:
        return socket.create_connection(("127.0.0.1", server.port), timeout=5)

    trickle = Trickle(connect)
    try:
        time.sleep(1.5)  # every trickler has sent something: under gthread, all threads taken
        submit_time, query_time = normal_traffic(client)
        assert submit_time < 1.0 and query_time < 1.0, (submit_time, query_time)

        trickle.wait_all_closed(timeout=READ_TIMEOUT + 20)
        assert len(trickle.closed_after) == len(trickle.sockets)
        # Closed after the read limit (plus the loop's one-second check), not at once.
        assert min(trickle.closed_after.values()) >= READ_TIMEOUT - 1
        assert max(trickle.closed_after.values()) <= READ_TIMEOUT + 6
        assert all(closed_by_peer(sock) for sock in trickle.idle)
    finally:
        trickle.close()
    assert "request not sent in time" in server.log()
    # The server keeps serving. A new client: the first one's kept-alive connection is about
    # as old as the server's 5 s keep-alive, and a POST racing its close is not retried.
    normal_traffic(XdsClient(server.url, timeout=(5, 20)))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("slow-pki"))


def test_slow_tls_handshakes_do_not_hold_threads_either(pki, tmp_path_factory) -> None:
    # Without its own read of the handshake, gthread wrapped each socket in a request thread.
    data = tmp_path_factory.mktemp("slow-tls")
    with secure_server(pki, data, workers=1) as running:
        stalled = []
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", running.port), timeout=5)
            sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and nothing more
            stalled.append(sock)
        try:
            time.sleep(1.0)
            context = ssl.create_default_context(cafile=str(pki.ca.chain))
            context.load_cert_chain(pki.hospital.tls_cert, pki.hospital.tls_key)
            start = time.monotonic()
            with (
                socket.create_connection(("127.0.0.1", running.port), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                tls.sendall(b"GET /xds/registry?wsdl HTTP/1.1\r\nHost: localhost\r\n\r\n")
                assert tls.recv(12).startswith(b"HTTP/1.1 200")
            assert time.monotonic() - start < 1.0
        finally:
            for sock in stalled:
                sock.close()
