"""gunicorn's gthread worker, with every request read whole before a thread takes it.

gthread hands a connection to a request thread once its first byte is in; the thread then
blocks on the socket until the headers and the body have arrived. Six clients sending their
headers at one byte a second held six of the eight threads of a worker, and a normal
ITI-41 waited 18 s. Here the worker's event loop (the thread that accepts connections)
also does the TLS handshake and reads each request, head and body, without blocking, into a
spool (memory, then a temporary file past 1 MiB); the connection goes to a thread only when
its request is complete, so threads are only ever busy with work. Kept-alive connections
take the same way for their next request.

A connection is closed when its TLS handshake and request head take longer than
`head_timeout`, or when its body arrives more slowly than `min_body_rate` bytes a second
once `body_grace` seconds have passed. A request whose head cannot be read here (too
long, an unusable length) goes to gunicorn at once, which answers it as it always did.
"""

from __future__ import annotations

import contextlib
import errno
import re
import selectors
import ssl
import time
from dataclasses import dataclass, field
from functools import partial
from tempfile import SpooledTemporaryFile
from typing import Any

from gunicorn import http
from gunicorn.http.unreader import SocketUnreader
from gunicorn.sock import ssl_context
from gunicorn.workers.gthread import ThreadWorker

from xds_cli.settings import ReadLimits

HEAD_END = b"\r\n\r\n"
FAIR_SHARE = 4 * 1024 * 1024  # bytes read from one connection per turn of the loop
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Connection: close\r\nContent-Length: 0\r\n\r\n"
)
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*(?=\r\n)", re.IGNORECASE)


class _LengthBody:
    def __init__(self, length: int) -> None:
        self.remaining = length

    def feed(self, data: bytes) -> bool:
        """Count `data` in; whether the body is complete."""
        self.remaining -= len(data)
        return self.remaining <= 0


class _ChunkedBody:
    """Finds the end of a chunked body (RFC 9112 7.1): size lines, data, trailers."""

    def __init__(self) -> None:
        self.line = bytearray()
        self.skip = 0  # bytes of chunk data (plus its CRLF) still to pass over
        self.in_trailers = False
        self.done = False

    def feed(self, data: bytes) -> bool:
        position = 0
        while position < len(data) and not self.done:
            if self.skip:
                taken = min(self.skip, len(data) - position)
                self.skip -= taken
                position += taken
                continue
            end = data.find(b"\n", position)
            if end < 0:
                self.line += data[position:]
                if len(self.line) > 8192:
                    raise ValueError("chunk size line too long")
                return False
            self.line += data[position:end]
            position = end + 1
            self._line(bytes(self.line).rstrip(b"\r"))
            self.line.clear()
        return self.done

    def _line(self, line: bytes) -> None:
        if self.in_trailers:
            self.done = not line
            return
        size = int(line.split(b";", 1)[0].strip() or b"x", 16)  # ValueError when not hex
        if size == 0:
            self.in_trailers = True
        else:
            self.skip = size + 2


@dataclass
class _Intake:
    """One request being read by the event loop."""

    limits: ReadLimits
    started: float
    handshaking: bool = False
    head: bytearray = field(default_factory=bytearray)
    head_done_at: float | None = None
    body: _LengthBody | _ChunkedBody | None = None
    body_received: int = 0
    spool: Any = None

    def __post_init__(self) -> None:
        # Closed by the reader that consumes it, or when the connection is dropped.
        self.spool = SpooledTemporaryFile(max_size=self.limits.spool_in_memory)  # noqa: SIM115

    def expired(self, now: float) -> bool:
        if self.head_done_at is None:
            return now - self.started > self.limits.head_timeout
        allowed = self.limits.body_grace + self.body_received / self.limits.min_body_rate
        return now - self.head_done_at > allowed


class _Outcome:
    MORE, READY, CLOSE = "more", "ready", "close"


class PrefetchedUnreader(SocketUnreader):
    """gunicorn's socket reader, serving first what the event loop already read."""

    def __init__(self, sock: Any, spool: Any) -> None:
        super().__init__(sock)
        self.spool = spool
        self.spool.seek(0)

    def chunk(self, size_hint: int | None = None) -> bytes:
        if self.spool is not None:
            size = max(self.mxchunk, min(size_hint or 0, self.max_body_chunk))
            data: bytes = self.spool.read(size)
            if data:
                return data
            self.close_spool()
        return super().chunk(size_hint)

    def take_unread(self) -> None:
        """Move what the request left unread (a pipelined request) into the buffer."""
        if self.spool is not None:
            rest = self.spool.read()
            self.close_spool()
            if rest:
                self.unread(rest)

    def close_spool(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None


class IntakeThreadWorker(ThreadWorker):
    """gthread, with the request read by the event loop (`xds serve` sets `limits`)."""

    limits = ReadLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.intakes: dict[Any, _Intake] = {}

    def enqueue_req(self, conn: Any) -> None:
        """Every way a request reaches a thread in gthread passes here: read it first."""
        leftover = b""
        if conn.parser is not None:
            unreader = conn.parser.unreader
            if isinstance(unreader, PrefetchedUnreader):
                unreader.close_spool()
            leftover = unreader.take_buffered()
        intake = _Intake(self.limits, time.monotonic())
        self.intakes[conn] = intake
        conn.sock.setblocking(False)
        if self.cfg.is_ssl and not isinstance(conn.sock, ssl.SSLSocket):
            try:
                conn.sock = ssl_context(self.cfg).wrap_socket(
                    conn.sock,
                    server_side=True,
                    suppress_ragged_eofs=self.cfg.suppress_ragged_eofs,
                    do_handshake_on_connect=False,
                )
            except (OSError, ValueError):
                self._drop(conn)
                return
            intake.handshaking = True
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_event, conn))
        if leftover:
            self._settle(conn, self._take(intake, conn, leftover))
        # Read at once: the request is often already there, and bytes OpenSSL decrypted
        # ahead do not make the socket readable.
        self._on_event(conn, conn.sock)

    def finish_request(self, conn: Any, fs: Any) -> None:
        unreader = getattr(conn.parser, "unreader", None)
        if isinstance(unreader, PrefetchedUnreader):
            # gthread checks the reader's buffer for a pipelined request: put it there.
            unreader.take_unread()
        super().finish_request(conn, fs)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c, intake in self.intakes.items() if intake.expired(now)]:
            self.log.info("closing a connection from %s: request not sent in time", conn.client)
            self._drop(conn)

    def _on_event(self, conn: Any, _sock: Any) -> None:
        intake = self.intakes.get(conn)
        if intake is None:
            return
        if intake.handshaking:
            outcome = self._handshake(conn, intake)
            if outcome != _Outcome.MORE or intake.handshaking:
                self._settle(conn, outcome)
                return
        self._settle(conn, self._receive(conn, intake))

    def _handshake(self, conn: Any, intake: _Intake) -> str:
        try:
            conn.sock.do_handshake()
        except ssl.SSLWantReadError:
            self.poller.modify(conn.sock, selectors.EVENT_READ, partial(self._on_event, conn))
            return _Outcome.MORE
        except ssl.SSLWantWriteError:
            self.poller.modify(conn.sock, selectors.EVENT_WRITE, partial(self._on_event, conn))
            return _Outcome.MORE
        except (OSError, ValueError) as exc:
            self.log.debug("TLS handshake with %s failed: %s", conn.client, exc)
            return _Outcome.CLOSE
        intake.handshaking = False
        self.poller.modify(conn.sock, selectors.EVENT_READ, partial(self._on_event, conn))
        return _Outcome.MORE

    def _receive(self, conn: Any, intake: _Intake) -> str:
        pieces: list[bytes] = []
        closed = False
        received = 0
        while True:
            if received >= FAIR_SHARE:
                # One fast upload must not hold the loop: come back on the next turn. A TLS
                # socket's decrypted bytes do not wake the poller, so ask for that turn.
                if isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending():
                    self.method_queue.defer(self._on_event, conn, conn.sock)
                break
            try:
                piece = conn.sock.recv(256 * 1024)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            except InterruptedError:
                continue
            except (OSError, ValueError):
                return _Outcome.CLOSE
            if not piece:
                closed = True
                break
            pieces.append(piece)
            received += len(piece)
        outcome = self._take(intake, conn, b"".join(pieces)) if pieces else _Outcome.MORE
        if closed and outcome == _Outcome.MORE:
            # The client stopped sending (a half-close) before its request was complete:
            # with a head, gunicorn and the application answer the truncated body.
            return _Outcome.CLOSE if intake.head_done_at is None else _Outcome.READY
        return outcome

    def _take(self, intake: _Intake, conn: Any, data: bytes) -> str:
        """Add received bytes; whether the request is complete."""
        if intake.head_done_at is None:
            intake.head += data
            end = intake.head.find(HEAD_END)
            if end < 0:
                if len(intake.head) > self.limits.max_head_bytes:
                    self._send(conn, HEAD_TOO_LARGE)
                    return _Outcome.CLOSE
                return _Outcome.MORE
            head, data = bytes(intake.head[: end + 4]), bytes(intake.head[end + 4 :])
            intake.head = bytearray()
            intake.head_done_at = time.monotonic()
            head, ready = self._read_head(intake, conn, head)
            intake.spool.write(head)
            if ready:
                intake.spool.write(data)
                return _Outcome.READY
        intake.spool.write(data)
        intake.body_received += len(data)
        if intake.body_received > self.limits.max_body_bytes:
            return _Outcome.READY
        try:
            complete = intake.body is None or intake.body.feed(data)
        except ValueError:
            return _Outcome.READY  # gunicorn answers the malformed chunking
        return _Outcome.READY if complete else _Outcome.MORE

    def _read_head(self, intake: _Intake, conn: Any, head: bytes) -> tuple[bytes, bool]:
        """Set how the body ends; the head to pass on, and whether to pass it on now."""
        lines = head.split(b"\r\n")
        lengths = set()
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                lengths.add(value.strip())
            elif name == b"transfer-encoding":
                chunked = chunked or b"chunked" in value.lower()
        if chunked:
            if lengths:
                return head, True  # both: gunicorn refuses it
            intake.body = _ChunkedBody()
        elif lengths:
            if len(lengths) > 1 or not next(iter(lengths)).isdigit():
                return head, True
            length = int(next(iter(lengths)))
            if length > self.limits.max_body_bytes:
                return head, True  # the application answers 413 from the length alone
            intake.body = _LengthBody(length)
        if intake.body is not None and _EXPECT_CONTINUE.search(head):
            # The client waits for this before sending its body; gunicorn would send it
            # only once a thread has the request, which here is after the body.
            self._send(conn, CONTINUE)
            head = _EXPECT_CONTINUE.sub(b"", head)
        return head, intake.body is None or (
            isinstance(intake.body, _LengthBody) and intake.body.remaining == 0
        )

    def _send(self, conn: Any, data: bytes) -> None:
        # Small enough for any socket buffer; a failure shows on the next read.
        with contextlib.suppress(OSError, ValueError):
            conn.sock.send(data)

    def _settle(self, conn: Any, outcome: str) -> None:
        if outcome == _Outcome.MORE:
            return
        if outcome == _Outcome.CLOSE:
            self._drop(conn)
            return
        intake = self.intakes.pop(conn)
        self._unregister(conn)
        conn.sock.setblocking(True)
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.initialized = True
        conn.data_ready = True
        conn.parser.unreader = PrefetchedUnreader(conn.sock, intake.spool)
        super().enqueue_req(conn)

    def _drop(self, conn: Any) -> None:
        intake = self.intakes.pop(conn, None)
        if intake is not None:
            intake.spool.close()
        self._unregister(conn)
        self.nr_conns -= 1
        conn.close()

    def _unregister(self, conn: Any) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError) as exc:
            if getattr(exc, "errno", None) not in (None, errno.EBADF):
                raise


def worker_class(limits: ReadLimits) -> type[IntakeThreadWorker]:
    """The worker class `xds serve` gives gunicorn, carrying its read limits."""
    return type("XdsWorker", (IntakeThreadWorker,), {"limits": limits})


__all__ = ["IntakeThreadWorker", "PrefetchedUnreader", "worker_class"]
