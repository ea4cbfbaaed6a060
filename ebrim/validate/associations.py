"""Associations and the shape of a submission (ITI TF-3 4.2.2, TF-2b 3.42.4.1.3).

A symbolic id (not ``urn:uuid:``) must name an object of the message; a ``urn:uuid:``
that is not in the message points at the registry, which checks it later.
"""

from __future__ import annotations

from ebrim.errors import Transaction
from ebrim.model import Association, DocumentEntry, Folder, SubmissionSet
from ebrim.validate.context import Context, kind
from ebrim.validate.messages import Rule
from ebrim.vocabulary import DOCUMENT_RELATIONSHIPS, AssociationType, SubmissionSetStatus

# Only metadata update (ITI-57) and on-demand snapshots use these.
_UPDATE_ONLY = frozenset(
    {
        AssociationType.IS_SNAPSHOT_OF,
        AssociationType.UPDATE_AVAILABILITY_STATUS,
        AssociationType.SUBMIT_ASSOCIATION,
    }
)
_EXTERNAL = "registry object"


def validate_associations(ctx: Context) -> None:
    """Each association alone, then the membership of every object in the SubmissionSet."""
    for association in ctx.metadata.associations:
        _check_association(ctx, association)
    _check_membership(ctx)


def _kind_of(ctx: Context, ref: str) -> str:
    obj = ctx.in_message(ref)
    return kind(obj) if obj is not None else _EXTERNAL


def _check_association(ctx: Context, association: Association) -> None:
    known = association.known_type
    if known is None:
        ctx.report(Rule.UNKNOWN_ASSOCIATION_TYPE, association, value=association.association_type)
        return
    if known in _UPDATE_ONLY and ctx.transaction is not Transaction.ITI_57:
        ctx.report(
            Rule.ASSOCIATION_TYPE_NOT_ALLOWED,
            association,
            value=known.value,
            transaction=ctx.transaction.value,
        )
        return
    resolved = True
    for end, ref in (("sourceObject", association.source), ("targetObject", association.target)):
        if not ctx.resolves(ref):
            ctx.report(Rule.UNRESOLVED_REFERENCE, association, end=end, ref=ref)
            resolved = False
    if not resolved:
        return
    if known is AssociationType.HAS_MEMBER:
        _check_has_member(ctx, association)
    elif known is AssociationType.SIGNS:
        _check_signs(ctx, association)
    elif known in DOCUMENT_RELATIONSHIPS:
        _check_relationship(ctx, association, known)


def _check_has_member(ctx: Context, association: Association) -> None:
    source = ctx.in_message(association.source)
    target = ctx.in_message(association.target)
    if isinstance(source, SubmissionSet):
        _check_submission_set_member(ctx, association, target)
        return
    # Otherwise a Folder (of the message, or one already registered) gains a DocumentEntry.
    folder_like = source is None or isinstance(source, Folder)
    document_like = target is None or isinstance(target, DocumentEntry)
    if not (folder_like and document_like):
        ctx.report(
            Rule.INVALID_HAS_MEMBER,
            association,
            source_kind=_kind_of(ctx, association.source),
            source=association.source,
            target_kind=_kind_of(ctx, association.target),
            target=association.target,
        )
        return
    if not _is_submission_set_member(ctx, association.entry_uuid):
        ctx.report(Rule.FOLDER_MEMBERSHIP_NOT_SUBMITTED, association)


def _check_submission_set_member(ctx: Context, association: Association, target: object) -> None:
    status = association.submission_set_status
    if status is not None and status not in {s.value for s in SubmissionSetStatus}:
        ctx.report(Rule.INVALID_SUBMISSION_SET_STATUS, association, value=status)
        return
    if isinstance(target, DocumentEntry):
        if status is None:
            ctx.report(Rule.MISSING_SUBMISSION_SET_STATUS, association, target=association.target)
        elif status == SubmissionSetStatus.REFERENCE.value:
            ctx.report(Rule.REFERENCE_TO_SUBMITTED, association, target=association.target)
    elif isinstance(target, SubmissionSet):
        ctx.report(
            Rule.INVALID_HAS_MEMBER,
            association,
            source_kind="SubmissionSet",
            source=association.source,
            target_kind="SubmissionSet",
            target=association.target,
        )
    elif status == SubmissionSetStatus.ORIGINAL.value:
        ctx.report(Rule.ORIGINAL_NOT_SUBMITTED, association, target=association.target)


def _check_relationship(ctx: Context, association: Association, known: AssociationType) -> None:
    label = known.value.rsplit(":", 1)[-1]
    if not _source_allowed(ctx, association.source):
        ctx.report(Rule.RELATIONSHIP_SOURCE, association, source=association.source, kind=label)
    target = ctx.in_message(association.target)
    reason = None
    if association.target == association.source:
        reason = "its own source"
    elif target is not None:
        reason = f"a {kind(target)} of this submission"
    if reason:
        ctx.report(
            Rule.RELATIONSHIP_TARGET,
            association,
            target=association.target,
            kind=label,
            reason=reason,
        )


def _source_allowed(ctx: Context, source: str) -> bool:
    """A relationship starts at a DocumentEntry of the message; in ITI-57 (an association
    submitted between registered objects) also at a registered one."""
    if source in ctx.document_ids:
        return True
    return ctx.transaction is Transaction.ITI_57 and ctx.in_message(source) is None


def _check_signs(ctx: Context, association: Association) -> None:
    if not _source_allowed(ctx, association.source):
        ctx.report(Rule.RELATIONSHIP_SOURCE, association, source=association.source, kind="signs")
    target = ctx.in_message(association.target)
    if target is not None and not isinstance(target, DocumentEntry | SubmissionSet):
        ctx.report(
            Rule.SIGNS_TARGET, association, target=association.target, target_kind=kind(target)
        )


def _is_submission_set_member(ctx: Context, target: str) -> bool:
    return target in ctx.submission_set_members


def _check_membership(ctx: Context) -> None:
    # Without exactly one SubmissionSet the count rule already says what is wrong.
    if ctx.submission_set is None:
        return
    members: list[DocumentEntry | Folder] = [*ctx.metadata.documents, *ctx.metadata.folders]
    for obj in members:
        if not _is_submission_set_member(ctx, obj.entry_uuid):
            ctx.report(Rule.NOT_IN_SUBMISSION_SET, obj)
