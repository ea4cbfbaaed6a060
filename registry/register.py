"""ITI-42 Register Document Set-b inside one database transaction (ITI TF-2b 3.42.4.1.3).

`register_in` runs the checks that need the registry's state, then writes. It raises
`Rejected` with every error it found; the caller's transaction then rolls back, so a
refused submission writes nothing. Metadata rules that need no database are
`ebrim.validate`'s, run before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from ebrim.errors import ErrorCode
from ebrim.hl7 import patient_key
from ebrim.ids import new_entry_uuid
from ebrim.model import (
    Association,
    DocumentEntry,
    Folder,
    Metadata,
    RegistryObject,
    SubmissionSet,
    evolve,
)
from ebrim.vocabulary import AssociationType, AvailabilityStatus
from registry import store
from registry.lifecycle import Lifecycle
from registry.patients import is_active, merged_into
from registry.records import is_open
from registry.rejection import Rejected, describe, error
from registry.schema import associations, documents, unique_ids

APPROVED = AvailabilityStatus.APPROVED.value
DEPRECATED = AvailabilityStatus.DEPRECATED.value


@dataclass(frozen=True)
class Registered:
    """What a successful registration stored: submitted id → entryUUID, and the objects."""

    ids: dict[str, str]
    objects: tuple[RegistryObject, ...]


def register_in(
    conn: Connection, metadata: Metadata, *, now: str, require_open_record: bool = False
) -> Registered:
    """Check `metadata` against the registry and store it, in the caller's transaction.

    `require_open_record` (the DMP): the patient's record must be open, too.
    """
    check_patients(conn, metadata, require_open_record=require_open_record)
    ids = submitted_ids(metadata)
    resubmitted = check_unique_ids(conn, metadata)
    ids.update(resubmitted)
    # The entryUUIDs the registry generated are fresh by construction: only the chosen ones.
    check_fresh_uuids(
        conn, [uid for sub, uid in ids.items() if sub == uid and sub not in resubmitted]
    )
    registered = set(resubmitted.values())
    new = {uid: obj for uid, obj in assign(metadata, ids, now).items() if uid not in registered}
    plan = Lifecycle(conn, new)
    plan.check()
    carried = plan.carried_memberships()
    stored = (*new.values(), *carried)
    store.insert_objects(conn, stored)
    for replaced in sorted(plan.replaced):
        if not store.set_status(conn, documents, replaced, APPROVED, DEPRECATED):
            raise Rejected(
                [
                    error(
                        ErrorCode.XDSRegistryDeprecatedDocumentError,
                        f"document {replaced} was deprecated by another submission meanwhile",
                        replaced,
                    )
                ]
            )
    deprecate_dependents(conn, plan.replaced)
    store.touch_folders(conn, plan.existing_folders_touched, now)
    return Registered(ids=ids, objects=stored)


def deprecate_dependents(conn: Connection, replaced: Iterable[str]) -> list[str]:
    """Deprecate the Approved addenda (APND) and transforms (XFRM) of replaced documents.

    ITI TF-3 4.2.2.2 (CP-ITI-117): a document replaced (RPLC, XFRM_RPLC) takes its APND and
    XFRM children with it, and theirs in turn, in the replacement's transaction. The
    entryUUIDs deprecated, in order.
    """
    deprecated: list[str] = []
    seen = set(replaced)
    targets = sorted(seen)
    while targets:
        rows = conn.execute(
            select(associations.c.source_uuid)
            .join(documents, documents.c.entry_uuid == associations.c.source_uuid)
            .where(
                associations.c.target_uuid.in_(targets),
                associations.c.association_type.in_(_DEPENDENT_TYPES),
                associations.c.status == APPROVED,
                documents.c.status == APPROVED,
            )
            .order_by(associations.c.source_uuid)
        )
        children = [uuid for (uuid,) in rows if uuid not in seen]
        seen.update(children)
        for child in children:
            if store.set_status(conn, documents, child, APPROVED, DEPRECATED):
                deprecated.append(child)
        targets = children
    return deprecated


_DEPENDENT_TYPES = (AssociationType.APPEND.value, AssociationType.TRANSFORM.value)


def submitted_ids(metadata: Metadata) -> dict[str, str]:
    """Submitted id → entryUUID: a urn:uuid is kept, a symbolic id gets a new one."""
    return {
        obj.entry_uuid: obj.entry_uuid
        if obj.entry_uuid.startswith("urn:uuid:")
        else new_entry_uuid()
        for obj in metadata.objects()
    }


def check_patients(
    conn: Connection, metadata: Metadata, *, require_open_record: bool = False
) -> None:
    objects: list[DocumentEntry | SubmissionSet | Folder] = [
        *metadata.submission_sets,
        *metadata.documents,
        *metadata.folders,
    ]
    errors = []
    for patient_id in sorted({o.patient_id for o in objects if o.patient_id}):
        if not is_active(conn, patient_id):
            survivor = merged_into(conn, patient_id)
            why = f"merged into {survivor}" if survivor else "not known to the registry"
            errors.append(
                error(
                    ErrorCode.XDSUnknownPatientId,
                    f"patient id {patient_id} is {why}",
                    patient_id,
                )
            )
        elif require_open_record and not is_open(conn, patient_id):
            errors.append(
                error(
                    ErrorCode.XDSUnknownPatientId,
                    f"patient id {patient_id} has no open record (never opened, or closed)",
                    patient_id,
                )
            )
    if errors:
        raise Rejected(errors)


def check_fresh_uuids(conn: Connection, uuids: Iterable[str]) -> None:
    taken = store.load(conn, uuids)
    if taken:
        raise Rejected(
            error(
                ErrorCode.XDSRegistryMetadataError,
                f"entryUUID {uid} is already used by a registered {type(obj).__name__}",
                uid,
            )
            for uid, obj in sorted(taken.items())
        )


def check_unique_ids(conn: Connection, metadata: Metadata) -> dict[str, str]:
    """uniqueIds must be new; a known document uniqueId with other content says how it differs.

    A DocumentEntry registered before with the same uniqueId, hash and size (and patient) is
    a resubmission of the same document, which the registry accepts (ITI TF-2b 3.42.4.1.3:
    only different content is XDSNonIdenticalHash / XDSNonIdenticalSize): the answer maps its
    submitted id to the registered entry, which this submission then links to instead of
    registering it twice.
    """
    objects: list[DocumentEntry | SubmissionSet | Folder] = [
        *metadata.submission_sets,
        *metadata.documents,
        *metadata.folders,
    ]
    submitted = {
        (store.KIND_NAMES[type(obj)], obj.unique_id): obj for obj in objects if obj.unique_id
    }
    if not submitted:
        return {}
    wanted = sorted({unique_id for _, unique_id in submitted})
    rows = conn.execute(
        select(unique_ids)
        .where(unique_ids.c.unique_id.in_(wanted))
        .order_by(unique_ids.c.unique_id, unique_ids.c.kind)
    )
    errors = []
    resubmitted: dict[str, str] = {}
    for row in rows:
        obj = submitted.get((row.kind, row.unique_id))
        if obj is None:
            continue
        code = ErrorCode.XDSDuplicateUniqueIdInRegistry
        message = f"{describe(obj)}: uniqueId {row.unique_id} is already registered"
        if isinstance(obj, DocumentEntry):
            known = conn.execute(
                select(
                    documents.c.entry_uuid,
                    documents.c.hash,
                    documents.c.size,
                    documents.c.patient_id,
                )
                .where(store.of_logical_ids(documents, [row.logical_id]))
                .order_by(documents.c.version.desc())
            ).first()
            if known is not None:
                if _same_document(obj, known.hash, known.size, known.patient_id):
                    resubmitted[obj.entry_uuid] = known.entry_uuid
                    continue
                code, message = _compare_content(obj, known.hash, known.size, code, message)
        errors.append(error(code, message, row.unique_id))
    if errors:
        raise Rejected(errors)
    return resubmitted


def _same_document(
    doc: DocumentEntry, hash_: str | None, size: int | None, patient_id: str | None
) -> bool:
    return bool(
        doc.hash
        and hash_
        and doc.hash.lower() == hash_.lower()
        and (not doc.size or size is None or doc.size == str(size))
        and patient_id is not None
        and patient_key(doc.patient_id or "") == patient_key(patient_id)
    )


def _compare_content(
    doc: DocumentEntry, hash_: str | None, size: int | None, code: ErrorCode, message: str
) -> tuple[ErrorCode, str]:
    """The hash, then the size, of a registered document that a resubmission contradicts."""
    if doc.hash and hash_ and doc.hash.lower() != hash_:
        return ErrorCode.XDSNonIdenticalHash, f"{message} with hash {hash_}, not {doc.hash}"
    if doc.size and size is not None and doc.size != str(size):
        return ErrorCode.XDSNonIdenticalSize, f"{message} with size {size}, not {doc.size}"
    return code, message


def assign(metadata: Metadata, ids: dict[str, str], now: str) -> dict[str, RegistryObject]:
    """The submitted objects as they will be stored: registry ids, Approved, version 1."""
    new: dict[str, RegistryObject] = {}
    for obj in metadata.objects():
        uid = ids[obj.entry_uuid]
        stored: RegistryObject
        if isinstance(obj, Association):
            stored = evolve(
                obj,
                entry_uuid=uid,
                source=ids.get(obj.source, obj.source),
                target=ids.get(obj.target, obj.target),
                status=APPROVED,
            )
        elif isinstance(obj, Folder):
            stored = evolve(
                obj,
                entry_uuid=uid,
                status=APPROVED,
                logical_id=uid,
                version="1",
                last_update_time=now,
            )
        else:
            stored = evolve(obj, entry_uuid=uid, status=APPROVED, logical_id=uid, version="1")
        new[uid] = stored
    return new


__all__ = [
    "Registered",
    "Rejected",
    "assign",
    "check_fresh_uuids",
    "check_patients",
    "check_unique_ids",
    "deprecate_dependents",
    "register_in",
    "submitted_ids",
]
