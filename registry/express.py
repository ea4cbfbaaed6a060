"""ITI-42 for a plain submission: one SELECT, then every INSERT and the COMMIT at once.

A plain submission is what hospitals send nearly always: new documents, a submission set,
perhaps new folders, linked only to one another by HasMember. Of the registry's state it
needs to know only that its patients are known and not merged (in the DMP, with an open
record), and that its uniqueIds and the entryUUIDs it chose itself are new; the entryUUIDs
the registry generates are fresh by construction and are not looked up; beside its
repository, that the documents' uniqueIds are not in the repository's index (the
repository does not look them up first: one round trip less). One SELECT asks all of
that; one string of INSERTs (objects, side rows, uniqueId claims, the co-located
repository's index rows, the audit event) ends with COMMIT.

Anything else is not decided here: an unknown patient, a taken uniqueId or entryUUID, a
lifecycle association, a unique-key conflict with a concurrent submission. `register`
then answers False having written nothing, and the caller runs the general path
(`registry.register.register_in`), which names every error exactly as before.

PostgreSQL: the connection runs in autocommit (`registry.storage.autocommit_engine`) and
spells its transaction out, so that
`BEGIN; SELECT …` is the first round trip and `INSERT …; …; COMMIT` the second (psycopg2
would otherwise send BEGIN alone, then each statement, then COMMIT). The values are
quoted by the driver (`mogrify`) into statements whose text depends only on the tables,
so nothing is compiled per request. SQLite: the same statements in one BEGIN IMMEDIATE
transaction, with `executemany`.
"""

from __future__ import annotations

import contextlib
import functools
import json
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

# The check's branches, each with the parameters it needs: a branch whose list is empty is
# left out of the statement (most submissions choose no entryUUID and, outside the DMP,
# need no open record), which spares PostgreSQL planning and running it.
_BRANCHES = (
    ("SELECT 'p', patient_id, merged_into FROM patients WHERE patient_id {patients}",
     ("patients",)),
    ("SELECT 'r', patient_id, status FROM records WHERE patient_id {records}", ("records",)),
    ("SELECT 'u', unique_id, kind FROM unique_ids WHERE unique_id {unique_ids}",
     ("unique_ids",)),
    ("SELECT 'e', entry_uuid, NULL FROM object_patients WHERE entry_uuid {uuids}", ("uuids",)),
)  # fmt: skip
_NAMES = ("patients", "records", "unique_ids", "uuids", "repositories", "unindexed")
_PLACES = {
    "postgresql": {name: f"= ANY(%({name})s)" for name in _NAMES},
    "sqlite": {name: f"IN (SELECT value FROM json_each(:{name}))" for name in _NAMES},
}
# The repository's index is asked for (repositoryUniqueId, uniqueId) pairs, the two lists
# taken element by element. PostgreSQL: one branch per pair, each naming both columns of
# the key by equality (the subscripts of the literal arrays are folded into constants when
# planning): given two `= ANY` lists instead, it matched the repository in the key and
# filtered its every row by uniqueId whenever the table had not been analyzed lately.
_INDEXED = {
    "postgresql": "SELECT 's', unique_id, NULL FROM repository_documents"
    " WHERE repository_unique_id = (%(repositories)s::text[])[{i}]"
    " AND unique_id = (%(unindexed)s::text[])[{i}]",
    "sqlite": "SELECT 's', unique_id, NULL FROM repository_documents"
    " WHERE repository_unique_id IN (SELECT value FROM json_each(:repositories))"
    " AND unique_id IN (SELECT value FROM json_each(:unindexed))",  # may match more, never less
}
_NOTHING = "SELECT NULL, NULL, NULL WHERE false"


@functools.cache
def _check(dialect: str, given: frozenset[str], pairs: int) -> str:
    branches = [
        template.format(**_PLACES[dialect])
        for template, needs in _BRANCHES
        if all(name in given for name in needs)
    ]
    if pairs and dialect == "postgresql":
        branches += [_INDEXED[dialect].format(i=i) for i in range(1, pairs + 1)]
    elif pairs:
        branches.append(_INDEXED[dialect])
    return "\nUNION ALL ".join(branches) or _NOTHING


def check_sql(dialect: str, params: Mapping[str, Sequence[str]]) -> str:
    """The check statement for these parameters: the branches whose lists are not empty.

    `repositories` and `unindexed` go in pairs: the repository of each uniqueId."""
    pairs = len(params.get("unindexed", ()))
    if len(params.get("repositories", ())) != pairs:
        raise ValueError("repositories and unindexed must pair up, one repository per uniqueId")
    given = frozenset(name for name, values in params.items() if values)
    return _check(dialect, given, pairs)


CHECK_POSTGRESQL = _check("postgresql", frozenset(_NAMES), 1)  # every branch (tests, EXPLAIN)


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
    judge = functools.partial(_is_plain, plain, require_open_record=require_open_record)
    if engine.dialect.name == "postgresql":
        return _register_postgresql(engine, params, rows, judge, commit_lsn=commit_lsn)
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
    judge: Callable[[Sequence[Sequence[Any]]], bool],
    *,
    commit_lsn: bool = False,
) -> bool | int:
    """Two round trips; a connection found dead at the first one is replaced, once.

    There is no pool pre-ping (a round trip per request): a dropped connection shows at
    `BEGIN; SELECT`, before anything was sent to commit, so trying again is safe. A failure
    at the second round trip may have committed or not: it is not retried.
    """
    import psycopg2

    for attempt in (1, 2):
        pooled = autocommit_engine(engine).raw_connection()
        committing = False
        try:
            with contextlib.closing(pooled.cursor()) as cursor:
                cursor.execute("BEGIN;" + check_sql("postgresql", params), params)
                if not judge(cursor.fetchall()):
                    cursor.execute("ROLLBACK")
                    return False
                inserts = _inserts_postgresql(cursor, engine, rows) + b";COMMIT"
                if commit_lsn:
                    inserts += b";SELECT pg_current_wal_lsn()::text"
                committing = True
                try:
                    cursor.execute(inserts)
                except psycopg2.IntegrityError:
                    cursor.execute("ROLLBACK")  # a concurrent submission got there first
                    return False
                if not commit_lsn:
                    return True
                (lsn,) = cursor.fetchone() or ("0/0",)
                return parse_lsn(lsn)
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            pooled.invalidate()
            if attempt == 1 and not committing:
                continue
            raise Unavailable(str(exc).strip()) from exc
        except psycopg2.Error as exc:
            pooled.invalidate()  # the transaction's state is unknown: drop the connection
            raise Unavailable(str(exc).strip()) from exc
        except BaseException:
            pooled.invalidate()  # e.g. a value no literal can carry, after BEGIN was sent
            raise
        finally:
            pooled.close()
    raise AssertionError("unreachable")


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
                cursor.execute(
                    check_sql("sqlite", params), {k: json.dumps(v) for k, v in params.items()}
                )
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
    "CHECK_POSTGRESQL",
    "PlainSubmission",
    "Unavailable",
    "check_sql",
    "plan",
    "register",
]
