"""ITI-42 for a plain submission: every INSERT and the COMMIT at once, after one guard.

A plain submission is what hospitals send nearly always: new documents, a submission set,
perhaps new folders, linked only to one another by HasMember. Of the registry's state it
needs to know only that its patients are known and not merged (in the DMP, with an open
record), and that its uniqueIds and the entryUUIDs it chose itself are new; the entryUUIDs
the registry generates are fresh by construction and are not looked up; beside its
repository, that the documents' uniqueIds are not in the repository's index (the
repository does not look them up first).

Anything else is not decided here: an unknown patient, a taken uniqueId or entryUUID, a
lifecycle association, a unique-key conflict with a concurrent submission. `register`
then answers False having written nothing, and the caller runs the general path
(`registry.register.register_in`), which names every error exactly as before.

PostgreSQL: one round trip. The connection runs in autocommit
(`registry.storage.autocommit_engine`) and spells its transaction out: `BEGIN`, a guard
that fails unless the patients are as required, the INSERTs (objects, side rows,
uniqueId claims, the co-located repository's index rows, the audit event), `COMMIT`.
What the guard does not ask, the keys answer: a taken uniqueId, entryUUID or index entry
fails its INSERT, the transaction is rolled back, and the submission is not plain. The
values are quoted into statements whose text depends only on the tables, so nothing is
compiled per request. SQLite: one SELECT asks all of it, then the same statements with
`executemany`, in one BEGIN IMMEDIATE transaction.
"""

from __future__ import annotations

import contextlib
import functools
import json
import select
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine, Table
from sqlalchemy.exc import DBAPIError, IntegrityError

from ebrim.hl7 import patient_key
from ebrim.model import Association, Metadata, RegistryObject
from ebrim.vocabulary import AssociationType
from registry import store
from registry.lifecycle import Lifecycle
from registry.records import RecordStatus
from registry.register import assign, submitted_ids
from registry.rejection import Rejected
from registry.replicas import parse_lsn
from registry.storage import autocommit_engine, write_transaction

Rows = Mapping[Table, Sequence[Mapping[str, Any]]]

# SQLite's check (PostgreSQL's: `guard_sql` and the keys): its branches, each with
# the parameters it needs; a branch whose list is empty is left out of the statement.
_BRANCHES = (
    ("SELECT 'p', patient_id, merged_into FROM patients WHERE patient_id {patients}",
     ("patients",)),
    ("SELECT 'r', patient_id, status FROM records WHERE patient_id {records}", ("records",)),
    ("SELECT 'u', unique_id, kind FROM unique_ids WHERE unique_id {unique_ids}",
     ("unique_ids",)),
    ("SELECT 'e', entry_uuid, NULL FROM object_patients WHERE entry_uuid {uuids}", ("uuids",)),
    ("SELECT 's', unique_id, NULL FROM repository_documents"
     " WHERE repository_unique_id {repositories} AND unique_id {unindexed}",  # never less
     ("repositories", "unindexed")),
)  # fmt: skip
_NAMES = ("patients", "records", "unique_ids", "uuids", "repositories", "unindexed")
_PLACES = {name: f"IN (SELECT value FROM json_each(:{name}))" for name in _NAMES}
_NOTHING = "SELECT NULL, NULL, NULL WHERE false"


@functools.cache
def _check(given: frozenset[str]) -> str:
    branches = [
        template.format(**_PLACES)
        for template, needs in _BRANCHES
        if all(name in given for name in needs)
    ]
    return "\nUNION ALL ".join(branches) or _NOTHING


def check_sql(params: Mapping[str, Sequence[str]]) -> str:
    """SQLite's check statement for these parameters: the branches whose lists are not empty."""
    return _check(frozenset(name for name, values in params.items() if values))


# PostgreSQL's guard: 1/1 when every patient is known and not merged and, when asked, has
# an open record; else a division by zero (SQLSTATE 22012), which aborts the transaction
# before anything is written. A CASE … ELSE 1/0 would not do: PostgreSQL folds a constant
# 1/0 while planning. The patients are distinct (`PlainSubmission.patients`).
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


class Unavailable(Exception):
    """The database failed (down, busy, connection lost); nothing is known to be written."""


@dataclass(frozen=True)
class PlainSubmission:
    """A submission that `register` can write without the general path, as it will be stored."""

    objects: tuple[RegistryObject, ...]
    ids: dict[str, str]  # submitted id -> entryUUID
    patients: tuple[str, ...]
    claims: frozenset[tuple[str, str]]  # (kind, uniqueId)
    chosen_uuids: tuple[str, ...]  # entryUUIDs the submitter chose (urn:uuid:…)

    def rows(self) -> dict[Table, list[dict[str, Any]]]:
        return store.rows_of(self.objects)


def plan(metadata: Metadata, now: str) -> PlainSubmission | None:
    """The stored form of a plain submission, or None when it is not plain."""
    ids = submitted_ids(metadata)
    for link in metadata.associations:
        if link.known_type is not AssociationType.HAS_MEMBER:
            return None
        if link.source not in ids or link.target not in ids:
            return None
    new = assign(metadata, ids, now)
    try:
        Lifecycle(None, new).check()  # type: ignore[arg-type]  # no reference leaves the submission
    except Rejected:
        return None  # the general path reports it
    owners = [o for o in new.values() if not isinstance(o, Association)]
    return PlainSubmission(
        objects=tuple(new.values()),
        ids=ids,
        patients=tuple(sorted({patient_key(o.patient_id) for o in owners if o.patient_id})),
        claims=frozenset((store.KIND_NAMES[type(o)], o.unique_id) for o in owners if o.unique_id),
        chosen_uuids=tuple(sorted(uid for uid, given in ids.items() if uid == given)),
    )


def register(
    engine: Engine,
    plain: PlainSubmission,
    extra: Rows,
    *,
    require_open_record: bool,
    unindexed: Sequence[tuple[str, str]] = (),
    commit_lsn: bool = False,
) -> bool | int:
    """Write `plain` and the `extra` rows in one transaction; False: not plain, nothing written.

    `commit_lsn` (PostgreSQL, for replicas' read-your-writes): on success, the WAL position
    after the commit, read in the same round trip, instead of True.

    `unindexed`: (repositoryUniqueId, uniqueId) of documents that the co-located repository
    has not looked up in its index: any of them there makes the submission not plain (the
    primary key's index answers).
    Database failures propagate (SQLAlchemy's or, on PostgreSQL, psycopg2's exceptions).
    """
    rows: dict[Table, list[Mapping[str, Any]]] = {t: list(r) for t, r in plain.rows().items()}
    for table, more in extra.items():
        rows.setdefault(table, []).extend(more)
    params = {
        "patients": list(plain.patients),
        "records": list(plain.patients) if require_open_record else [],
        "unique_ids": sorted({unique_id for _kind, unique_id in plain.claims}),
        "uuids": list(plain.chosen_uuids),
        "repositories": [repository for repository, _unique_id in unindexed],
        "unindexed": [unique_id for _repository, unique_id in unindexed],
    }
    if engine.dialect.name == "postgresql":
        chosen = set(plain.chosen_uuids)
        fresh = [uuid for uuid in plain.ids.values() if uuid not in chosen]
        return _register_postgresql(engine, params, rows, fresh, commit_lsn=commit_lsn)
    judge = functools.partial(_is_plain, plain, require_open_record=require_open_record)
    return _register_sqlite(engine, params, rows, judge)


def _is_plain(
    plain: PlainSubmission, found: Sequence[Sequence[Any]], *, require_open_record: bool
) -> bool:
    """Whether the checked state lets the submission through unchanged."""
    active = {row[1] for row in found if row[0] == "p" and row[2] is None}
    if not set(plain.patients) <= active:
        return False
    if require_open_record:
        opened = {row[1] for row in found if row[0] == "r" and row[2] == RecordStatus.OPEN}
        if not set(plain.patients) <= opened:
            return False
    if any(row[0] == "u" and (row[2], row[1]) in plain.claims for row in found):
        return False
    return not any(row[0] in ("e", "s") for row in found)


def _register_postgresql(
    engine: Engine,
    params: dict[str, list[str]],
    rows: Mapping[Table, Sequence[Mapping[str, Any]]],
    fresh: Sequence[str],
    *,
    commit_lsn: bool = False,
) -> bool | int:
    """One round trip: `BEGIN`, the guard, the INSERTs, `COMMIT`.

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
    import psycopg2.errors

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
            with contextlib.closing(pooled.cursor()) as cursor:
                statement = b";".join(
                    [
                        b"BEGIN",
                        cast(bytes, cursor.mogrify(guard_sql(params), params)),
                        _inserts_postgresql(cursor, engine, rows),
                        b"COMMIT",
                    ]
                )
                if commit_lsn:
                    statement += b";SELECT pg_current_wal_lsn()::text"
                try:
                    _send(cursor, statement)
                except (psycopg2.IntegrityError, psycopg2.errors.DivisionByZero):
                    # a key taken (maybe by a concurrent submission), or the guard: not plain
                    cursor.execute("ROLLBACK")
                    return False
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


def _inserts_postgresql(
    cursor: Any, engine: Engine, rows: Mapping[Table, Sequence[Mapping[str, Any]]]
) -> bytes:
    connection = cursor.connection
    plain_literals = (
        connection.encoding == "UTF8"
        and connection.get_parameter_status("standard_conforming_strings") == "on"
    )
    statements = []
    for table, table_rows in rows.items():
        if not table_rows:
            continue
        head, columns, template, processors = _insert_shape(table, engine)
        if plain_literals:
            tuples = (
                "("
                + ",".join([_literal(cursor, v) for v in _values(row, columns, processors)])
                + ")"
                for row in table_rows
            )
            statements.append(head + ",".join(tuples).encode())
        else:
            values = [value for row in table_rows for value in _values(row, columns, processors)]
            statements.append(head + cursor.mogrify(",".join([template] * len(table_rows)), values))
    return b";".join(statements)


def _literal(cursor: Any, value: Any) -> str:
    """`value` as a PostgreSQL literal, for a UTF-8 connection with standard_conforming_strings.

    There the only character special inside '…' is the quote itself, doubled (PostgreSQL
    manual, 4.1.2.1); psycopg2's `mogrify` does the same, three times slower, and still
    quotes what is not a plain string, number or NULL.
    """
    kind = type(value)
    if kind is str:
        if "\x00" in value:
            raise ValueError("a string literal cannot contain NUL characters")
        return "'" + value.replace("'", "''") + "'"
    if value is None:
        return "NULL"
    if kind is int:
        return str(value)
    return cast(bytes, cursor.mogrify("%s", (value,))).decode()


def _register_sqlite(
    engine: Engine,
    params: dict[str, list[str]],
    rows: Mapping[Table, Sequence[Mapping[str, Any]]],
    judge: Callable[[Sequence[Sequence[Any]]], bool],
) -> bool:
    class NotPlain(Exception):
        pass

    try:
        with write_transaction(engine) as conn:
            cursor = conn.connection.cursor()
            try:
                cursor.execute(check_sql(params), {k: json.dumps(v) for k, v in params.items()})
                if not judge(cursor.fetchall()):
                    raise NotPlain
                for table, table_rows in rows.items():
                    if not table_rows:
                        continue
                    _head, columns, _template, processors = _insert_shape(table, engine)
                    names = ",".join(f'"{c}"' for c in columns)
                    marks = ",".join("?" * len(columns))
                    cursor.executemany(
                        f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                        [_values(row, columns, processors) for row in table_rows],
                    )
            except engine.dialect.loaded_dbapi.IntegrityError as exc:
                raise NotPlain from exc
            finally:
                cursor.close()
    except (NotPlain, IntegrityError):
        return False
    except DBAPIError as exc:
        raise Unavailable(str(exc.orig)) from exc
    return True


Shape = tuple[bytes, tuple[str, ...], str, tuple[tuple[int, Callable[[Any], Any]], ...]]
_SHAPES: dict[tuple[str, str], Shape] = {}


def _insert_shape(table: Table, engine: Engine) -> Shape:
    """INSERT head, column names, a row's `(%s, …)` and the columns' bind processors."""
    key = (table.name, engine.dialect.name)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _SHAPES[key] = _new_shape(table, engine)
    return shape


def _new_shape(table: Table, engine: Engine) -> Shape:
    columns = tuple(
        column.name
        for column in table.columns
        if not (column.primary_key and column.autoincrement is True)
    )
    every = (table.c[name].type.bind_processor(engine.dialect) for name in columns)
    processors = tuple((index, process) for index, process in enumerate(every) if process)
    names = ",".join(f'"{name}"' for name in columns)
    head = f'INSERT INTO "{table.name}" ({names}) VALUES '.encode()
    template = "(" + ",".join(["%s"] * len(columns)) + ")"
    return head, columns, template, processors


def _values(
    row: Mapping[str, Any],
    columns: Sequence[str],
    processors: Sequence[tuple[int, Callable[[Any], Any]]],
) -> list[Any]:
    values = [row.get(name) for name in columns]
    for index, process in processors:  # the few columns whose type converts (SQLite times)
        values[index] = process(values[index])
    return values


__all__ = [
    "PlainSubmission",
    "Unavailable",
    "check_sql",
    "guard_sql",
    "plan",
    "register",
]
