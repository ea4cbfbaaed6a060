"""Rules about the message as a whole: one SubmissionSet, unique ids, one patient."""

from __future__ import annotations

from collections import Counter, defaultdict

from ebrim.hl7 import patient_key
from ebrim.model import DocumentEntry, Folder, RegistryObject, SubmissionSet
from ebrim.validate.context import Context, describe
from ebrim.validate.formats import entry_id_problem
from ebrim.validate.messages import Rule


def validate_submission(ctx: Context) -> None:
    """Count of SubmissionSets, entry id syntax and uniqueness, uniqueId uniqueness, patient."""
    count = len(ctx.metadata.submission_sets)
    if count != 1:
        ctx.report(Rule.SUBMISSION_SET_COUNT, count=count)
    _check_entry_ids(ctx)
    _check_unique_ids(ctx)
    _check_single_patient(ctx)


def _check_entry_ids(ctx: Context) -> None:
    objects = ctx.metadata.objects()
    counts = Counter(obj.entry_uuid for obj in objects)
    reported: set[str] = set()
    for obj in objects:
        if entry_id_problem(obj.entry_uuid):
            ctx.report(Rule.INVALID_ENTRY_ID, obj, id=obj.entry_uuid)
        if counts[obj.entry_uuid] > 1 and obj.entry_uuid not in reported:
            reported.add(obj.entry_uuid)
            ctx.report(
                Rule.DUPLICATE_ENTRY_ID, obj, id=obj.entry_uuid, count=counts[obj.entry_uuid]
            )


def _check_unique_ids(ctx: Context) -> None:
    # TF-2b 3.42.4.1.3: a uniqueId is unique across DocumentEntries, Folders and SubmissionSets.
    holders: dict[str, list[RegistryObject]] = defaultdict(list)
    packages: list[SubmissionSet | DocumentEntry | Folder] = [
        *ctx.metadata.submission_sets,
        *ctx.metadata.documents,
        *ctx.metadata.folders,
    ]
    for obj in packages:
        if obj.unique_id:
            holders[obj.unique_id].append(obj)
    for unique_id, objs in holders.items():
        if len(objs) > 1:
            others = ", ".join(describe(o) for o in objs[1:])
            ctx.report(Rule.DUPLICATE_UNIQUE_ID, objs[0], unique_id=unique_id, others=others)


def _check_single_patient(ctx: Context) -> None:
    submission_set = ctx.submission_set
    if submission_set is None or not submission_set.patient_id:
        return
    expected = submission_set.patient_id
    members: list[DocumentEntry | Folder] = [*ctx.metadata.documents, *ctx.metadata.folders]
    for obj in members:
        # A missing patientId is already reported as a missing attribute.
        if obj.patient_id and patient_key(obj.patient_id) != patient_key(expected):
            ctx.report(Rule.PATIENT_ID_MISMATCH, obj, value=obj.patient_id, expected=expected)
