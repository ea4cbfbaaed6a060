"""A replay guard shared by every worker and host: accepted assertion ids in the database.

`pki.assertion.ReplayCache` lives in one process; gunicorn runs several, and a load
balancer spreads requests over several hosts. The registry's database is already their one
source of truth, so the guard is a table with the assertion's key as primary key: the
database itself refuses a second insert, whichever process tries, with no lock of ours.
A repository serving alone has no registry database: `open_replay_guard` then keeps the
table in a SQLite file of its data folder, shared by the workers of that host.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from pki.assertion import ReplayedAssertion
from registry.schema import seen_assertions
from registry.storage import create_engine_for, write_transaction

REPLAY_DATABASE = "replay.sqlite"


class DatabaseReplayGuard:
    """`pki.assertion.ReplayGuard` over the `seen_assertions` table.

    Each call purges the rows whose assertion has expired (an indexed delete), then inserts
    the new key in the same transaction; a duplicate key is a replay.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def check_and_remember(self, key: str, *, expires: datetime, now: datetime) -> None:
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    delete(seen_assertions).where(
                        seen_assertions.c.expires_at <= int(now.timestamp())
                    )
                )
                conn.execute(
                    insert(seen_assertions).values(
                        key_hash=key_hash, expires_at=int(expires.timestamp()) + 1
                    )
                )
        except IntegrityError:
            raise ReplayedAssertion(f"assertion {key} was already presented") from None


def open_replay_guard(engine: Engine | None, data_folder: Path) -> DatabaseReplayGuard:
    """The guard on the registry's (migrated) database, or on a SQLite file in `data_folder`.

    Call it once in the serving process before the workers start, so that the SQLite table
    is created by one process only.
    """
    if engine is None:
        url = f"sqlite:///{(Path(data_folder) / REPLAY_DATABASE).resolve()}"
        engine = create_engine_for(url)
        seen_assertions.create(engine, checkfirst=True)
    return DatabaseReplayGuard(engine)


__all__ = ["REPLAY_DATABASE", "DatabaseReplayGuard", "open_replay_guard"]
