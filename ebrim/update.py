"""The Metadata Update vocabulary (ITI-57, ITI TF-2b 3.57): slots and transitions.

An Update Document Set request is an ordinary SubmitObjectsRequest (parsed by
`ebrim.parse`); what makes it an update lives in association slots, read here:

- ``PreviousVersion`` on the SubmissionSet HasMember of a new DocumentEntry or Folder
  version: the version it replaces, which must be the latest one registered;
- ``AssociationPropagation`` (``yes`` by default) on that same association: whether the
  registry carries the previous version's folder memberships to the new version;
- ``OriginalStatus`` and ``NewStatus`` on an UpdateAvailabilityStatus association.

`STATUS_TRANSITIONS` is the table of the status changes each profile allows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ebrim.model import (
    Association,
    Code,
    DocumentEntry,
    LocalizedString,
    Metadata,
    Slot,
    SubmissionSet,
)
from ebrim.profile import Profile
from ebrim.vocabulary import AssociationType, AvailabilityStatus, SubmissionSetStatus

PREVIOUS_VERSION = "PreviousVersion"
ASSOCIATION_PROPAGATION = "AssociationPropagation"
ORIGINAL_STATUS = "OriginalStatus"
NEW_STATUS = "NewStatus"

APPROVED = AvailabilityStatus.APPROVED.value
DEPRECATED = AvailabilityStatus.DEPRECATED.value
ARCHIVED = AvailabilityStatus.ARCHIVED.value
DELETED = AvailabilityStatus.DELETED.value

_GENERIC = frozenset({(APPROVED, DEPRECATED), (DEPRECATED, APPROVED)})
# DMP (DESIGN.md §5): archiving and un-archiving, and the logical delete, which is final.
_DMP_DOCUMENTS = _GENERIC | {
    (APPROVED, ARCHIVED),
    (ARCHIVED, APPROVED),
    (APPROVED, DELETED),
    (ARCHIVED, DELETED),
    (DEPRECATED, DELETED),
}


def allowed_transitions(profile: Profile, *, document: bool) -> frozenset[tuple[str, str]]:
    """The (original, new) availabilityStatus pairs an UpdateAvailabilityStatus may ask.

    Folders and associations only move between Approved and Deprecated; the DMP's
    Archived and Deleted statuses are for DocumentEntries.
    """
    if profile is Profile.DMP and document:
        return frozenset(_DMP_DOCUMENTS)
    return _GENERIC


def slot_values(association: Association, name: str) -> tuple[str, ...] | None:
    """The values of the association's slot `name` (None when it has no such slot)."""
    for slot in association.extra_slots:
        if slot.name == name:
            return slot.values
    return None


def single_slot(association: Association, name: str) -> str | None:
    """The one value of slot `name`, stripped; None when absent, empty or multi-valued."""
    values = slot_values(association, name)
    if values is None or len(values) != 1 or not values[0].strip():
        return None
    return values[0].strip()


def previous_version(association: Association) -> str | None:
    return single_slot(association, PREVIOUS_VERSION)


def propagates(association: Association) -> bool:
    """AssociationPropagation: anything but an explicit ``no`` propagates (the default)."""
    value = single_slot(association, ASSOCIATION_PROPAGATION)
    return (value or "yes").lower() != "no"


def original_status(association: Association) -> str | None:
    return single_slot(association, ORIGINAL_STATUS)


def new_status(association: Association) -> str | None:
    return single_slot(association, NEW_STATUS)


__all__ = [
    "ASSOCIATION_PROPAGATION",
    "NEW_STATUS",
    "ORIGINAL_STATUS",
    "PREVIOUS_VERSION",
    "allowed_transitions",
    "new_status",
    "original_status",
    "previous_version",
    "propagates",
    "single_slot",
    "slot_values",
]


# --- building requests ------------------------------------------------------------------------

UPDATE_SET_ID = "UpdateSet01"


@dataclasses.dataclass(frozen=True)
class UpdateSource:
    """Who sends an ITI-57 request and when: its SubmissionSet's uniqueId, sourceId and time."""

    unique_id: str
    source_id: str
    submission_time: str


def new_version(entry: DocumentEntry, source: UpdateSource, **changes: Any) -> Metadata:
    """An ITI-57 submission of the next version of `entry` with `changes` applied (ITI TF-3
    4.2.2: same logicalId, a new entryUUID, PreviousVersion on the HasMember)."""
    new = dataclasses.replace(
        entry, entry_uuid="DocumentUpdate01", status=None, version=None, home=None, **changes
    )
    submission_set = update_set(entry, f"New version of {entry.unique_id}", source)
    member = Association(
        entry_uuid="UpdateMember01",
        association_type=AssociationType.HAS_MEMBER.value,
        source=UPDATE_SET_ID,
        target=new.entry_uuid,
        submission_set_status=SubmissionSetStatus.ORIGINAL.value,
        extra_slots=(Slot(PREVIOUS_VERSION, (entry.version or "1",)),),
    )
    return Metadata(submission_sets=(submission_set,), documents=(new,), associations=(member,))


def status_change(
    entry: DocumentEntry,
    new_status: str,
    source: UpdateSource,
    *,
    content_type: Code | None = None,
) -> Metadata:
    """An ITI-57 submission moving `entry` from its current status to `new_status`."""
    title = f"Status of {entry.unique_id}: {new_status.rsplit(':', 1)[-1]}"
    submission_set = update_set(entry, title, source, content_type)
    change = Association(
        entry_uuid="StatusChange01",
        association_type=AssociationType.UPDATE_AVAILABILITY_STATUS.value,
        source=UPDATE_SET_ID,
        target=entry.entry_uuid,
        extra_slots=(
            Slot(ORIGINAL_STATUS, (entry.status or APPROVED,)),
            Slot(NEW_STATUS, (new_status,)),
        ),
    )
    return Metadata(submission_sets=(submission_set,), associations=(change,))


def update_set(
    entry: DocumentEntry, title: str, source: UpdateSource, content_type: Code | None = None
) -> SubmissionSet:
    """The SubmissionSet of an ITI-57 request about `entry`, by the same authors."""
    return SubmissionSet(
        entry_uuid=UPDATE_SET_ID,
        unique_id=source.unique_id,
        source_id=source.source_id,
        patient_id=entry.patient_id,
        submission_time=source.submission_time,
        content_type_code=content_type or entry.type_code or entry.class_code,
        title=LocalizedString(title),
        authors=entry.authors,
    )
