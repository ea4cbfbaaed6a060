"""MLLP (HL7 Minimal Lower Layer Protocol) over asyncio: <VT> message <FS><CR>.

Written on the public asyncio streams API rather than python-hl7's `hl7.mllp`, which
subclasses private asyncio internals (its issues #43 and #57 are breakages from that).

Each connection is served in order: one frame in, its ACK out. The handler (database
work) runs in a worker thread so that other connections keep being served. Bytes outside a
frame are discarded; a frame larger than the limit closes the connection (nothing sensible
can be acknowledged without reading it all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from functools import partial
from types import TracebackType

from registry.feed.handler import handle_message
from registry.feed.header import decode
from registry.patients import Patients
from registry.settings import RegistrySettings

log = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\r"

Handler = Callable[[str], str]


def frame(message: str | bytes, codec: str = "utf-8") -> bytes:
    """`message` wrapped in an MLLP block."""
    data = message.encode(codec, errors="replace") if isinstance(message, str) else message
    return START_BLOCK + data + END_BLOCK


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The next block's content; None at end of stream. Raises ValueError when too large."""
    while True:
        try:
            block = await reader.readuntil(END_BLOCK)
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                log.warning("MLLP: connection closed inside a frame (%d bytes)", len(exc.partial))
            return None
        except asyncio.LimitOverrunError as exc:
            raise ValueError("MLLP frame exceeds the size limit") from exc
        start = block.find(START_BLOCK)
        if start < 0:
            log.warning("MLLP: %d bytes outside a frame discarded", len(block))
            continue
        if block[:start].strip():
            log.warning("MLLP: %d bytes before a frame discarded", start)
        return block[start + 1 : -len(END_BLOCK)]


class MllpServer:
    """A listening MLLP server; `close()` also ends the open connections."""

    def __init__(self, handler: Handler, max_message_bytes: int) -> None:
        self._handler = handler
        self._limit = max_message_bytes
        self._connections: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen on host:port (0: an ephemeral port); the address bound."""
        self._server = await asyncio.start_server(self._connected, host, port, limit=self._limit)
        address = self._server.sockets[0].getsockname()
        return address[0], address[1]

    async def serve_forever(self) -> None:
        assert self._server is not None, "start() first"
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        log.info("MLLP: connection from %s", peer)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, ValueError) as exc:
            log.warning("MLLP: connection from %s ended: %s", peer, exc)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):  # the peer may have gone first
                await writer.wait_closed()
            log.info("MLLP: connection from %s closed", peer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while (data := await read_frame(reader)) is not None:
            text, codec = decode(data)
            ack = await loop.run_in_executor(None, self._handler, text)
            writer.write(frame(ack, codec))
            await writer.drain()


def feed_handler(patients: Patients, settings: RegistrySettings) -> Handler:
    """The ITI-8 handler bound to a registry's patients and settings."""
    return partial(handle_message, patients, settings=settings)


async def serve_mllp(patients: Patients, host: str, port: int, settings: RegistrySettings) -> None:
    """Serve the ITI-8 feed on host:port until cancelled."""
    server = MllpServer(feed_handler(patients, settings), settings.mllp_max_message_bytes)
    address = await server.start(host, port)
    log.info("ITI-8 MLLP feed listening on %s:%d", *address)
    try:
        await server.serve_forever()
    finally:
        await server.close()


class MllpServerThread:
    """The ITI-8 MLLP server on its own event loop in a background thread.

    ``with MllpServerThread(patients, settings) as (host, port): ...`` (port 0 by default:
    an ephemeral port); `stop()` closes the listener and every connection.
    """

    def __init__(
        self,
        patients: Patients,
        settings: RegistrySettings,
        host: str = "127.0.0.1",
        port: int = 0,
        wrap: Callable[[Handler], Handler] | None = None,
    ) -> None:
        """`wrap` decorates the ITI-8 handler (the console's capture, `web.capture`)."""
        handler = feed_handler(patients, settings)
        self._server = MllpServer(
            wrap(handler) if wrap else handler, settings.mllp_max_message_bytes
        )
        self._host, self._port = host, port
        self._thread = threading.Thread(target=self._run, name="mllp-feed", daemon=True)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self.address: tuple[str, int] | None = None

    def start(self) -> tuple[str, int]:
        """Start the thread; the bound address once it listens."""
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        assert self.address is not None
        return self.address

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join()

    def __enter__(self) -> tuple[str, int]:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            self.address = await self._server.start(self._host, self._port)
        except OSError as exc:
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stopping.wait()
        await self._server.close()
