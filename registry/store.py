"""Rows in and model objects out: the only module that maps the model onto the tables.

Readers overlay the mutable columns (status, patient id, folder lastUpdateTime) on
the stored body, so a deprecated document or a merged patient reads correctly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, insert, select, update

from ebrim.hl7 import patient_key
from ebrim.model import (
    Association,
    Code,
    DocumentEntry,
    Folder,
    RegistryObject,
    SubmissionSet,
)
from ebrim.vocabulary import ClassificationScheme as Scheme
from registry.codec import decode, encode
from registry.schema import (
    associations,
    author_persons,
    codes,
    documents,
    folders,
    object_patients,
    reference_ids,
    submission_sets,
    unique_ids,
)
from registry.times import normalize_dtm

KIND_TABLES: dict[type, Table] = {
    DocumentEntry: documents,
    SubmissionSet: submission_sets,
    Folder: folders,
    Association: associations,
}
KIND_NAMES = {DocumentEntry: "document", SubmissionSet: "submission_set", Folder: "folder"}


def _size(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _version(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 1


def object_row(obj: RegistryObject) -> dict[str, Any]:
    """The row of an object's own table."""
    body = encode(obj)
    if isinstance(obj, DocumentEntry):
        return {
            "entry_uuid": obj.entry_uuid,
            "logical_id": obj.logical_id or obj.entry_uuid,
            "version": _version(obj.version),
            "unique_id": obj.unique_id,
            "patient_id": _patient(obj.patient_id),
            "status": obj.status,
            "object_type": obj.object_type,
            "creation_time": normalize_dtm(obj.creation_time),
            "service_start_time": normalize_dtm(obj.service_start_time),
            "service_stop_time": normalize_dtm(obj.service_stop_time),
            "hash": obj.hash.lower() if obj.hash else None,
            "size": _size(obj.size),
            "repository_unique_id": obj.repository_unique_id,
            "home": obj.home,
            "body": body,
        }
    if isinstance(obj, SubmissionSet):
        return {
            "entry_uuid": obj.entry_uuid,
            "unique_id": obj.unique_id,
            "patient_id": _patient(obj.patient_id),
            "status": obj.status,
            "source_id": obj.source_id,
            "submission_time": normalize_dtm(obj.submission_time),
            "home": obj.home,
            "body": body,
        }
    if isinstance(obj, Folder):
        return {
            "entry_uuid": obj.entry_uuid,
            "logical_id": obj.logical_id or obj.entry_uuid,
            "version": _version(obj.version),
            "unique_id": obj.unique_id,
            "patient_id": _patient(obj.patient_id),
            "status": obj.status,
            "last_update_time": normalize_dtm(obj.last_update_time),
            "home": obj.home,
            "body": body,
        }
    return {
        "entry_uuid": obj.entry_uuid,
        "association_type": obj.association_type,
        "source_uuid": obj.source,
        "target_uuid": obj.target,
        "status": obj.status,
        "submission_set_status": obj.submission_set_status,
        "home": obj.home,
        "body": body,
    }


# The schemes' values, read once: `.value` on an enum member is a Python-level call.
_DOCUMENT_SINGLE_CODES = tuple(
    (scheme.value, field)
    for scheme, field in (
        (Scheme.DOC_CLASS_CODE, "class_code"),
        (Scheme.DOC_FORMAT_CODE, "format_code"),
        (Scheme.DOC_HEALTHCARE_FACILITY_TYPE_CODE, "healthcare_facility_type_code"),
        (Scheme.DOC_PRACTICE_SETTING_CODE, "practice_setting_code"),
        (Scheme.DOC_TYPE_CODE, "type_code"),
    )
)
_CONFIDENTIALITY = Scheme.DOC_CONFIDENTIALITY_CODE.value
_EVENT = Scheme.DOC_EVENT_CODE.value
_CONTENT_TYPE = Scheme.SS_CONTENT_TYPE_CODE.value
_FOLDER_CODES = Scheme.FOLDER_CODE_LIST.value


def _object_codes(obj: RegistryObject) -> Iterable[tuple[str, Code]]:
    if isinstance(obj, DocumentEntry):
        for scheme, field in _DOCUMENT_SINGLE_CODES:
            code = getattr(obj, field)
            if code is not None:
                yield scheme, code
        for code in obj.confidentiality_codes:
            yield _CONFIDENTIALITY, code
        for code in obj.event_codes:
            yield _EVENT, code
    elif isinstance(obj, SubmissionSet):
        if obj.content_type_code is not None:
            yield _CONTENT_TYPE, obj.content_type_code
    elif isinstance(obj, Folder):
        for code in obj.codes:
            yield _FOLDER_CODES, code


def side_rows(obj: RegistryObject, patient_id: str) -> dict[Table, list[dict[str, Any]]]:
    """Rows of the side tables (codes, author persons, reference ids), without duplicates."""
    uuid = obj.entry_uuid
    code_keys = {(scheme, code.code, code.scheme) for scheme, code in _object_codes(obj)}
    persons: set[str] = set()
    refs: set[str] = set()
    if isinstance(obj, DocumentEntry | SubmissionSet):
        persons = {a.person for a in obj.authors if a.person}
    if isinstance(obj, DocumentEntry):
        refs = set(obj.reference_ids)
    return {
        codes: [
            {
                "object_uuid": uuid,
                "scheme": s,
                "code": c,
                "coding_scheme": cs,
                "patient_id": patient_id,
            }
            for s, c, cs in sorted(code_keys)
        ],
        author_persons: [
            {"object_uuid": uuid, "person": p, "patient_id": patient_id} for p in sorted(persons)
        ],
        reference_ids: [
            {"object_uuid": uuid, "reference_id": r, "patient_id": patient_id} for r in sorted(refs)
        ],
    }


def patients_of(
    objects: Sequence[RegistryObject], known: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The patient (partition) of each object: its own; an association's is its source's.

    An association end outside `objects` is looked up in `known` (entryUUID -> patient);
    an association whose ends are both unknown lies with the submission's patient.
    """
    out = {
        obj.entry_uuid: _patient(obj.patient_id) or ""
        for obj in objects
        if not isinstance(obj, Association)
    }
    either = {**(known or {}), **out}
    default = next(iter(out.values()), "")
    for obj in objects:
        if isinstance(obj, Association):
            out[obj.entry_uuid] = either.get(obj.source) or either.get(obj.target) or default
    return out


def rows_of(
    objects: Sequence[RegistryObject], known: Mapping[str, str] | None = None
) -> dict[Table, list[dict[str, Any]]]:
    """The rows that store new objects (or new versions), table by table, in insert order.

    uniqueIds come first: a concurrent registration of the same one waits on the
    primary key and fails there, before anything else is written. `known`: the patients
    of the objects outside `objects` that associations name (`patients_of`).
    """
    patients = patients_of(objects, known)
    out: dict[Table, list[dict[str, Any]]] = {}
    claims = [
        {
            "unique_id": obj.unique_id,
            "kind": KIND_NAMES[type(obj)],
            "logical_id": obj.entry_uuid,
            "patient_id": patients[obj.entry_uuid],
        }
        for obj in objects
        if not isinstance(obj, Association) and obj.unique_id and _is_first_version(obj)
    ]
    if claims:
        out[unique_ids] = claims
    out[object_patients] = [
        {"entry_uuid": obj.entry_uuid, "patient_id": patients[obj.entry_uuid]} for obj in objects
    ]
    for kind, table in KIND_TABLES.items():
        rows = [object_row(obj) for obj in objects if isinstance(obj, kind)]
        if kind is Association:
            for row in rows:
                row["patient_id"] = patients[row["entry_uuid"]]
        if rows:
            out[table] = rows
    for obj in objects:
        for table, rows in side_rows(obj, patients[obj.entry_uuid]).items():
            if rows:
                out.setdefault(table, []).extend(rows)
    return out


def insert_objects(conn: Connection, objects: Sequence[RegistryObject]) -> None:
    """Insert new objects (or new versions), their uniqueIds and side rows (`rows_of`)."""
    inside = {obj.entry_uuid for obj in objects}
    outside = {
        end
        for obj in objects
        if isinstance(obj, Association)
        for end in (obj.source, obj.target)
        if end not in inside
    }
    for table, rows in rows_of(objects, patient_of_each(conn, outside)).items():
        conn.execute(insert(table), rows)


def patient_of_each(conn: Connection, uuids: Iterable[str]) -> dict[str, str]:
    """The global lookup: the patient (partition) of each stored object named."""
    wanted = sorted(set(uuids))
    if not wanted:
        return {}
    op = object_patients.c
    rows = conn.execute(select(op.entry_uuid, op.patient_id).where(op.entry_uuid.in_(wanted)))
    return {uuid: patient for uuid, patient in rows}


def patients_by_uuid(conn: Connection, uuids: Iterable[str]) -> list[str]:
    """The global lookup: the patients of the stored objects with these entryUUIDs."""
    return sorted(set(patient_of_each(conn, uuids).values()))


def patients_by_unique_id(conn: Connection, unique_ids_: Iterable[str]) -> list[str]:
    """The global lookup: the patients of the objects that claimed these uniqueIds."""
    wanted = sorted(set(unique_ids_))
    if not wanted:
        return []
    u = unique_ids.c
    return sorted(set(conn.scalars(select(u.patient_id).where(u.unique_id.in_(wanted)))))


def _in_partitions_of(table: Table, uuids: list[str]) -> ColumnElement[bool]:
    """The rows' patients, from the global lookup: PostgreSQL then reads their partitions only."""
    op = object_patients.c
    return table.c.patient_id.in_(select(op.patient_id).where(op.entry_uuid.in_(uuids)))


def _is_first_version(obj: RegistryObject) -> bool:
    """A later version (ITI-57) shares the uniqueId its first version claimed."""
    logical_id = getattr(obj, "logical_id", None)
    return logical_id is None or logical_id == obj.entry_uuid


def _from_row(kind: type, row: Any, home: str | None = None) -> RegistryObject:
    """The object a row stores, with its columns' status (and a folder's lastUpdateTime),
    and `home` (a query's homeCommunityId) when given."""
    changes: dict[str, Any] = {"status": row.status}
    if home:
        changes["home"] = home
    if kind is Folder and row.last_update_time:
        changes["last_update_time"] = row.last_update_time
    obj: RegistryObject = decode(kind, row.body, changes)
    submitted = getattr(obj, "patient_id", None)
    if kind is not Association and _patient(submitted) != row.patient_id:
        # The column moved (a merge, A40): the patient is the survivor. Otherwise the id
        # stays as submitted (with its type code: the column holds only the key).
        obj = dataclasses.replace(obj, patient_id=row.patient_id)
    return obj


def load(conn: Connection, uuids: Iterable[str]) -> dict[str, RegistryObject]:
    """The stored objects with these entryUUIDs, of any kind (missing ones are left out)."""
    wanted = list(dict.fromkeys(uuids))
    found: dict[str, RegistryObject] = {}
    if not wanted:
        return found
    for kind, table in KIND_TABLES.items():
        query = select(table).where(
            table.c.entry_uuid.in_(wanted), _in_partitions_of(table, wanted)
        )
        for row in conn.execute(query):
            found[row.entry_uuid] = _from_row(kind, row)
    return found


def load_kind(
    conn: Connection,
    kind: type,
    uuids: Sequence[str],
    patients: Sequence[str] | None = None,
    home: str | None = None,
) -> list[RegistryObject]:
    """The stored objects of one kind with these entryUUIDs, in one query (missing ones out).

    `patients`, when the caller knows them, spares the global lookup; `home` is set on each.
    """
    if not uuids:
        return []
    table = KIND_TABLES[kind]
    wanted = list(uuids)
    where = (
        table.c.patient_id.in_(list(patients))
        if patients is not None
        else _in_partitions_of(table, wanted)
    )
    rows = conn.execute(select(table).where(table.c.entry_uuid.in_(wanted), where))
    return [_from_row(kind, row, home) for row in rows]


def load_by_unique_id(conn: Connection, unique_id: str) -> list[RegistryObject]:
    """Every stored version of the document, submission set or folder with this uniqueId."""
    out: list[RegistryObject] = []
    u = unique_ids.c
    patients = select(u.patient_id).where(u.unique_id == unique_id)
    for kind in (DocumentEntry, SubmissionSet, Folder):
        table = KIND_TABLES[kind]
        query = select(table).where(
            table.c.unique_id == unique_id, table.c.patient_id.in_(patients)
        )
        if "version" in table.c:
            query = query.order_by(table.c.version)
        out.extend(_from_row(kind, row) for row in conn.execute(query))
    return out


def load_associations(
    conn: Connection, *, source: str | None = None, target: str | None = None
) -> list[Association]:
    """Stored associations from `source` and/or to `target`."""
    query = select(associations).order_by(associations.c.entry_uuid)
    ends = [end for end in (source, target) if end is not None]
    if ends:
        query = query.where(_in_partitions_of(associations, ends))
    if source is not None:
        query = query.where(associations.c.source_uuid == source)
    if target is not None:
        query = query.where(associations.c.target_uuid == target)
    return [_from_row(Association, row) for row in conn.execute(query)]  # type: ignore[misc]


def set_status(conn: Connection, table: Table, uuid: str, old: str, new: str) -> bool:
    """Move one object from status `old` to `new`; False when it was not in `old` any more.

    The WHERE on the old status makes the check and the change one step, so two
    concurrent replacements of a document cannot both deprecate it.
    """
    result = conn.execute(
        update(table)
        .where(
            table.c.entry_uuid == uuid,
            table.c.status == old,
            _in_partitions_of(table, [uuid]),
        )
        .values(status=new)
    )
    return result.rowcount == 1


def touch_folders(conn: Connection, uuids: Iterable[str], when: str) -> None:
    wanted = sorted(set(uuids))
    if wanted:
        conn.execute(
            update(folders)
            .where(folders.c.entry_uuid.in_(wanted), _in_partitions_of(folders, wanted))
            .values(last_update_time=when)
        )


def of_logical_ids(table: Table, logical_ids: Sequence[str]) -> ColumnElement[bool]:
    """The rows of `table` (documents, folders) of these logicalIds, found through their
    patient: a logicalId is its first version's entryUUID, which `object_patients` maps to
    the patient of every version; their index leads with the patient (revision 0013)."""
    wanted = list(logical_ids)
    return and_(table.c.logical_id.in_(wanted), _in_partitions_of(table, wanted))


def latest_version(conn: Connection, kind: type, logical_id: str) -> RegistryObject | None:
    """The newest stored version of the DocumentEntry or Folder with this logicalId."""
    table = KIND_TABLES[kind]
    row = conn.execute(
        select(table).where(of_logical_ids(table, [logical_id])).order_by(table.c.version.desc())
    ).first()
    return _from_row(kind, row) if row is not None else None


def _patient(patient_id: str | None) -> str | None:
    """The patient column: who the id names (`ebrim.hl7.patient_key`), the body keeps the id."""
    return patient_key(patient_id) if patient_id else patient_id
