"""UpdateAvailabilityStatus (ITI-57, ITI TF-2b 3.57.4.1.3.3.2, .4 and .6).

The association goes from the request's SubmissionSet to the object whose status
changes: a DocumentEntry or a Folder (their latest version), or a folder membership or
document relationship association. OriginalStatus must be the object's status now
(XDSMetadataUpdateError otherwise) and the change must be one the profile allows
(`ebrim.update.allowed_transitions`: Approved ↔ Deprecated; the DMP adds Archived and
Deleted for documents). `StatusPolicy` is where the caller's rights come in: the DMP
lets only a document's author delete it, which the actor cannot know by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Table

from ebrim.errors import ErrorCode, XDSError
from ebrim.hl7 import patient_key
from ebrim.model import Association, DocumentEntry, Folder, RegistryObject, SubmissionSet
from ebrim.profile import Profile
from ebrim.update import allowed_transitions, new_status, original_status
from ebrim.vocabulary import DOCUMENT_RELATIONSHIPS, AssociationType
from registry import store
from registry.rejection import describe, error

# Given the object, its status now and the status asked, an error when the caller may not.
StatusPolicy = Callable[[RegistryObject, str, str], XDSError | None]
# Given an object's latest version and the new version asked, an error when the caller may not.
VersionPolicy = Callable[[DocumentEntry | Folder, DocumentEntry | Folder], XDSError | None]


@dataclass(frozen=True)
class StatusChange:
    """One accepted change: which row, from which status to which."""

    table: Table
    entry_uuid: str
    original: str
    new: str


def plan_status_change(
    conn: Connection,
    link: Association,
    target: RegistryObject | None,
    patient_id: str | None,
    profile: Profile,
    policy: StatusPolicy | None,
    errors: list[XDSError],
    *,
    new_version: bool = False,
) -> StatusChange | None:
    """Check one UpdateAvailabilityStatus against its (resolved) target.

    `new_version`: the target is a version this same request creates (so it is the latest).
    """
    where = link.entry_uuid
    if target is None:
        errors.append(
            error(
                ErrorCode.UnresolvedReferenceException,
                f"UpdateAvailabilityStatus {where}: {link.target} is not in the registry",
                link.target,
            )
        )
        return None
    original, new = original_status(link) or "", new_status(link) or ""
    found = len(errors)
    label = describe(target)

    def fail(code: ErrorCode, why: str) -> None:
        errors.append(error(code, f"UpdateAvailabilityStatus {where}: {label} {why}", where))

    if isinstance(target, SubmissionSet):
        fail(ErrorCode.XDSMetadataUpdateError, "is a SubmissionSet, whose status never changes")
        return None
    if isinstance(target, DocumentEntry | Folder):
        latest = store.latest_version(conn, type(target), target.logical_id or target.entry_uuid)
        if not new_version and latest is not None and latest.entry_uuid != target.entry_uuid:
            fail(
                ErrorCode.XDSMetadataUpdateError,
                f"is version {target.version}, not the latest version "
                f"{getattr(latest, 'version', '')}",
            )
        if patient_id and patient_key(target.patient_id or "") != patient_key(patient_id):
            fail(
                ErrorCode.XDSPatientIdDoesNotMatch,
                f"is for patient {target.patient_id}, the SubmissionSet for {patient_id}",
            )
    elif not _status_may_change(conn, target):
        fail(
            ErrorCode.XDSMetadataUpdateError,
            "is neither a folder membership nor a document relationship; its status is fixed",
        )
    if target.status != original:
        fail(ErrorCode.XDSMetadataUpdateError, f"is {target.status}, not OriginalStatus {original}")
    elif (original, new) not in allowed_transitions(
        profile, document=isinstance(target, DocumentEntry)
    ):
        fail(
            ErrorCode.XDSMetadataUpdateError,
            f"cannot go from {original} to {new} in the {profile.value} profile",
        )
    if len(errors) == found and policy is not None:
        refusal = policy(target, original, new)
        if refusal is not None:
            errors.append(refusal)
    if len(errors) > found:
        return None
    return StatusChange(store.KIND_TABLES[type(target)], target.entry_uuid, original, new)


def _status_may_change(conn: Connection, link: Association) -> bool:
    kind = link.known_type
    if kind in DOCUMENT_RELATIONSHIPS:
        return True
    if kind is AssociationType.HAS_MEMBER:
        source = store.load(conn, [link.source]).get(link.source)
        return isinstance(source, Folder)
    return False


__all__ = ["StatusChange", "StatusPolicy", "VersionPolicy", "plan_status_change"]
