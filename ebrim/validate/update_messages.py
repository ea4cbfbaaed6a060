"""The inventory of the Metadata Update (ITI-57) rules, in the shape of `messages.Rule`.

Kept apart from the submission rules so that each inventory stays one table; a rule
whose code is `GENERIC` answers with the transaction's generic code, which for ITI-57
is XDSMetadataUpdateError (ITI TF-2b 3.57.4.1.3).
"""

from __future__ import annotations

from enum import Enum

from ebrim.validate.messages import GENERIC, RuleBehaviour


class UpdateRule(RuleBehaviour, Enum):
    """An ITI-57 rule that needs no database: (code, message template, severity)."""

    # 3.57.4.1.3.1: an update carries new versions, never initial ones.
    INITIAL_VERSION = (
        GENERIC,
        "{object}: logicalId {lid!r} must be the urn:uuid of the registered object it updates, "
        "other than its entryUUID (an update request carries no initial version)",
    )
    DUPLICATE_LOGICAL_ID = (
        GENERIC,
        "{object}: logicalId {lid} is updated by {count} objects of this request",
    )
    PREVIOUS_VERSION = (
        GENERIC,
        "{object}: the SubmissionSet HasMember of {target} needs a PreviousVersion slot with one "
        "positive integer, found {value!r}",
    )
    # Status changes (3.57.4.1.3.3.2) and association submission (3.57.4.1.3.3.5).
    SOURCE_NOT_SUBMISSION_SET = (
        GENERIC,
        "{object}: the source {source} of a {kind} association must be the request's SubmissionSet",
    )
    STATUS_SLOT = (
        GENERIC,
        "{object}: UpdateAvailabilityStatus needs a {slot} slot with one known "
        "availabilityStatus, found {value!r}",
    )
    STATUS_UNCHANGED = (GENERIC, "{object}: NewStatus is OriginalStatus {value}, nothing changes")
    SUBMIT_ASSOCIATION_TARGET = (
        GENERIC,
        "{object}: the target {target} of a SubmitAssociation must be an Association of this "
        "request",
    )
    ASSOCIATION_NOT_SUBMITTED = (
        GENERIC,
        "{object}: a new association must be held by the SubmissionSet (HasMember or "
        "SubmitAssociation)",
    )
    NOTHING_TO_UPDATE = (
        GENERIC,
        "the request holds no new version, status change or association: nothing to update",
    )


__all__ = ["UpdateRule"]
