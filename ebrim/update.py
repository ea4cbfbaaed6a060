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

from ebrim.model import Association
from ebrim.profile import Profile
from ebrim.vocabulary import AvailabilityStatus

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
