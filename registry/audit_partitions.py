"""The audit trail by month (PostgreSQL, revision 0011): partitions made ahead of time.

`audit_events` is `PARTITION BY RANGE (occurred_at)`, one partition per calendar month
(UTC) named `audit_events_y2026m12`, and a DEFAULT partition that takes any event no month
partition covers, so that writing an event never fails for want of a partition. `xds serve`
makes the current month's partition and the next `AHEAD` months' at every start. Keeping
the trail by month lets an operator archive or drop a whole month at once (DROP TABLE of a
partition), where deleting rows is refused (the trail is append-only).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from registry.storage import write_transaction

AHEAD = 3
log = logging.getLogger(__name__)


def months(first: datetime, last: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The calendar months (UTC) from `first`'s through `last`'s, as [start, next start)."""
    year, month = first.astimezone(UTC).year, first.astimezone(UTC).month
    end = (last.astimezone(UTC).year, last.astimezone(UTC).month)
    while (year, month) <= end:
        start = datetime(year, month, 1, tzinfo=UTC)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        yield start, datetime(year, month, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"audit_events_y{start.year:04d}m{start.month:02d}"


def create_month(conn: Connection, start: datetime, end: datetime) -> None:
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {partition_name(start)} PARTITION OF audit_events "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )


def ensure_ahead(engine: Engine, now: datetime | None = None, ahead: int = AHEAD) -> None:
    """PostgreSQL: the partitions of this month and the `ahead` next; SQLite: nothing.

    A month whose events already went to the DEFAULT partition cannot be made any more
    (PostgreSQL refuses): it is logged and its events stay there, found by every query.
    """
    if engine.dialect.name != "postgresql":
        return
    now = now or datetime.now(UTC)
    last = now.astimezone(UTC)
    for _ in range(ahead):
        last = datetime(last.year + last.month // 12, last.month % 12 + 1, 1, tzinfo=UTC)
    for start, end in months(now, last):
        try:
            with write_transaction(engine) as conn:
                create_month(conn, start, end)
        except DBAPIError as exc:  # the trail still takes every event (DEFAULT)
            log.warning("audit trail: no partition for %s: %s", partition_name(start), exc)


class MonthKeeper:
    """`ensure_ahead` every `interval` seconds, in a thread, until `stop`."""

    def __init__(self, engine: Engine, interval: float = 86_400.0) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-months", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        # `xds serve` made them as it started: the first turn is one interval later.
        while not self._stop.wait(self.interval):
            try:
                ensure_ahead(self.engine)
            except DBAPIError as exc:  # the database is down: try again at the next turn
                log.warning("audit trail: months not made: %s", exc)


__all__ = ["AHEAD", "MonthKeeper", "create_month", "ensure_ahead", "months", "partition_name"]
