"""Streaming replicas for the registry's reads: stored queries go to a replica, writes to the
primary, and a client reads its own writes.

A replica serves a query when it is streaming from the primary, is not lagging beyond
`max_lag`, and has replayed the last commit of the client asking (read-your-writes: the
submitting hospital finds the document it has just registered). A replica behind that
commit is waited for, up to `wait`; then, and whenever no replica is fit, the primary
answers. A replica that fails is set aside for `retry_after` seconds.

The commit LSN of each client (its TLS structure id, else its address; `RequestOrigin`) is
kept in `WrittenLsns`, a small table in shared memory made before gunicorn forks its
workers, so that a submission served by one worker is seen by the query another serves.
Clients that share a slot of the table only wait for each other's commits: never a stale
read, at worst a later one.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import mmap
import multiprocessing
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from registry.audit import current_origin

log = logging.getLogger("registry.replicas")

_SLOT = struct.Struct("<Q")


@dataclass(frozen=True)
class ReplicaSettings:
    """How replicas are chosen: the lag tolerated, and how long a reader waits for its write."""

    max_lag: float = 5.0  # seconds behind the primary beyond which a replica is skipped
    wait: float = 0.5  # seconds a client waits for a replica to replay its last commit
    retry_after: float = 10.0  # seconds a failed replica is left aside
    check_every: float = 0.1  # seconds a replica's state is trusted without asking again


def parse_lsn(value: str) -> int:
    """A PostgreSQL LSN (`16/B374D848`) as a number."""
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def client_key() -> str:
    """Who is asking, for read-your-writes: the TLS structure id, else the address."""
    origin = current_origin()
    if origin is None:
        return "-"
    return origin.structure_id or origin.address or "-"


class WrittenLsns:
    """The last commit LSN of each client, shared by the processes forked after it is made."""

    def __init__(self, slots: int = 4096) -> None:
        self.slots = slots
        self._memory = mmap.mmap(-1, slots * _SLOT.size)  # anonymous, shared across fork
        self._lock = multiprocessing.Lock()

    def _offset(self, key: str) -> int:
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        return (int.from_bytes(digest, "little") % self.slots) * _SLOT.size

    def record(self, key: str, lsn: int) -> None:
        offset = self._offset(key)
        # A worker killed inside this section would hold the lock for ever: never wait long.
        locked = self._lock.acquire(timeout=0.05)
        try:
            (known,) = _SLOT.unpack_from(self._memory, offset)
            if lsn > known:
                _SLOT.pack_into(self._memory, offset, lsn)
        finally:
            if locked:
                self._lock.release()

    def last(self, key: str) -> int:
        (lsn,) = _SLOT.unpack_from(self._memory, self._offset(key))
        return int(lsn)


@dataclass
class _State:
    replayed: int = 0
    fit: bool = False
    checked_at: float = 0.0
    failed_at: float = -1e9


_STATE_SQL = text(
    "SELECT pg_last_wal_replay_lsn()::text,"
    " (SELECT status FROM pg_stat_wal_receiver LIMIT 1),"
    " pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),"
    " COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)"
)


class Replicas:
    """The replicas' engines, and the choice of one for a read."""

    def __init__(
        self,
        engines: Sequence[Engine],
        written: WrittenLsns,
        settings: ReplicaSettings = ReplicaSettings(),
    ) -> None:
        self.engines = tuple(engines)
        self.written = written
        self.settings = settings
        self._states = {engine: _State() for engine in self.engines}
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def wrote(self, lsn: int) -> None:
        """The client of this request committed at `lsn`."""
        self.written.record(client_key(), lsn)

    def reader(self) -> Engine | None:
        """A replica fit to answer this client now, or None: ask the primary."""
        target = self.written.last(client_key())
        deadline = time.monotonic() + self.settings.wait
        while True:
            behind = False
            start = next(self._turn)
            for n in range(len(self.engines)):
                engine = self.engines[(start + n) % len(self.engines)]
                state = self._state(engine, target)
                if not state.fit:
                    continue
                if state.replayed >= target:
                    return engine
                behind = True
            if not behind or time.monotonic() >= deadline:
                return None
            time.sleep(0.005)

    def failed(self, engine: Engine, exc: Exception) -> None:
        """A query on `engine` failed: leave it aside for a while."""
        log.warning("replica %s left aside: %s", engine.url.host, exc)
        with self._lock:
            state = self._states[engine]
            state.fit, state.failed_at = False, time.monotonic()
        engine.dispose()

    def _state(self, engine: Engine, target: int) -> _State:
        now = time.monotonic()
        state = self._states[engine]
        if now - state.failed_at < self.settings.retry_after:
            return state
        fresh = now - state.checked_at < self.settings.check_every
        if fresh and (not state.fit or state.replayed >= target):
            return state
        try:
            with engine.connect() as conn:
                replayed, receiver, caught_up, lag = conn.execute(_STATE_SQL).one()
        except DBAPIError as exc:
            self.failed(engine, exc)
            return self._states[engine]
        fit = (
            replayed is not None
            and receiver == "streaming"
            and (bool(caught_up) or float(lag) <= self.settings.max_lag)
        )
        if not fit:
            host = engine.url.host
            log.info("replica %s not fit (receiver %s, %.1f s behind)", host, receiver, lag)
        with self._lock:
            state.replayed = parse_lsn(replayed) if replayed else 0
            state.fit, state.checked_at = fit, now
        return state

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()


__all__ = ["ReplicaSettings", "Replicas", "WrittenLsns", "client_key", "parse_lsn"]
