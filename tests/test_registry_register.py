"""ITI-42 registration: ids, status, uniqueness, and all-or-nothing writes."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from registry_fixtures import (
    HAS_MEMBER,
    OTHER_PATIENT,
    PATIENT,
    Submission,
    association,
    codes_of,
    document,
    dump,
    new_registry,
)
from sqlalchemy import Engine

from ebrim.model import Association, DocumentEntry, SubmissionSet
from ebrim.vocabulary import AvailabilityStatus, ResponseStatus
from registry import Registry, RegistrySettings

APPROVED = AvailabilityStatus.APPROVED.value


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return new_registry(engine)


def test_register_assigns_uuids_and_approves(registry: Registry) -> None:
    submission = Submission()
    doc = submission.add()
    metadata = submission.build()

    result = registry.submit(metadata)

    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors
    assert set(result.ids) == set(metadata.by_id())
    assert all(uid.startswith("urn:uuid:") for uid in result.ids.values())
    assert {uuid.UUID(uid[9:]).version for uid in result.ids.values()} == {7}  # time-ordered
    stored = registry.get(result.ids[doc.entry_uuid])
    assert isinstance(stored, DocumentEntry)
    assert stored.status == APPROVED
    assert stored.logical_id == stored.entry_uuid
    assert stored.version == "1"
    expected = replace(
        doc,
        entry_uuid=stored.entry_uuid,
        status=APPROVED,
        logical_id=stored.entry_uuid,
        version="1",
    )
    assert stored == expected


def test_register_rewrites_association_references(registry: Registry) -> None:
    submission = Submission()
    doc = submission.add()
    result = registry.submit(submission.build())

    set_uuid = result.ids["SubmissionSet01"]
    (link,) = registry.associations(source=set_uuid)
    assert link.target == result.ids[doc.entry_uuid]
    assert link.status == APPROVED
    assert isinstance(registry.get(set_uuid), SubmissionSet)


def test_register_keeps_submitted_uuids(registry: Registry) -> None:
    doc_uuid = "urn:uuid:6b9d1d3e-1d3c-4bd6-9d0a-1f4b6f5f7a10"
    submission = Submission()
    submission.add(document(doc_uuid))

    result = registry.submit(submission.build())

    assert result.ids[doc_uuid] == doc_uuid
    assert registry.get(doc_uuid) is not None


def test_register_refuses_a_used_entry_uuid(registry: Registry) -> None:
    doc_uuid = "urn:uuid:6b9d1d3e-1d3c-4bd6-9d0a-1f4b6f5f7a11"
    first = Submission()
    first.add(document(doc_uuid))
    registry.register(first.build())
    second = Submission()
    second.add(document(doc_uuid))

    response = registry.register(second.build())

    assert codes_of(response) == ["XDSRegistryMetadataError"]
    assert doc_uuid in response.errors[0].location


def test_register_finds_objects_by_unique_id(registry: Registry) -> None:
    submission = Submission()
    doc = submission.add()
    registry.register(submission.build())

    (found,) = registry.find_by_unique_id(doc.unique_id or "")
    assert isinstance(found, DocumentEntry)
    assert found.hash == doc.hash


def test_register_refuses_an_unknown_patient(engine: Engine) -> None:
    registry = new_registry(engine, OTHER_PATIENT)
    submission = Submission()
    submission.add()

    response = registry.register(submission.build())

    assert codes_of(response) == ["XDSUnknownPatientId"]
    assert response.errors[0].location == PATIENT
    assert PATIENT in response.errors[0].message


def test_register_returns_validation_errors_without_writing(
    registry: Registry, engine: Engine
) -> None:
    submission = Submission()
    submission.add(patient_id=None)
    before = dump(engine)

    response = registry.register(submission.build())

    assert response.status is ResponseStatus.FAILURE
    assert "XDSRegistryMetadataError" in codes_of(response)
    assert dump(engine) == before


def test_register_refuses_a_registered_submission_set_unique_id(registry: Registry) -> None:
    first = Submission()
    first.add()
    metadata = first.build()
    registry.register(metadata)
    second = Submission()
    second.add()
    set_unique_id = metadata.submission_sets[0].unique_id

    response = registry.register(second.build(unique_id=set_unique_id))

    assert codes_of(response) == ["XDSDuplicateUniqueIdInRegistry"]


def test_register_accepts_a_document_sharing_a_submission_set_unique_id(
    registry: Registry,
) -> None:
    first = Submission()
    first.add()
    set_unique_id = first.build().submission_sets[0].unique_id
    registry.register(first.build(unique_id=set_unique_id))
    second = Submission()
    second.add(document("Namesake", unique_id=set_unique_id))

    response = registry.register(second.build())

    assert response.status is ResponseStatus.SUCCESS, response.errors


def test_register_refuses_an_oversized_submission(engine: Engine) -> None:
    registry = Registry(engine, RegistrySettings(max_objects_per_submission=3))
    registry.patients.feed(PATIENT)
    submission = Submission()
    submission.add()
    submission.add()

    response = registry.register(submission.build())

    assert codes_of(response) == ["XDSRegistryOutOfResources"]


def test_register_refuses_same_unique_id_with_other_hash(registry: Registry) -> None:
    first = Submission()
    doc = first.add()
    registry.register(first.build())
    second = Submission()
    second.add(document("Again", unique_id=doc.unique_id, hash="0" * 40))

    response = registry.register(second.build())

    assert codes_of(response) == ["XDSNonIdenticalHash"]
    assert response.errors[0].location == doc.unique_id


def test_register_accepts_the_same_document_again_in_a_new_submission_set(
    registry: Registry, engine: Engine
) -> None:
    # ITI TF-2b 3.42.4.1.3: a uniqueId already registered is an error only when the content
    # differs (XDSNonIdenticalHash / XDSNonIdenticalSize); the same hash is the same document,
    # so the registry keeps its one entry and the new submission set links to it.
    first = Submission()
    doc = first.add()
    registered = registry.submit(first.build())
    doc_uuid = registered.ids[doc.entry_uuid]
    second = Submission()
    second.add(document("Again", unique_id=doc.unique_id, hash=doc.hash.upper(), size=doc.size))

    result = registry.submit(second.build())

    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors
    assert result.ids["Again"] == doc_uuid
    members = {
        link.source
        for link in registry.associations(target=doc_uuid)
        if link.association_type == HAS_MEMBER
    }
    assert members == {registered.ids["SubmissionSet01"], result.ids["SubmissionSet01"]}
    rows = dump(engine)
    assert len(rows["documents"]) == 1
    assert len([row for row in rows["unique_ids"] if doc.unique_id in row]) == 1


def test_register_refuses_the_same_unique_id_and_hash_for_another_patient(
    registry: Registry,
) -> None:
    first = Submission()
    doc = first.add()
    registry.register(first.build())
    registry.patients.feed(OTHER_PATIENT)
    second = Submission(patient=OTHER_PATIENT)
    second.add(
        document("Again", unique_id=doc.unique_id, content="Document01", patient=OTHER_PATIENT)
    )

    response = registry.register(second.build())

    assert codes_of(response) == ["XDSDuplicateUniqueIdInRegistry"]


def test_register_refuses_same_unique_id_with_other_size(registry: Registry) -> None:
    first = Submission()
    doc = first.add()
    registry.register(first.build())
    second = Submission()
    second.add(document("Again", unique_id=doc.unique_id, hash=doc.hash, size="999999"))

    response = registry.register(second.build())

    assert codes_of(response) == ["XDSNonIdenticalSize"]


def test_register_refuses_reference_to_unknown_uuid(registry: Registry) -> None:
    submission = Submission()
    submission.add()
    missing = "urn:uuid:00000000-0000-4000-8000-000000000001"
    submission.member(missing, status="Reference")

    response = registry.register(submission.build())

    assert "UnresolvedReferenceException" in codes_of(response)
    assert any(error.location == missing for error in response.errors)


def test_register_references_an_existing_document(registry: Registry) -> None:
    first = Submission()
    doc = first.add()
    doc_uuid = registry.submit(first.build()).ids[doc.entry_uuid]
    second = Submission()
    second.add()
    second.member(doc_uuid, status="Reference")

    result = registry.submit(second.build())

    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors
    links = registry.associations(target=doc_uuid)
    assert (result.ids["SubmissionSet01"], "Reference") in {
        (link.source, link.submission_set_status) for link in links
    }


def test_register_refuses_reference_to_another_patients_document(registry: Registry) -> None:
    first = Submission(patient=OTHER_PATIENT)
    doc = first.add()
    doc_uuid = registry.submit(first.build()).ids[doc.entry_uuid]
    second = Submission()
    second.add()
    second.member(doc_uuid, status="Reference")

    response = registry.register(second.build())

    assert codes_of(response) == ["XDSPatientIdDoesNotMatch"]


def test_failed_submission_leaves_database_unchanged(registry: Registry, engine: Engine) -> None:
    first = Submission()
    doc = first.add()
    registry.register(first.build())
    before = dump(engine)
    # Fails late, after its new uniqueIds passed: the documents and folder are fine,
    # only the last document's uniqueId is already registered.
    second = Submission()
    second.add()
    folder = second.add_folder()
    second.file(folder.entry_uuid, "Document01")
    second.add(document("Late", unique_id=doc.unique_id))

    response = registry.register(second.build())

    assert response.status is ResponseStatus.FAILURE
    assert dump(engine) == before


def test_failed_lifecycle_leaves_database_unchanged(registry: Registry, engine: Engine) -> None:
    first = Submission()
    first.add()
    registry.register(first.build())
    before = dump(engine)
    second = Submission()
    second.add()
    second.associations.append(
        association(HAS_MEMBER, "SubmissionSet01", "urn:uuid:00000000-0000-4000-8000-000000000002")
    )

    response = registry.register(second.build())

    assert response.status is ResponseStatus.FAILURE
    assert dump(engine) == before


def test_association_objects_read_back_whole(registry: Registry) -> None:
    submission = Submission()
    submission.add()
    result = registry.submit(submission.build())

    (link,) = registry.associations(source=result.ids["SubmissionSet01"])
    assert isinstance(link, Association)
    assert link.submission_set_status == "Original"
    assert registry.get(link.entry_uuid) == link
