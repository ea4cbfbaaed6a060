"""ITI-42's plain submission on PostgreSQL: one round trip (`registry.express`).

The connection runs in autocommit (`registry.storage.autocommit_engine`) and one string
spells the transaction out: `BEGIN`, a guard that fails unless the patients are as
required, the INSERTs (objects, side rows, uniqueId claims, the co-located repository's
index rows, the audit event), `COMMIT`. What the guard does not ask, the keys answer: a
taken uniqueId, entryUUID or index entry fails its INSERT, the transaction is rolled
back, and the submission is not plain. Nothing is compiled per request: each INSERT (a
table and a number of rows) is prepared once per connection, in the string of its first
use, and then executed with the values quoted as literals.
Behind a pooler that does not keep them (PgBouncer in transaction mode), the first lost
one turns them off for the pool: the statements go as text, as before.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import select
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Engine, Table
from sqlalchemy.exc import DBAPIError

from registry.insert_shapes import Shape, insert_shape, row_values, rows_values
from registry.records import RecordStatus
from registry.replicas import parse_lsn
from registry.storage import autocommit_engine

Rows = Mapping[Table, Sequence[Mapping[str, Any]]]
log = logging.getLogger(__name__)


class Unavailable(Exception):
    """The database failed (down, busy, connection lost); nothing is known to be written."""


# The guard: 1/1 when every patient is known and not merged and, when asked, has an open
# record; else a division by zero (SQLSTATE 22012), which aborts the transaction before
# anything is written. A CASE … ELSE 1/0 would not do: PostgreSQL folds a constant 1/0
# while planning. The patients are distinct (`PlainSubmission.patients`).
_GUARD_PATIENTS = (
    "SELECT 1 / ((SELECT count(*) FROM patients WHERE patient_id = ANY(%(patients)s)"
    " AND merged_into IS NULL) = cardinality(%(patients)s::text[]))::int"
)
_GUARD_RECORDS = (
    " / ((SELECT count(*) FROM records WHERE patient_id = ANY(%(records)s)"
    f" AND status = '{RecordStatus.OPEN.value}') = cardinality(%(records)s::text[]))::int"
)


def guard_sql(params: Mapping[str, Sequence[str]]) -> str:
    """PostgreSQL's guard statement for these parameters."""
    return _GUARD_PATIENTS + (_GUARD_RECORDS if params.get("records") else "")


def register_postgresql(
    engine: Engine,
    params: dict[str, list[str]],
    rows: Rows,
    fresh: Sequence[str],
    *,
    commit_lsn: bool = False,
) -> bool | int:
    """One round trip: `BEGIN`, the guard, the INSERTs, `COMMIT` (`_round_trip`).

    There is no pool pre-ping (a round trip per request). A connection the server has
    closed (a restart, an idle timeout, a terminated backend) has its end-of-stream, or
    the server's last message, waiting on its socket: one idle for a second or more is
    looked at, and dropped before anything is sent. A connection lost during the round
    trip may have committed or not: the registry's generated entryUUIDs (`fresh`, new by
    construction) are looked for on a new connection: found, the submission is
    registered; not found, it is tried once more; no generated id to look for, the
    outcome is unknown (`Unavailable`).
    """
    import psycopg2
    from psycopg2 import errors

    pool = autocommit_engine(engine)
    retried = False
    for _attempt in range(_LIVENESS_TRIES):
        pooled = pool.raw_connection()
        try:
            now = time.monotonic()
            idle = now - pooled.info.get(_LAST_USED, -_IDLE_CHECKED)
            if idle >= _IDLE_CHECKED and _closed_by_server(pooled.driver_connection):
                pooled.invalidate()
                continue
            pooled.info[_LAST_USED] = now
            prepared = None if pool in _UNPREPARED else pooled.info.setdefault(_PREPARED, set())
            with contextlib.closing(pooled.cursor()) as cursor:
                statement, new = _round_trip(cursor, engine, params, rows, prepared)
                if commit_lsn:
                    statement += b";SELECT pg_current_wal_lsn()::text"
                try:
                    _send(cursor, statement)
                except (psycopg2.IntegrityError, errors.DivisionByZero):
                    # a key taken (maybe by a concurrent submission), or the guard: not plain
                    cursor.execute("ROLLBACK")
                    if prepared is not None:  # they came first, and outlive the rollback
                        prepared.update(new)
                    return False
                except (errors.InvalidSqlStatementName, errors.DuplicatePreparedStatement) as exc:
                    cursor.execute("ROLLBACK")
                    _UNPREPARED.add(pool)
                    log.warning(
                        "registry database: a prepared statement was lost or found already "
                        "there (a pooler such as PgBouncer in transaction mode?); the express "
                        "path sends its statements as text from now on: %s",
                        str(exc).strip(),
                    )
                    continue
                if prepared is not None:
                    prepared.update(new)
                if not commit_lsn:
                    return True
                (lsn,) = cursor.fetchone() or ("0/0",)
                return parse_lsn(lsn)
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            pooled.invalidate()
            registered = _registered(pool, fresh)
            if registered is None or (retried and not registered):
                raise Unavailable(str(exc).strip()) from exc
            if registered:
                return True if not commit_lsn else _wal_position(pool)
            retried = True
        except psycopg2.Error as exc:
            pooled.invalidate()  # the transaction's state is unknown: drop the connection
            raise Unavailable(str(exc).strip()) from exc
        except BaseException:
            pooled.invalidate()  # e.g. a value no literal can carry
            raise
        finally:
            pooled.close()
    raise Unavailable("no live connection to the registry database")


# Connections tried for one submission: each closed one is dropped, and after a restart
# of the server every pooled connection is.
_LIVENESS_TRIES = 8
# A connection idle this long (seconds) is looked at before use. A busy server's are not:
# asking the socket is a system call, a turn of the GIL between the request threads, and
# one lost in the meantime is settled after the fact like any other.
_IDLE_CHECKED = 1.0
_LAST_USED = "xds_express_last_used"  # in the pool's record of the connection
_PREPARED = "xds_express_prepared"  # there too: the names this connection has prepared
_MOST_PREPARED = 64  # statements prepared on one connection, at most
_MOST_ROWS_PREPARED = 16  # an INSERT of more rows than this into one table goes as text
# Pools where a prepared statement was lost, or found already there: a pooler in between
# (PgBouncer in transaction mode hands each transaction to any server connection).
_UNPREPARED: weakref.WeakSet[Engine] = weakref.WeakSet()


def _send(cursor: Any, statement: bytes) -> None:
    """The one round trip (a seam for the tests that lose the connection in it)."""
    cursor.execute(statement)


def _closed_by_server(connection: Any) -> bool:
    """Whether the server has closed this idle connection, asked of its socket (no round
    trip): between statements a live server sends nothing."""
    if connection.closed:
        return True
    readable, _, _ = select.select([connection.fileno()], [], [], 0)
    return bool(readable)


def _registered(pool: Engine, fresh: Sequence[str]) -> bool | None:
    """Whether the objects with these generated entryUUIDs are stored; None: cannot tell."""
    if not fresh:
        return None
    try:
        with pool.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT count(*) FROM object_patients WHERE entry_uuid = ANY(%(fresh)s)",
                {"fresh": list(fresh)},
            ).scalar_one()
    except DBAPIError:
        return None
    return bool(found)


def _wal_position(pool: Engine) -> int:
    """The WAL position now, at or after a commit another connection made."""
    with pool.connect() as conn:
        return parse_lsn(conn.exec_driver_sql("SELECT pg_current_wal_lsn()::text").scalar_one())


def _round_trip(
    cursor: Any, engine: Engine, params: Mapping[str, Sequence[str]], rows: Rows,
    prepared: set[str] | None,
) -> tuple[bytes, list[str]]:  # fmt: skip
    """The string of the round trip, and the names of the statements it prepares.

    `prepared`: what this connection has prepared already (None: send every statement as
    text). Each INSERT of a table and a number of rows is prepared at its first use on a
    connection, in the same string, after `BEGIN`; then it is only `EXECUTE name(values)`,
    which PostgreSQL neither parses as an INSERT nor plans again (the most of the third of
    its CPU per submission it spent there). An INSERT of values has one plan whatever the
    size of the table, so a prepared one never goes stale.
    """
    literals = _literal_writer(cursor)
    setup: list[bytes] = []
    new: list[str] = []

    def ready(name: str, definition: Callable[[], str]) -> bool:
        """Whether `name` can be executed in this string (prepared now if need be)."""
        if prepared is None:
            return False
        if name in prepared or name in new:
            return True
        if len(prepared) + len(new) >= _MOST_PREPARED:
            return False
        setup.append(f"PREPARE {name} {definition()}".encode())
        new.append(name)
        return True

    # The guard is planned each time: a generic plan made while `patients` is small is a
    # sequential scan, and PostgreSQL keeps it until the table is next analyzed.
    work = [cast(bytes, cursor.mogrify(guard_sql(params), params))]
    for table, table_rows in rows.items():
        if not table_rows:
            continue
        shape = insert_shape(table, engine)
        count = len(table_rows)
        name = f"xds_{table.name}_{count}"
        definition = functools.partial(_prepared_insert, shape, count)
        if count <= _MOST_ROWS_PREPARED and ready(name, definition):
            values = rows_values(table_rows, shape)
            work.append(b"EXECUTE " + name.encode() + b"(" + literals(values) + b")")
        else:
            tuples = (b"(" + literals(row_values(row, shape)) + b")" for row in table_rows)
            work.append(shape.head + b",".join(tuples))
    return b";".join([b"BEGIN", *setup, *work, b"COMMIT"]), new


def _prepared_insert(shape: Shape, count: int) -> str:
    """`shape`'s INSERT of `count` rows, its values $1, $2…, as PREPARE wants it."""
    width = len(shape.columns)
    rows = (
        "(" + ",".join(f"${row * width + column + 1}" for column in range(width)) + ")"
        for row in range(count)
    )
    return "AS " + shape.head.decode() + ",".join(rows)


def _literal_writer(cursor: Any) -> Callable[[Iterable[Any]], bytes]:
    """Values to a comma-separated list of literals, in this cursor's connection encoding."""
    connection = cursor.connection
    if (
        connection.encoding == "UTF8"
        and connection.get_parameter_status("standard_conforming_strings") == "on"
    ):
        return lambda values: _literals(cursor, values)

    def mogrified(values: Iterable[Any]) -> bytes:
        listed = list(values)
        return cast(bytes, cursor.mogrify(",".join(["%s"] * len(listed)), listed))

    return mogrified


def _literals(cursor: Any, values: Iterable[Any]) -> bytes:
    """`values` as comma-separated PostgreSQL literals, for a UTF-8 connection with
    standard_conforming_strings.

    There the only character special inside '…' is the quote itself, doubled (PostgreSQL
    manual, 4.1.2.1); psycopg2's `mogrify` does the same, three times slower. Strings,
    NULLs, integers and booleans, nearly every value of a submission, are written here in
    one loop; `mogrify` quotes anything else.
    """
    out: list[str] = []
    append = out.append
    for value in values:
        kind = type(value)
        if kind is str:
            append("'" + value.replace("'", "''") + "'")
        elif value is None:
            append("NULL")
        elif kind is int:
            append(str(value))
        elif kind is bool:
            append("true" if value else "false")  # as psycopg2 writes them
        else:
            append(cast(bytes, cursor.mogrify("%s", (value,))).decode())
    text = ",".join(out)
    if "\x00" in text:
        raise ValueError("a string literal cannot contain NUL characters")
    return text.encode()
