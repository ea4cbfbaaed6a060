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

PostgreSQL: one round trip, a guard and the INSERTs in one transaction
(`registry.express_postgresql`). SQLite: one SELECT asks all of it, then the INSERTs
with `executemany`, in one BEGIN IMMEDIATE transaction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.exc import DBAPIError, IntegrityError

from ebrim.hl7 import patient_key
from ebrim.model import Association, Metadata, RegistryObject
from ebrim.vocabulary import AssociationType
from registry import store
from registry.express_postgresql import Rows, Unavailable, register_postgresql
from registry.insert_shapes import insert_shape, row_values
from registry.lifecycle import Lifecycle
from registry.records import RecordStatus
from registry.register import assign, submitted_ids
from registry.rejection import Rejected
from registry.storage import write_transaction

# SQLite's check (PostgreSQL's: `express_postgresql.guard_sql` and the keys): its branches,
# each with the parameters it needs; a branch whose list is empty is left out.
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
        return register_postgresql(engine, params, rows, fresh, commit_lsn=commit_lsn)
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
                    shape = insert_shape(table, engine)
                    marks = ",".join("?" * len(shape.columns))
                    cursor.executemany(
                        shape.head.decode() + f"({marks})",
                        [row_values(row, shape) for row in table_rows],
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


__all__ = [
    "PlainSubmission",
    "Unavailable",
    "check_sql",
    "plan",
    "register",
]
