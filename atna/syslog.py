"""Syslog transport of ATNA audit messages (IHE ITI-20 Record Audit Event).

An audit message travels as the MSG of an RFC 5424 syslog message. ITI-20 asks for TLS
syslog (RFC 5425) with mutual authentication, the ATNA secure node's own certificate on our
side: `TlsSyslogSender` keeps one verified connection and frames each message by octet
counting. ITI-20 also allows UDP (RFC 5426); `UdpSyslogSender` exists for a collector on
the same host, since a datagram can be lost without anyone knowing.

Delivery means "the transport took it": syslog has no acknowledgement, so the caller (the
audit forwarder) resends a batch whenever `send` raises. The messages hold patient data:
they are never logged, and no error names their content.

    OSError
     └── SyslogError    a batch could not be delivered (names host:port and the cause)
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

__all__ = [
    "SyslogDestination",
    "SyslogError",
    "SyslogSender",
    "TlsSyslogSender",
    "UdpSyslogSender",
    "octet_frame",
    "open_sender",
    "parse_destination",
    "syslog_message",
]

log = logging.getLogger("xds.atna")

DEFAULT_PORTS = {"tls": 6514, "udp": 514}
BOM = b"\xef\xbb\xbf"
NILVALUE = "-"
MAX_UDP_MESSAGE = 65_507  # an IPv4 UDP payload: 65,535 - 8 (UDP header) - 20 (IP header)
# A TLS 1.3 server judges our certificate after our handshake is over: how long to wait
# for its verdict (a session ticket when accepted, an alert when refused) before sending.
VERDICT_WAIT = 2.0


class SyslogError(OSError):
    """A batch of syslog messages could not be delivered to the collector."""


@dataclass(frozen=True)
class SyslogDestination:
    """Where a collector listens: `tls` (RFC 5425) or `udp` (RFC 5426), host and port."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def address(self) -> str:
        """host:port, the way errors and logs name the collector."""
        return str(self).split("://", 1)[1]


def parse_destination(text: str) -> SyslogDestination:
    """`tls://host[:port]` or `udp://host[:port]`; an IPv6 address goes in brackets.

    The port defaults to 6514 for TLS and 514 for UDP (the IANA syslog ports).
    """
    scheme, sep, netloc = text.strip().partition("://")
    if not sep:
        raise ValueError(f"syslog destination {text!r}: expected tls://host[:port] or udp://…")
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"syslog destination {text!r}: scheme must be tls or udp, not {scheme!r}")
    if any(c in netloc for c in "/?#@ "):
        raise ValueError(f"syslog destination {text!r}: only host and port are allowed")
    if netloc.startswith("["):
        host, bracket, rest = netloc[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"syslog destination {text!r}: malformed [IPv6] address")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"syslog destination {text!r}: {host!r} is no IPv6 address") from None
        port_text = rest[1:] if rest else None
    elif netloc.count(":") > 1:
        raise ValueError(f"syslog destination {text!r}: write an IPv6 address in brackets")
    else:
        host, colon, port_text_or_empty = netloc.partition(":")
        port_text = port_text_or_empty if colon else None
    if not host:
        raise ValueError(f"syslog destination {text!r}: missing host")
    if port_text is None:
        return SyslogDestination(scheme, host, DEFAULT_PORTS[scheme])
    if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"syslog destination {text!r}: bad port {port_text!r} (1 to 65535)")
    return SyslogDestination(scheme, host, int(port_text))


def _header_field(value: str | None, max_length: int) -> str:
    # RFC 5424 header fields are PRINTUSASCII without spaces; anything else would break the
    # collector's parsing, so it is dropped rather than escaped (there is no escape).
    kept = "".join(c for c in value or "" if 33 <= ord(c) <= 126)[:max_length]
    return kept or NILVALUE


def _timestamp(value: datetime) -> str:
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def syslog_message(
    msg: bytes,
    *,
    timestamp: datetime,
    hostname: str | None,
    app_name: str | None,
    procid: str | None,
    msgid: str = "IHE+RFC-3881",
    facility: int = 10,
    severity: int = 5,
) -> bytes:
    """The RFC 5424 SYSLOG-MSG carrying `msg` (UTF-8), without structured data.

    ITI-20's defaults: facility 10 (authpriv), severity 5 (notice), MSGID IHE+RFC-3881.
    A naive `timestamp` is taken as UTC. Header fields lose their non-printable and
    non-ASCII characters and are cut to the RFC's lengths; empty ones become "-".
    """
    if not 0 <= facility <= 23 or not 0 <= severity <= 7:
        raise ValueError(f"syslog facility 0-23 and severity 0-7, not {facility}/{severity}")
    if msg.startswith(BOM):
        msg = msg[len(BOM) :]
    try:
        msg.decode("utf-8")
    except UnicodeDecodeError:
        # The BOM promises UTF-8 to the collector (RFC 5424 6.4): refuse to lie.
        raise ValueError("a syslog MSG sent with a BOM must be UTF-8") from None
    header = " ".join(
        (
            f"<{facility * 8 + severity}>1",
            _timestamp(timestamp),
            _header_field(hostname, 255),
            _header_field(app_name, 48),
            _header_field(procid, 128),
            _header_field(msgid, 32),
            NILVALUE,  # STRUCTURED-DATA
        )
    )
    return header.encode("ascii") + b" " + BOM + msg


def octet_frame(message: bytes) -> bytes:
    """RFC 5425 / RFC 6587 octet counting: the length in octets, a space, the message.

    An empty message has no frame: the ABNF's MSG-LEN starts with a non-zero digit.
    """
    if not message:
        raise ValueError("an empty syslog message cannot be framed (RFC 5425 MSG-LEN >= 1)")
    return b"%d " % len(message) + message


class SyslogSender(Protocol):
    """What the audit forwarder needs from a transport."""

    destination: SyslogDestination

    def send(self, messages: Sequence[bytes]) -> None:
        """Hand every message to the transport, in order, or raise SyslogError."""

    def close(self) -> None:
        """Release the connection; a later `send` opens a new one."""


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
