"""ITI-57 Update Document Set: the rules that need no database (ITI TF-2b 3.57.4.1.3).

`validate_update` runs on top of `ebrim.validate.validate(..., transaction=ITI_57)`, which
checks what an update shares with a submission.
What needs the registry (the logicalId is registered, PreviousVersion is its latest
version, OriginalStatus is its status, what may not change) is `registry.update`'s job.
"""

from __future__ import annotations

from collections import Counter

from ebrim.errors import Transaction, XDSError
from ebrim.model import Association, DocumentEntry, Folder, Metadata
from ebrim.profile import Profile
from ebrim.update import NEW_STATUS, ORIGINAL_STATUS, PREVIOUS_VERSION, single_slot, slot_values
from ebrim.validate.context import UUID_PREFIX, Context
from ebrim.validate.update_messages import UpdateRule
from ebrim.vocabulary import AssociationType, AvailabilityStatus

_STATUSES = frozenset(s.value for s in AvailabilityStatus) - {AvailabilityStatus.SUBMITTED.value}
_HELD_BY_SUBMISSION_SET = frozenset(
    {
        AssociationType.HAS_MEMBER,
        AssociationType.UPDATE_AVAILABILITY_STATUS,
        AssociationType.SUBMIT_ASSOCIATION,
    }
)


def validate_update(metadata: Metadata, *, profile: Profile = Profile.GENERIC) -> list[XDSError]:
    """The Metadata Update findings of one ITI-57 request (XDSMetadataUpdateError)."""
    ctx = Context(metadata=metadata, transaction=Transaction.ITI_57, profile=profile)
    _check_update(ctx)
    return ctx.findings


def _check_update(ctx: Context) -> None:
    """New versions, status changes and submitted associations."""
    versions: list[DocumentEntry | Folder] = [*ctx.metadata.documents, *ctx.metadata.folders]
    for obj in versions:
        _check_version(ctx, obj)
    lids = Counter(obj.logical_id for obj in versions if obj.logical_id)
    for obj in versions:
        if obj.logical_id and lids[obj.logical_id] > 1:
            ctx.report(
                UpdateRule.DUPLICATE_LOGICAL_ID, obj, lid=obj.logical_id, count=lids[obj.logical_id]
            )
    operations = len(versions)
    for association in ctx.metadata.associations:
        kind = association.known_type
        if kind is AssociationType.UPDATE_AVAILABILITY_STATUS:
            operations += 1
            _check_status_change(ctx, association)
        elif kind is AssociationType.SUBMIT_ASSOCIATION:
            _check_submit_association(ctx, association)
        elif association.source not in ctx.submission_set_ids:
            operations += 1
            _check_held(ctx, association)
    if operations == 0 and ctx.submission_set is not None:
        ctx.report(UpdateRule.NOTHING_TO_UPDATE)


def _check_version(ctx: Context, obj: DocumentEntry | Folder) -> None:
    lid = obj.logical_id
    if not lid or not lid.startswith(UUID_PREFIX) or lid == obj.entry_uuid:
        ctx.report(UpdateRule.INITIAL_VERSION, obj, lid=lid)
    for link in ctx.metadata.associations:
        if (
            link.known_type is AssociationType.HAS_MEMBER
            and link.source in ctx.submission_set_ids
            and link.target == obj.entry_uuid
        ):
            value = single_slot(link, PREVIOUS_VERSION)
            if value is None or not value.isdigit() or int(value) < 1:
                raw = slot_values(link, PREVIOUS_VERSION)
                ctx.report(
                    UpdateRule.PREVIOUS_VERSION,
                    link,
                    target=obj.entry_uuid,
                    value=None if raw is None else ",".join(raw),
                )


def _check_from_submission_set(ctx: Context, association: Association) -> bool:
    if association.source in ctx.submission_set_ids:
        return True
    ctx.report(
        UpdateRule.SOURCE_NOT_SUBMISSION_SET,
        association,
        source=association.source,
        kind=association.association_type.rsplit(":", 1)[-1],
    )
    return False


def _check_status_change(ctx: Context, association: Association) -> None:
    _check_from_submission_set(ctx, association)
    statuses = {}
    for slot in (ORIGINAL_STATUS, NEW_STATUS):
        value = single_slot(association, slot)
        if value not in _STATUSES:
            raw = slot_values(association, slot)
            ctx.report(
                UpdateRule.STATUS_SLOT,
                association,
                slot=slot,
                value=None if raw is None else ",".join(raw),
            )
        statuses[slot] = value
    if statuses[ORIGINAL_STATUS] in _STATUSES and statuses[ORIGINAL_STATUS] == statuses[NEW_STATUS]:
        ctx.report(UpdateRule.STATUS_UNCHANGED, association, value=statuses[NEW_STATUS])


def _check_submit_association(ctx: Context, association: Association) -> None:
    _check_from_submission_set(ctx, association)
    if association.target not in ctx.association_ids:
        ctx.report(UpdateRule.SUBMIT_ASSOCIATION_TARGET, association, target=association.target)


def _check_held(ctx: Context, association: Association) -> None:
    """An association between objects (new or registered) that the SubmissionSet must hold.

    A folder membership is already checked by the submission rules
    (FOLDER_MEMBERSHIP_NOT_SUBMITTED).
    """
    if association.known_type is AssociationType.HAS_MEMBER:
        return
    if association.entry_uuid not in ctx.submission_set_members:
        ctx.report(UpdateRule.ASSOCIATION_NOT_SUBMITTED, association)


__all__ = ["validate_update"]
