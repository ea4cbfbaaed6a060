"""Builders of ITI-57 requests for the registry update and delete tests (model objects)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from registry_fixtures import PATIENT, Submission, association, oid

from ebrim.model import DocumentEntry, Folder, LocalizedString, Metadata, Slot, SubmissionSet
from ebrim.vocabulary import AssociationType, AvailabilityStatus, ResponseStatus
from registry import Registry

APPROVED = AvailabilityStatus.APPROVED.value
DEPRECATED = AvailabilityStatus.DEPRECATED.value
ARCHIVED = AvailabilityStatus.ARCHIVED.value
DELETED = AvailabilityStatus.DELETED.value
HAS_MEMBER = AssociationType.HAS_MEMBER.value
UPDATE_STATUS = AssociationType.UPDATE_AVAILABILITY_STATUS.value
SUBMIT_ASSOCIATION = AssociationType.SUBMIT_ASSOCIATION.value


def update_set(patient: str = PATIENT) -> SubmissionSet:
    return SubmissionSet(
        entry_uuid="UpdateSet",
        title=LocalizedString("Mise à jour"),
        unique_id=oid(),
        source_id="1.3.6.1.4.1.21367.2010.1.2.1",
        patient_id=patient,
        submission_time="20240601000000",
        content_type_code=Submission().build().submission_sets[0].content_type_code,
        authors=Submission().build().submission_sets[0].authors,
    )


def new_version(
    registered: DocumentEntry | Folder,
    previous: str | None = None,
    *,
    propagate: str | None = None,
    **changes: Any,
) -> Metadata:
    """An update request: `registered` with `changes`, as the version after `previous`."""
    kind = "Document" if isinstance(registered, DocumentEntry) else "Folder"
    obj = replace(
        registered,
        entry_uuid=f"{kind}Update",
        logical_id=registered.logical_id,
        **changes,
    )
    slots = [Slot("PreviousVersion", (previous or registered.version or "1",))]
    if propagate is not None:
        slots.append(Slot("AssociationPropagation", (propagate,)))
    link = association(
        HAS_MEMBER,
        "UpdateSet",
        obj.entry_uuid,
        submission_set_status="Original" if kind == "Document" else None,
        extra_slots=tuple(slots),
    )
    docs = (obj,) if isinstance(obj, DocumentEntry) else ()
    folders = (obj,) if isinstance(obj, Folder) else ()
    return Metadata(
        submission_sets=(update_set(obj.patient_id or PATIENT),),
        documents=docs,  # type: ignore[arg-type]
        folders=folders,  # type: ignore[arg-type]
        associations=(link,),
    )


def status_change(target: str, original: str, new: str, patient: str = PATIENT) -> Metadata:
    link = association(
        UPDATE_STATUS,
        "UpdateSet",
        target,
        extra_slots=(Slot("OriginalStatus", (original,)), Slot("NewStatus", (new,))),
    )
    return Metadata(submission_sets=(update_set(patient),), associations=(link,))


def registered(registry: Registry, submission: Submission | None = None) -> dict[str, str]:
    """Register `submission` (one document by default); submitted id → entryUUID."""
    submission = submission or Submission()
    if not submission.documents and not submission.folders:
        submission.add()
    result = registry.submit(submission.build())
    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors
    return result.ids


def succeeded(response: Any) -> None:
    assert response.status is ResponseStatus.SUCCESS, response.errors
