"""New versions of DocumentEntries and Folders (ITI-57, ITI TF-2b 3.57.4.1.3.3.1 and .3).

A new version names the object it updates by logicalId; the SubmissionSet's HasMember
of it carries PreviousVersion, which must be the latest registered version, else
XDSMetadataVersionError. That version must be Approved and becomes Deprecated; the new
one gets version + 1 and Approved. The attributes that identify the document or its
content may not change (UnmodifiableMetadataError, one error per attribute).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, and_, select

from ebrim.errors import ErrorCode, XDSError
from ebrim.hl7 import patient_key
from ebrim.ids import new_entry_uuid
from ebrim.model import Association, DocumentEntry, Folder
from ebrim.update import previous_version, propagates
from ebrim.vocabulary import AssociationType, AvailabilityStatus
from registry import store
from registry.rejection import describe, error
from registry.schema import associations, documents, folders

APPROVED = AvailabilityStatus.APPROVED.value
HAS_MEMBER = AssociationType.HAS_MEMBER.value


def _hash(doc: Any) -> str | None:
    return doc.hash.lower() if doc.hash else None


def _size(doc: Any) -> str | None:
    return str(int(doc.size)) if doc.size and str(doc.size).isdigit() else doc.size


# What an update may not change, per kind: (attribute name on the wire, reader).
UNMODIFIABLE: dict[type, tuple[tuple[str, Callable[[Any], object]], ...]] = {
    DocumentEntry: (
        ("patientId", lambda o: o.patient_id and patient_key(o.patient_id)),
        ("uniqueId", lambda o: o.unique_id),
        ("objectType", lambda o: o.object_type),
        ("hash", _hash),
        ("size", _size),
        ("repositoryUniqueId", lambda o: o.repository_unique_id),
    ),
    Folder: (
        ("patientId", lambda o: o.patient_id and patient_key(o.patient_id)),
        ("uniqueId", lambda o: o.unique_id),
    ),
}


@dataclass(frozen=True)
class NewVersion:
    """One accepted new version: the object to insert and the version it deprecates."""

    obj: DocumentEntry | Folder
    previous: DocumentEntry | Folder
    propagate: bool

    @property
    def table(self) -> Table:
        return documents if isinstance(self.obj, DocumentEntry) else folders


def plan_version(
    conn: Connection,
    obj: DocumentEntry | Folder,
    link: Association | None,
    entry_uuid: str,
    now: str,
    errors: list[XDSError],
) -> NewVersion | None:
    """Check one submitted version against the registry; None (and `errors`) if refused."""
    kind = type(obj)
    label = describe(obj)
    logical_id = obj.logical_id or ""
    previous = store.latest_version(conn, kind, logical_id)
    if previous is None or not isinstance(previous, DocumentEntry | Folder):
        errors.append(
            error(
                ErrorCode.XDSMetadataUpdateError,
                f"{label}: no registered {kind.__name__} has logicalId {logical_id}",
                logical_id,
            )
        )
        return None
    found = len(errors)
    asked = previous_version(link) if link is not None else None
    if asked != str(previous.version or "1"):
        errors.append(
            error(
                ErrorCode.XDSMetadataVersionError,
                f"{label}: PreviousVersion {asked} is not the latest version "
                f"{previous.version} of logicalId {logical_id}",
                logical_id,
            )
        )
    if previous.status != APPROVED:
        errors.append(
            error(
                ErrorCode.XDSMetadataUpdateError,
                f"{label}: the latest version {previous.version} of logicalId {logical_id} is "
                f"{previous.status}; only an Approved {kind.__name__} can be updated",
                logical_id,
            )
        )
    for attribute, read in UNMODIFIABLE[kind]:
        before, after = read(previous), read(obj)
        if before != after:
            errors.append(
                error(
                    ErrorCode.UnmodifiableMetadataError,
                    f"{label}: {attribute} may not change in an update "
                    f"({before!r} registered, {after!r} submitted)",
                    attribute,
                )
            )
    if len(errors) > found:
        return None
    changes: dict[str, Any] = {
        "entry_uuid": entry_uuid,
        "logical_id": logical_id,
        "version": str(int(previous.version or "1") + 1),
        "status": APPROVED,
    }
    if isinstance(obj, Folder):
        changes["last_update_time"] = now
    new = dataclasses.replace(obj, **changes)
    return NewVersion(new, previous, link is None or propagates(link))


def propagated_memberships(conn: Connection, version: NewVersion) -> list[Association]:
    """The previous version's Approved folder memberships, given to the new version.

    A document's folders get the new document; a folder's new version gets the documents.
    """
    a = associations.c
    approved = and_(a.association_type == HAS_MEMBER, a.status == APPROVED)
    if isinstance(version.obj, DocumentEntry):
        query = (
            select(a.source_uuid)
            .join(folders, folders.c.entry_uuid == a.source_uuid)
            .where(approved, a.target_uuid == version.previous.entry_uuid)
            .where(folders.c.status == APPROVED)
        )
        pairs = [(uid, version.obj.entry_uuid) for (uid,) in conn.execute(query)]
    else:
        query = (
            select(a.target_uuid)
            .join(documents, documents.c.entry_uuid == a.target_uuid)
            .where(approved, a.source_uuid == version.previous.entry_uuid)
        )
        pairs = [(version.obj.entry_uuid, uid) for (uid,) in conn.execute(query)]
    return [
        Association(
            entry_uuid=new_entry_uuid(),
            association_type=HAS_MEMBER,
            source=source,
            target=target,
            status=APPROVED,
        )
        for source, target in sorted(pairs)
    ]


__all__ = ["UNMODIFIABLE", "NewVersion", "plan_version", "propagated_memberships"]
