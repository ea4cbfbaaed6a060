"""Loopback syslog collectors (RFC 5425 over mutual TLS, RFC 5426 over UDP) and a strict
RFC 5424 parser, so that the audit transport is tested against real sockets."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from atna.syslog import SyslogDestination

__all__ = ["FrameReader", "SyslogCollector", "SyslogRecord", "UdpCollector", "parse_syslog"]

BOM = b"\xef\xbb\xbf"
HANDSHAKE_TIMEOUT = 10.0
POLL = 0.05

# RFC 5424 section 6 ABNF, byte for byte.
_PRINT = rb"[!-~]"
_SD_NAME = rb"[!#-<>-\\^-~]{1,32}"  # PRINTUSASCII except '=', SP, ']', '"'
_PARAM_VALUE = rb'"(?:[^"\\\]]|\\.)*"'
_SD_ELEMENT = rb"\[" + _SD_NAME + rb"(?: " + _SD_NAME + rb"=" + _PARAM_VALUE + rb")*\]"
_SYSLOG_MSG = re.compile(
    rb"<(?P<pri>0|[1-9][0-9]{0,2})>(?P<version>[1-9][0-9]{0,2})"
    rb" (?P<timestamp>-|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    rb"(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2}))"
    rb" (?P<hostname>" + _PRINT + rb"{1,255})"
    rb" (?P<app_name>" + _PRINT + rb"{1,48})"
    rb" (?P<procid>" + _PRINT + rb"{1,128})"
    rb" (?P<msgid>" + _PRINT + rb"{1,32})"
    rb" (?P<sd>-|(?:" + _SD_ELEMENT + rb")+)"
    rb"(?: (?P<msg>.*))?\Z",
    re.DOTALL,
)


@dataclass(frozen=True)
class SyslogRecord:
    """One RFC 5424 message; `msg` without its BOM, `has_bom` tells whether it had one."""

    pri: int
    version: int
    timestamp: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    structured_data: str
    msg: bytes
    has_bom: bool


def parse_syslog(message: bytes) -> SyslogRecord:
    """Parse a SYSLOG-MSG; AssertionError when it does not follow the RFC 5424 ABNF."""
    match = _SYSLOG_MSG.match(message)
    assert match, f"not an RFC 5424 message: {message[:120]!r}"
    pri = int(match["pri"])
    assert pri <= 191, f"PRI {pri} above 191 (facility 23, severity 7)"
    timestamp = match["timestamp"].decode("ascii")
    if timestamp != "-":
        try:
            datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError as exc:
            raise AssertionError(f"TIMESTAMP {timestamp!r} is no date: {exc}") from None
    msg = match["msg"] or b""
    has_bom = msg.startswith(BOM)
    if has_bom:
        msg = msg[len(BOM) :]
        try:
            msg.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AssertionError(f"MSG after a BOM must be UTF-8: {exc}") from None
    return SyslogRecord(
        pri=pri,
        version=int(match["version"]),
        timestamp=timestamp,
        hostname=match["hostname"].decode("ascii"),
        app_name=match["app_name"].decode("ascii"),
        procid=match["procid"].decode("ascii"),
        msgid=match["msgid"].decode("ascii"),
        structured_data=match["sd"].decode("ascii"),
        msg=msg,
        has_bom=has_bom,
    )


class FrameReader:
    """RFC 5425 octet-counted frames out of a byte stream cut anywhere."""

    MAX_LENGTH_DIGITS = 10

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The frames completed by `data`; ValueError on a malformed MSG-LEN."""
        self._buffer += data
        frames: list[bytes] = []
        while True:
            space = self._buffer.find(b" ", 0, self.MAX_LENGTH_DIGITS + 1)
            if space < 0:
                if len(self._buffer) > self.MAX_LENGTH_DIGITS:
                    raise ValueError(f"no MSG-LEN: {bytes(self._buffer[:20])!r}")
                return frames
            length = bytes(self._buffer[:space])
            if not re.fullmatch(rb"[1-9][0-9]*", length):
                raise ValueError(f"bad MSG-LEN {length!r}")
            end = space + 1 + int(length)
            if len(self._buffer) < end:
                return frames
            frames.append(bytes(self._buffer[space + 1 : end]))
            del self._buffer[:end]

    @property
    def pending(self) -> int:
        """Bytes received that make no complete frame yet."""
        return len(self._buffer)


class _Collector:
    """What both collectors share: the messages received and a way to wait for them."""

    scheme = ""

    def __init__(self) -> None:
        self._messages: list[bytes] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self.port = 0

    @property
    def destination(self) -> SyslogDestination:
        return SyslogDestination(self.scheme, "127.0.0.1", self.port)

    @property
    def messages(self) -> list[bytes]:
        with self._changed:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        """The messages, once at least `count` have arrived; AssertionError after `timeout`."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= count, timeout):
                raise AssertionError(
                    f"{len(self._messages)} syslog message(s) after {timeout}s, expected {count}"
                )
            return list(self._messages)

    def _received(self, messages: list[bytes]) -> None:
        with self._changed:
            self._messages.extend(messages)
            self._changed.notify_all()

    def stop(self) -> None:
        raise NotImplementedError

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class SyslogCollector(_Collector):
    """An RFC 5425 collector on 127.0.0.1 that requires a client certificate from `ca`.

    `tls_version` pins the protocol version, to test both ways a refusal reaches a client.
    """

    scheme = "tls"

    def __init__(
        self,
        cert: Path,
        key: Path,
        ca: Path,
        *,
        port: int = 0,
        tls_version: ssl.TLSVersion | None = None,
    ) -> None:
        super().__init__()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if tls_version is not None:
            context.minimum_version = context.maximum_version = tls_version
        context.load_cert_chain(str(cert), str(key))
        context.load_verify_locations(cafile=str(ca))
        context.verify_mode = ssl.CERT_REQUIRED
        self._context = context
        self._requested_port = port
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self.handshake_failures = 0
        self.connections_accepted = 0
        self.framing_errors = 0

    def __enter__(self) -> SyslogCollector:
        self.start()
        return self

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self._requested_port))
        listener.settimeout(POLL)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._spawn(self._accept_loop, listener)

    def wait_for_handshake_failures(self, count: int, timeout: float = 10.0) -> int:
        """The count, once at least `count` handshakes failed (the server side learns last)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.handshake_failures >= count, timeout):
                raise AssertionError(f"{self.handshake_failures} handshake failure(s)")
            return self.handshake_failures

    def drop_connections(self) -> None:
        """Close every accepted connection, as a collector restarting or timing out would."""
        with self._changed:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by its thread
                conn.shutdown(socket.SHUT_RDWR)  # wakes the reading thread, sends FIN

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
        self.drop_connections()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed by stop()
            self._spawn(self._serve, conn)

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(HANDSHAKE_TIMEOUT)
        try:
            conn = self._context.wrap_socket(raw, server_side=True)
        except OSError:
            raw.close()
            with self._changed:
                self.handshake_failures += 1
                self._changed.notify_all()
            return
        conn.settimeout(None)
        with self._changed:
            self.connections_accepted += 1
            self._connections.add(conn)
        reader = FrameReader()
        try:
            while data := conn.recv(65536):
                self._received(reader.feed(data))
        except ValueError:
            with self._changed:
                self.framing_errors += 1
        except OSError:
            pass  # dropped or reset: the connection is over either way
        finally:
            with self._changed:
                self._connections.discard(conn)
            conn.close()


class UdpCollector(_Collector):
    """An RFC 5426 collector on 127.0.0.1: each datagram is one message."""

    scheme = "udp"

    def __init__(self) -> None:
        super().__init__()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._thread = threading.Thread(target=self._receive_loop, daemon=True)

    def __enter__(self) -> UdpCollector:
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(POLL)
        self.port = self._sock.getsockname()[1]
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _receive_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                data = self._sock.recv(65535)
            except TimeoutError:
                continue
            self._received([data])
