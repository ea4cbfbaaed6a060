"""Engines and migrations: SQLite (embedded default) and PostgreSQL, one schema.

Nothing connects at import; `create_engine_for` builds an engine and `migrate`
brings its database to the newest schema with the Alembic scripts shipped in
`registry/migrations`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as _create_engine
from sqlalchemy.pool import StaticPool

_AUTOCOMMIT: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE = "xds_write"  # execution option: this transaction will write (SQLite: BEGIN IMMEDIATE)


def create_engine_for(url: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    """An engine for `url`: SQLite in WAL mode with foreign keys, or PostgreSQL.

    `schema` (PostgreSQL) puts the search path, hence every table, in that schema.
    """
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        engine = _create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        # SQLAlchemy 2.1 defaults to psycopg 3; the project ships psycopg2.
        url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    if schema:
        kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    # No pre-ping: it costs a round trip per checkout. A connection found dead fails its
    # first statement, the pool drops it, and the writers try once more (`Registry._write`;
    # the express path looks at the socket first, `registry.express_postgresql`).
    engine = _create_engine(url, **kwargs)
    # Nothing to roll back on return in autocommit (the code that spells BEGIN out ends
    # it, or invalidates the connection): no reset, which the pool would pay per checkin.
    autocommit = _create_engine(
        url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, **kwargs
    )
    _AUTOCOMMIT[engine] = autocommit
    event.listen(engine, "engine_disposed", lambda _engine: autocommit.dispose())
    return engine


def autocommit_engine(engine: Engine) -> Engine:
    """PostgreSQL: a pool beside `engine`'s whose connections always run in autocommit.

    A lone SELECT there is one round trip (psycopg2 sends BEGIN before a statement in a
    transaction, and the pool ROLLBACK after it), and a string that spells out
    `BEGIN; …; COMMIT` is one transaction (`registry.express_postgresql`). Its connections never
    switch modes: switching costs psycopg2 a SET on the wire. SQLite: `engine` itself.
    """
    return _AUTOCOMMIT.get(engine, engine)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from the driver so that writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "synchronous=NORMAL",
            "busy_timeout=10000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that upgrades
        # from read to write can fail with SQLITE_BUSY instead of waiting.
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that will write: commits on success, rolls back on error."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE: True})
        with conn.begin():
            yield conn


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database of `engine` to `revision` (the newest by default)."""
    with write_transaction(engine) as conn:
        command.upgrade(_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision the shipped migration scripts know."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()
