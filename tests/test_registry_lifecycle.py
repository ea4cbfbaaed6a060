"""Document lifecycle on registration: replace, append, transform, signs, folders."""

from __future__ import annotations

from dataclasses import replace

import pytest
from registry_fixtures import (
    HAS_MEMBER,
    OTHER_PATIENT,
    Submission,
    codes_of,
    document,
    folder,
    new_registry,
)
from sqlalchemy import Engine

from ebrim.model import Code, DocumentEntry, Folder, RegistryResponse
from ebrim.parse import parse_submit_objects_request
from ebrim.render import render_adhoc_query_response, render_submit_objects_request
from ebrim.storedquery import GetAssociationsQuery, StoredQueryRequest
from ebrim.vocabulary import AssociationType, AvailabilityStatus, ResponseStatus, ReturnType
from registry import Registry, RegistrySettings

APPROVED = AvailabilityStatus.APPROVED.value
DEPRECATED = AvailabilityStatus.DEPRECATED.value
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
NOW = "20240506070809"  # the fixed clock of new_registry


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return new_registry(engine)


def registered_document(registry: Registry, patient: str | None = None) -> str:
    """Register one document and return its entryUUID."""
    submission = Submission(patient=patient) if patient else Submission()
    doc = submission.add()
    result = registry.submit(submission.build())
    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors
    return result.ids[doc.entry_uuid]


def status_of(registry: Registry, entry_uuid: str) -> str | None:
    obj = registry.get(entry_uuid)
    assert obj is not None
    return obj.status


def relate(registry: Registry, kind: AssociationType, target: str) -> tuple[str, RegistryResponse]:
    """Submit a new document related to `target`; return its entryUUID (if any) and the response."""
    submission = Submission()
    doc = submission.add(document("Newer"))
    submission.relate(kind, doc.entry_uuid, target)
    result = registry.submit(submission.build())
    return result.ids.get(doc.entry_uuid, ""), result.response


@pytest.mark.parametrize("kind", [AssociationType.REPLACE, AssociationType.TRANSFORM_REPLACE])
def test_replace_deprecates_the_target(registry: Registry, kind: AssociationType) -> None:
    original = registered_document(registry)

    replacement, response = relate(registry, kind, original)

    assert response.status is ResponseStatus.SUCCESS
    assert status_of(registry, original) == DEPRECATED
    assert status_of(registry, replacement) == APPROVED


def test_replace_of_a_deprecated_document_is_refused(registry: Registry) -> None:
    original = registered_document(registry)
    relate(registry, AssociationType.REPLACE, original)

    _, response = relate(registry, AssociationType.REPLACE, original)

    assert codes_of(response) == ["XDSRegistryDeprecatedDocumentError"]


def test_replace_of_another_patients_document_is_refused(registry: Registry) -> None:
    original = registered_document(registry, OTHER_PATIENT)

    _, response = relate(registry, AssociationType.REPLACE, original)

    assert codes_of(response) == ["XDSPatientIdDoesNotMatch"]
    assert status_of(registry, original) == APPROVED


def test_replace_of_an_unknown_document_is_refused(registry: Registry) -> None:
    _, response = relate(
        registry, AssociationType.REPLACE, "urn:uuid:00000000-0000-4000-8000-000000000003"
    )

    assert "UnresolvedReferenceException" in codes_of(response)


@pytest.mark.parametrize(
    "kind", [AssociationType.APPEND, AssociationType.TRANSFORM, AssociationType.SIGNS]
)
def test_relationship_keeps_the_target_approved(registry: Registry, kind: AssociationType) -> None:
    original = registered_document(registry)

    newer, response = relate(registry, kind, original)

    assert response.status is ResponseStatus.SUCCESS
    assert status_of(registry, original) == APPROVED
    (link,) = registry.associations(source=newer)
    assert (link.association_type, link.target) == (kind.value, original)


@pytest.mark.parametrize(
    "kind", [AssociationType.APPEND, AssociationType.TRANSFORM, AssociationType.SIGNS]
)
def test_relationship_to_a_deprecated_document_is_refused(
    registry: Registry, kind: AssociationType
) -> None:
    original = registered_document(registry)
    relate(registry, AssociationType.REPLACE, original)

    _, response = relate(registry, kind, original)

    assert codes_of(response) == ["XDSRegistryDeprecatedDocumentError"]


@pytest.mark.parametrize("kind", [AssociationType.APPEND, AssociationType.TRANSFORM])
def test_relationship_to_an_unknown_document_is_refused(
    registry: Registry, kind: AssociationType
) -> None:
    _, response = relate(registry, kind, "urn:uuid:00000000-0000-4000-8000-000000000004")

    assert "UnresolvedReferenceException" in codes_of(response)


def test_new_folder_gets_its_documents_and_last_update_time(registry: Registry) -> None:
    submission = Submission()
    doc = submission.add()
    new_folder = submission.add_folder()
    submission.file(new_folder.entry_uuid, doc.entry_uuid)

    result = registry.submit(submission.build())

    stored = registry.get(result.ids[new_folder.entry_uuid])
    assert isinstance(stored, Folder)
    assert stored.status == APPROVED
    assert stored.last_update_time == NOW
    members = registry.associations(source=stored.entry_uuid)
    assert [(m.association_type, m.target) for m in members] == [
        (HAS_MEMBER, result.ids[doc.entry_uuid])
    ]


def test_existing_document_added_to_existing_folder(engine: Engine) -> None:
    early = new_registry(engine)
    first = Submission()
    first.add()
    made = first.add_folder()
    folder_uuid = early.submit(first.build()).ids[made.entry_uuid]
    doc_uuid = registered_document(early)
    late = Registry(engine, RegistrySettings())  # a real clock: lastUpdateTime moves on
    second = Submission()
    second.file(folder_uuid, doc_uuid)

    response = late.register(second.build())

    assert response.status is ResponseStatus.SUCCESS, response.errors
    stored = late.get(folder_uuid)
    assert isinstance(stored, Folder)
    assert (stored.last_update_time or "") > NOW
    assert doc_uuid in {m.target for m in late.associations(source=folder_uuid)}


def test_document_of_another_patient_cannot_join_a_folder(registry: Registry) -> None:
    first = Submission()
    made = first.add_folder()
    folder_uuid = registry.submit(first.build()).ids[made.entry_uuid]
    doc_uuid = registered_document(registry, OTHER_PATIENT)
    second = Submission(patient=OTHER_PATIENT)
    second.file(folder_uuid, doc_uuid)

    response = registry.register(second.build())

    assert codes_of(response) == ["XDSPatientIdDoesNotMatch"]


def test_replacement_inherits_folder_membership(registry: Registry) -> None:
    first = Submission()
    doc = first.add()
    made = first.add_folder(folder())
    first.file(made.entry_uuid, doc.entry_uuid)
    ids = registry.submit(first.build()).ids
    folder_uuid, original = ids[made.entry_uuid], ids[doc.entry_uuid]

    replacement, response = relate(registry, AssociationType.REPLACE, original)

    assert response.status is ResponseStatus.SUCCESS
    members = {m.target for m in registry.associations(source=folder_uuid)}
    assert members == {original, replacement}
    stored = registry.get(replacement)
    assert isinstance(stored, DocumentEntry)
    assert stored.status == APPROVED


@pytest.mark.parametrize(
    "kind",
    [
        AssociationType.REPLACE,
        AssociationType.APPEND,
        AssociationType.TRANSFORM,
        AssociationType.TRANSFORM_REPLACE,
        AssociationType.SIGNS,
    ],
)
def test_lifecycle_association_keeps_its_documentation(
    registry: Registry, kind: AssociationType, xsd_valid
) -> None:
    # ITI TF-3 4.2.2: an association may be documented by a Classification of scheme
    # urn:uuid:abd807a3-4432-4053-87b4-fd82c643d1f3; it was refused (XDSRegistryMetadataError).
    original = registered_document(registry)
    submission = Submission()
    doc = submission.add(document("Newer"))
    link = submission.relate(kind, doc.entry_uuid, original)
    reason = Code("CORRECTION", "1.2.250.1.213.1.1.4.99", "Correction d'une erreur")
    documented = replace(link, documentation=(reason,))
    submission.associations[submission.associations.index(link)] = documented
    request = render_submit_objects_request(submission.build())
    xsd_valid(request, "lcm")
    assert request.findall(f".//{{{RIM}}}Association/{{{RIM}}}Classification")

    result = registry.submit(parse_submit_objects_request(request))

    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors
    answer = registry.query(
        StoredQueryRequest(GetAssociationsQuery(uuids=(result.ids[doc.entry_uuid],)))
    )
    (found,) = [a for a in answer.metadata.associations if a.association_type == kind.value]
    assert found.documentation == (reason,)
    xsd_valid(
        render_adhoc_query_response(answer.response, answer.metadata, ReturnType.LEAF_CLASS),
        "query",
    )


@pytest.mark.parametrize("kind", [AssociationType.REPLACE, AssociationType.TRANSFORM_REPLACE])
def test_replacement_deprecates_the_addenda_and_transforms_of_the_replaced(
    registry: Registry, kind: AssociationType
) -> None:
    # ITI TF-3 4.2.2.2 / CP-ITI-117: APND and XFRM children go with the document they depend
    # on, and theirs in turn; a signature (signs) and other documents stay as they are.
    original = registered_document(registry)
    addendum, _ = relate(registry, AssociationType.APPEND, original)
    transform, _ = relate(registry, AssociationType.TRANSFORM, original)
    addendum_of_addendum, _ = relate(registry, AssociationType.APPEND, addendum)
    signature, _ = relate(registry, AssociationType.SIGNS, original)
    other = registered_document(registry)

    replacement, response = relate(registry, kind, original)

    assert response.status is ResponseStatus.SUCCESS, response.errors
    for deprecated in (original, addendum, transform, addendum_of_addendum):
        assert status_of(registry, deprecated) == DEPRECATED
    for approved in (replacement, signature, other):
        assert status_of(registry, approved) == APPROVED


def test_a_refused_replacement_deprecates_no_child(registry: Registry) -> None:
    original = registered_document(registry)
    addendum, _ = relate(registry, AssociationType.APPEND, original)
    submission = Submission()
    doc = submission.add(document("Newer"))
    submission.relate(AssociationType.REPLACE, doc.entry_uuid, original)
    submission.member("urn:uuid:00000000-0000-4000-8000-000000000009", status="Reference")

    response = registry.register(submission.build())

    assert response.status is ResponseStatus.FAILURE
    assert status_of(registry, original) == APPROVED
    assert status_of(registry, addendum) == APPROVED
