"""The transports of syslog audit messages: RFC 5425 over mutual TLS, RFC 5426 over UDP.

ITI-20 asks for TLS syslog with mutual authentication, the ATNA secure node's own
certificate on our side: `TlsSyslogSender` keeps one verified connection and frames each
message by octet counting. ITI-20 also allows UDP; `UdpSyslogSender` exists for a collector
on the same host, since a datagram can be lost without anyone knowing.

Delivery means "the transport took it": syslog has no acknowledgement, so the caller (the
audit forwarder) resends a batch whenever `send` raises. The messages hold patient data:
they are never logged, and no error names their content.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from atna.syslog import SyslogDestination, SyslogError, SyslogSender, octet_frame

__all__ = ["TlsSyslogSender", "UdpSyslogSender", "open_sender"]

log = logging.getLogger("xds.atna")

MAX_UDP_MESSAGE = 65_507  # an IPv4 UDP payload: 65,535 - 8 (UDP header) - 20 (IP header)
# A TLS 1.3 server judges our certificate after our handshake is over: how long to wait
# for its verdict (a session ticket when accepted, an alert when refused) before sending.
# A healthy collector answers at once; the margin is for a loaded one, since a batch sent
# before a refusal arrives looks delivered. Paid in full only by a collector that accepts
# and never issues tickets, once per connection (connections are kept).
VERDICT_WAIT = 5.0


def _failure(destination: SyslogDestination, count: int, cause: BaseException) -> SyslogError:
    reason = str(cause) or type(cause).__name__
    return SyslogError(
        f"syslog to {destination.address} failed, {count} message(s) not delivered: {reason}"
    )


class TlsSyslogSender:
    """RFC 5425 syslog over mutually authenticated TLS, on one persistent connection.

    The TLS context is built here, so that a missing or unreadable certificate, key or CA
    bundle fails at start rather than at the first audit event.
    """

    def __init__(
        self,
        destination: SyslogDestination,
        *,
        ca: Path,
        cert: Path | None = None,
        key: Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.destination = destination
        self.timeout = timeout
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies peer and host name
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_verify_locations(cafile=str(ca))
        if cert is not None:
            context.load_cert_chain(str(cert), str(key) if key is not None else None)
        self._context = context
        self._sock: ssl.SSLSocket | None = None
        self._lock = threading.Lock()

    def send(self, messages: Sequence[bytes]) -> None:
        """Write the batch on the connection; on a broken reused one, reconnect once."""
        if not messages:
            return
        payload = b"".join(octet_frame(m) for m in messages)
        with self._lock:
            reused = self._sock is not None and self._still_open(self._sock)
            try:
                self._write(payload)
                return
            except OSError as exc:
                self._drop()
                if not reused:
                    raise _failure(self.destination, len(messages), exc) from exc
                log.warning("syslog connection to %s broken (%s), reconnecting", self, exc)
            try:
                self._write(payload)
            except OSError as exc:
                self._drop()
                raise _failure(self.destination, len(messages), exc) from exc

    def close(self) -> None:
        """Say goodbye (TLS close_notify, RFC 5425 4.4) without waiting for the answer."""
        with self._lock:
            sock, self._sock = self._sock, None
            if sock is None:
                return
            try:
                sock.settimeout(0)
                sock.unwrap()
            except (ssl.SSLWantReadError, OSError):
                pass  # close_notify sent (or the peer is gone): nothing more to say
            finally:
                sock.close()

    def __str__(self) -> str:
        return str(self.destination)

    def _write(self, payload: bytes) -> None:
        if self._sock is None:
            self._sock = self._connect()
        self._sock.sendall(payload)

    def _connect(self) -> ssl.SSLSocket:
        address = (self.destination.host, self.destination.port)
        raw = socket.create_connection(address, timeout=self.timeout)
        try:
            sock = self._context.wrap_socket(raw, server_hostname=self.destination.host)
        except BaseException:
            raw.close()
            raise
        try:
            self._await_verdict(sock)
        except BaseException:
            sock.close()
            raise
        log.info("syslog connection to %s open (%s)", self, sock.version())
        return sock

    def _await_verdict(self, sock: ssl.SSLSocket) -> None:
        # In TLS 1.2 the handshake fails when the collector refuses our certificate; in
        # TLS 1.3 it has already succeeded on our side, and the refusal comes as an alert
        # that, unread, would let us write a batch into a connection about to be reset.
        if sock.version() != "TLSv1.3":
            return
        deadline = time.monotonic() + min(self.timeout, VERDICT_WAIT)
        while not (sock.session is not None and sock.session.has_ticket):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return  # a collector that issues no tickets and says nothing: accepted
            readable, _, _ = select.select([sock], [], [], remaining)
            if readable and not self._read_available(sock):
                raise ConnectionResetError("the collector closed the connection")

    def _still_open(self, sock: ssl.SSLSocket) -> bool:
        # A collector may close an idle connection; writing into it would "succeed" and
        # the batch be lost in the reset, so look for its EOF before writing.
        try:
            for _ in range(16):  # bounded: a chatty collector cannot hold us here
                if not (sock.pending() or select.select([sock], [], [], 0)[0]):
                    break
                if not self._read_available(sock):
                    raise ConnectionResetError("closed by the collector")
        except (OSError, ValueError) as exc:  # ValueError: select on a closed socket
            log.info("syslog connection to %s lost (%s), reconnecting", self, exc)
            self._drop()
            return False
        return True

    def _read_available(self, sock: ssl.SSLSocket) -> bool:
        """Read what the collector sent (tickets, alerts); False when it closed."""
        sock.settimeout(0)
        try:
            # RFC 5425 collectors send no data; anything read is discarded.
            return sock.recv(65536) != b""
        except ssl.SSLWantReadError:
            return True  # a partial record or only handshake messages
        finally:
            sock.settimeout(self.timeout)

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


class UdpSyslogSender:
    """RFC 5426 syslog over UDP, one datagram per message: for a collector on this host."""

    def __init__(self, destination: SyslogDestination, *, timeout: float = 10.0) -> None:
        self.destination = destination
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def send(self, messages: Sequence[bytes]) -> None:
        """Send each message as a datagram; refuse the batch if one cannot fit in one."""
        for message in messages:
            if len(message) > MAX_UDP_MESSAGE:
                # A truncated audit record is a forged one: refuse the whole batch.
                raise SyslogError(
                    f"syslog to {self.destination.address}: a message of {len(message)} bytes"
                    f" exceeds the {MAX_UDP_MESSAGE} bytes of a UDP datagram"
                )
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = self._connect()
                for message in messages:
                    self._sock.send(message)
            except OSError as exc:
                self._drop()
                raise _failure(self.destination, len(messages), exc) from exc

    def close(self) -> None:
        """Close the socket; a later `send` opens a new one."""
        with self._lock:
            self._drop()

    def _connect(self) -> socket.socket:
        # A connected UDP socket reports the ICMP "port unreachable" of a missing collector.
        host, port = self.destination.host, self.destination.port
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(self.timeout)
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
        return sock

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def open_sender(
    destination: SyslogDestination,
    *,
    ca: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    timeout: float = 10.0,
) -> SyslogSender:
    """The sender for `destination`'s scheme; TLS needs the CA bundle that signs the collector."""
    if destination.scheme == "udp":
        return UdpSyslogSender(destination, timeout=timeout)
    if destination.scheme != "tls":
        raise ValueError(f"no syslog transport for {destination.scheme!r}")
    if ca is None:
        raise ValueError(f"syslog over TLS to {destination} needs a CA bundle to verify it")
    return TlsSyslogSender(destination, ca=ca, cert=cert, key=key, timeout=timeout)
