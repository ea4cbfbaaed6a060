"""Remember accepted assertion IDs until they would expire anyway."""

from __future__ import annotations

import heapq
import threading
from datetime import datetime
from typing import Protocol

from pki.assertion.errors import ReplayCacheFull, ReplayedAssertion

DEFAULT_CAPACITY = 100_000


class ReplayGuard(Protocol):
    def check_and_remember(self, key: str, *, expires: datetime, now: datetime) -> None:
        """Raise `ReplayedAssertion` if `key` was seen and has not expired; else remember it."""


class ReplayCache:
    """An in-process, thread-safe replay cache bounded in size and in time.

    An entry lives until the assertion's own expiry: after that, the validity checks refuse
    the assertion anyway. Several server processes need a shared `ReplayGuard` instead.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._expiry: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def check_and_remember(self, key: str, *, expires: datetime, now: datetime) -> None:
        with self._lock:
            self._forget_expired(now)
            if key in self._expiry:
                raise ReplayedAssertion(f"assertion {key} was already presented")
            if len(self._expiry) >= self._capacity:
                raise ReplayCacheFull(f"replay cache full ({self._capacity} live assertions)")
            self._expiry[key] = expires
            heapq.heappush(self._heap, (expires, key))

    def _forget_expired(self, now: datetime) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, key = heapq.heappop(self._heap)
            self._expiry.pop(key, None)
