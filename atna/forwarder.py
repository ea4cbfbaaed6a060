"""Follow the append-only audit table and send each new event to a syslog collector.

The table is the queue: every transaction already wrote its event there, in its own
database transaction, so nothing waits on the collector and nothing is lost while it is
away. The forwarder keeps, per collector, the number of the last event it delivered
(`audit_forwarding`) and moves it only after the transport took the batch: delivery is at
least once (a crash between send and save repeats that batch), in writing order.

A collector configured for the first time starts with the events written from then on;
the trail before it stays in the table and the CLI. On PostgreSQL several servers on one
database share a collector's cursor: the row is locked (SKIP LOCKED) for the length of a
batch, so one of them sends it. SQLite has one server: the cursor moves in a short write
transaction after the send, so registry writes never wait on the network.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from atna.message import AuditSource, render_audit_message
from atna.syslog import SyslogError, SyslogSender, syslog_message
from registry.audit import AuditEvent, events_after, last_event_id
from registry.records_schema import audit_forwarding
from registry.storage import write_transaction

log = logging.getLogger("xds.atna")

APP_NAME = "xds-registry"
BATCH = 200
MAX_BACKOFF = 60.0


class AuditForwarder:
    """Sends the events of `engine`'s audit table to `sender`, oldest first, once each."""

    def __init__(
        self,
        engine: Engine,
        sender: SyslogSender,
        source: AuditSource,
        *,
        hostname: str | None = None,
        batch: int = BATCH,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.source = source
        self.collector = str(sender.destination)
        self.hostname = hostname or socket.getfqdn()
        self.batch = batch
        self._clock = clock
        self._locking = engine.dialect.name == "postgresql"

    def ensure_cursor(self) -> int:
        """The collector's position, created at the newest event when it has none yet."""
        try:
            with write_transaction(self.engine) as conn:
                position = self._position(conn)
                if position is None:
                    position = last_event_id(conn)
                    conn.execute(
                        insert(audit_forwarding).values(
                            collector=self.collector,
                            last_event_id=position,
                            updated_at=self._clock(),
                        )
                    )
                return position
        except IntegrityError:  # another server created it meanwhile
            with self.engine.connect() as conn:
                return self._position(conn) or 0

    def forward_once(self) -> int:
        """Send the next batch; the number of events delivered (0: nothing new, or locked).

        Raises SyslogError when the collector did not take the batch; the position stays.
        """
        if self._locking:
            with self.engine.connect() as conn, conn.begin():
                position = self._position(conn, lock=True)
                if position is None:
                    return 0  # another server is sending this batch
                events = events_after(conn, position, limit=self.batch)
                self._send(events)
                self._advance(conn, position, events)
            return len(events)
        with self.engine.connect() as conn, conn.begin():
            position = self._position(conn) or 0
            events = events_after(conn, position, limit=self.batch)
        if not events:
            return 0  # idle: no write lock taken once a second for nothing
        self._send(events)
        with write_transaction(self.engine) as conn:
            self._advance(conn, position, events)
        return len(events)

    def drain(self) -> int:
        """Forward until nothing is left; the number of events delivered."""
        total = 0
        while sent := self.forward_once():
            total += sent
        return total

    def _position(self, conn: Connection, *, lock: bool = False) -> int | None:
        query = select(audit_forwarding.c.last_event_id).where(
            audit_forwarding.c.collector == self.collector
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        value = conn.execute(query).scalar()
        return None if value is None else int(value)

    def _send(self, events: list[AuditEvent]) -> None:
        messages = [m for m in map(self._message, events) if m is not None]
        if messages:
            self.sender.send(messages)

    def _message(self, event: AuditEvent) -> bytes | None:
        try:
            xml = render_audit_message(event, self.source)
        except ValueError as exc:  # an event no DICOM message describes: say so, go on
            log.error("audit event %s not forwarded: %s", event.event_id, exc)
            return None
        return syslog_message(
            xml,
            timestamp=event.occurred_at or self._clock(),
            hostname=self.hostname,
            app_name=APP_NAME,
            procid=str(os.getpid()),
        )

    def _advance(self, conn: Connection, position: int, events: list[AuditEvent]) -> None:
        if not events:
            return
        newest = max(e.event_id or 0 for e in events)
        c = audit_forwarding.c
        conn.execute(
            update(audit_forwarding)
            .where(c.collector == self.collector, c.last_event_id == position)
            .values(last_event_id=newest, updated_at=self._clock())
        )


class ForwarderThread:
    """Runs an `AuditForwarder` on a daemon thread: a batch, then a pause when idle.

    A collector that refuses or is unreachable is retried with a doubling pause (up to a
    minute); its address and the error are logged, never a message's content.
    """

    def __init__(self, forwarder: AuditForwarder, *, interval: float = 1.0) -> None:
        self.forwarder = forwarder
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.forwarder.ensure_cursor()
        self._thread = threading.Thread(target=self._run, name="atna-forwarder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.forwarder.sender.close()

    def _run(self) -> None:
        pause = self.interval
        failing = False
        while not self._stop.is_set():
            try:
                sent = self.forwarder.forward_once()
            except Exception as exc:
                # The collector or the database is away (or a bug): retry later, loudly.
                if not failing:
                    expected = isinstance(exc, (SyslogError, SQLAlchemyError))
                    log.log(
                        logging.WARNING if expected else logging.ERROR,
                        "audit collector %s: %s",
                        self.forwarder.collector,
                        exc,
                        exc_info=not expected,
                    )
                failing = True
                pause = min(pause * 2, MAX_BACKOFF)
                self._stop.wait(pause)
                continue
            if failing:
                log.info("audit collector %s reachable again", self.forwarder.collector)
                failing, pause = False, self.interval
            if sent < self.forwarder.batch:
                self._stop.wait(self.interval)


__all__ = ["AuditForwarder", "ForwarderThread"]
