"""ITI-62 Delete Document Set inside one database transaction (RMD supplement).

Removes the named metadata objects (DocumentEntries, Folders, SubmissionSets,
Associations) and their side rows, all or nothing. Refused, with every reason found:

- an id the registry does not know → UnresolvedReferenceException (location: the id);
- an object that an association left in place still points at (as source or target)
  → ReferencesExistException naming that association; an association that a kept
  SubmissionSet HasMember holds counts the same way. Removing a SubmissionSet therefore
  means removing its HasMember associations too.

When no version of a DocumentEntry or Folder remains, its uniqueId is released
(`unique_ids`), so it can be registered again. A kept folder that loses a member has
its lastUpdateTime set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Connection, delete, or_, select

from ebrim.errors import ErrorCode, XDSError
from ebrim.model import Association, DocumentEntry, Folder, RegistryObject
from registry import store
from registry.rejection import Rejected, describe, error
from registry.schema import SIDE_TABLES, associations, object_patients, unique_ids


def delete_in(conn: Connection, object_ids: Sequence[str], *, now: str) -> tuple[str, ...]:
    """Remove the objects with these entryUUIDs; raises `Rejected`. Returns the ids removed."""
    wanted = list(dict.fromkeys(object_ids))
    found = store.load(conn, wanted)
    errors: list[XDSError] = [
        error(
            ErrorCode.UnresolvedReferenceException,
            f"{uid} names no object of the registry",
            uid,
        )
        for uid in wanted
        if uid not in found
    ]
    removing = set(found)
    errors += _dangling(conn, found, removing)
    if errors:
        raise Rejected(errors)
    touched = _folders_losing_members(found, removing)
    everything = sorted(removing)
    patients = store.patients_by_uuid(conn, everything)
    for kind, table in store.KIND_TABLES.items():
        gone = sorted(uid for uid, obj in found.items() if isinstance(obj, kind))
        if gone:
            conn.execute(
                delete(table).where(table.c.entry_uuid.in_(gone), table.c.patient_id.in_(patients))
            )
    for table in SIDE_TABLES:
        conn.execute(
            delete(table).where(
                table.c.object_uuid.in_(everything), table.c.patient_id.in_(patients)
            )
        )
    living = _living_logical_ids(conn, found.values(), patients)
    routes = _routes_to_drop(found.values(), everything, living)
    conn.execute(delete(object_patients).where(object_patients.c.entry_uuid.in_(routes)))
    _release_unique_ids(conn, found.values(), living)
    store.touch_folders(conn, touched, now)
    return tuple(wanted)


def _dangling(
    conn: Connection, found: dict[str, RegistryObject], removing: set[str]
) -> list[XDSError]:
    """Associations kept that would point at a removed object."""
    a = associations.c
    ids = sorted(found)
    rows = conn.execute(
        select(a.entry_uuid, a.source_uuid, a.target_uuid)
        .where(or_(a.source_uuid.in_(ids), a.target_uuid.in_(ids)))
        .order_by(a.entry_uuid)
    ).all()
    errors = []
    for row in rows:
        if row.entry_uuid in removing:
            continue
        for end in (row.source_uuid, row.target_uuid):
            if end in removing:
                errors.append(
                    error(
                        ErrorCode.ReferencesExistException,
                        f"{describe(found[end])} is still referenced by association "
                        f"{row.entry_uuid}, which is not removed",
                        row.entry_uuid,
                    )
                )
    return errors


def _folders_losing_members(found: dict[str, RegistryObject], removing: set[str]) -> set[str]:
    return {
        obj.source
        for obj in found.values()
        if isinstance(obj, Association) and obj.source not in removing
    }


def _versioned(objects: Iterable[RegistryObject]) -> Iterator[tuple[type, str]]:
    """(kind, logicalId) of each DocumentEntry and Folder among `objects`."""
    for obj in objects:
        if isinstance(obj, DocumentEntry | Folder):
            yield type(obj), obj.logical_id or obj.entry_uuid


def _living_logical_ids(
    conn: Connection, objects: Iterable[RegistryObject], patients: Sequence[str]
) -> set[str]:
    """The logicalIds of the removed DocumentEntries and Folders of which a version is left,
    once their rows are gone: one query per kind (versions share their patient)."""
    by_kind: dict[type, set[str]] = {}
    for kind, logical_id in _versioned(objects):
        by_kind.setdefault(kind, set()).add(logical_id)
    living: set[str] = set()
    for kind, logical_ids in by_kind.items():
        c = store.KIND_TABLES[kind].c
        living.update(
            conn.scalars(
                select(c.logical_id)
                .where(c.patient_id.in_(patients), c.logical_id.in_(sorted(logical_ids)))
                .distinct()
            )
        )
    return living


def _routes_to_drop(
    objects: Iterable[RegistryObject], removed: Iterable[str], living: set[str]
) -> list[str]:
    """The `object_patients` rows to delete once the objects' rows are gone.

    A logicalId is its first version's entryUUID, and lookups by logicalId find their
    patient through that entryUUID's row (`store.of_logical_ids`): it stays while a version
    of the logicalId lives, even when the first version itself is removed, and goes with
    the last version.
    """
    dead = {logical_id for _kind, logical_id in _versioned(objects)} - living
    return sorted((set(removed) - living) | dead)


def _release_unique_ids(
    conn: Connection, objects: Iterable[RegistryObject], living: set[str]
) -> None:
    """Free the uniqueIds of the removed objects, but those another version keeps."""
    for obj in objects:
        if isinstance(obj, Association) or not obj.unique_id:
            continue
        if isinstance(obj, DocumentEntry | Folder) and (obj.logical_id or obj.entry_uuid) in living:
            continue  # another version keeps the uniqueId
        conn.execute(
            delete(unique_ids).where(
                unique_ids.c.unique_id == obj.unique_id,
                unique_ids.c.kind == store.KIND_NAMES[type(obj)],
            )
        )


__all__ = ["delete_in"]
