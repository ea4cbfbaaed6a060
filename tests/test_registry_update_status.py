"""ITI-57 UpdateAvailabilityStatus and submitted associations (ITI TF-2b 3.57.4.1.3.3.2-6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from registry_fixtures import (
    HAS_MEMBER,
    OTHER_PATIENT,
    Submission,
    association,
    codes_of,
    dump,
    new_registry,
)
from sqlalchemy import Engine
from update_support import (
    APPROVED,
    ARCHIVED,
    DELETED,
    DEPRECATED,
    SUBMIT_ASSOCIATION,
    new_version,
    registered,
    status_change,
    succeeded,
    update_set,
)

from ebrim.errors import ErrorCode, XDSError
from ebrim.model import DocumentEntry, Metadata, RegistryObject
from ebrim.profile import Profile
from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from ebrim.validate import validate
from ebrim.vocabulary import AssociationType, ReturnType
from registry import Registry, RegistrySettings


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return new_registry(engine)


@pytest.fixture
def dmp_registry(engine: Engine) -> Registry:
    """A DMP registry whose metadata checks stay generic: these tests are about statuses."""
    return Registry(
        engine,
        RegistrySettings(profile=Profile.DMP),
        clock=lambda: datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        validator=lambda metadata, **kw: validate(metadata, transaction=kw["transaction"]),
    )


def status_of(registry: Registry, uuid: str) -> str | None:
    obj = registry.get(uuid)
    assert obj is not None
    return obj.status


def approved_now(registry: Registry, patient: str) -> set[str]:
    query = FindDocumentsQuery(patient_id=patient, statuses=(APPROVED,))
    result = registry.query(StoredQueryRequest(query, ReturnType.OBJECT_REF))
    return {ref.id for ref in result.object_refs}


def test_deprecate_then_approve_again(registry: Registry) -> None:
    doc = registered(registry)["Document01"]

    succeeded(registry.update(status_change(doc, APPROVED, DEPRECATED)))
    assert status_of(registry, doc) == DEPRECATED
    patient = registry.get(doc).patient_id  # type: ignore[union-attr]
    assert approved_now(registry, patient or "") == set()

    succeeded(registry.update(status_change(doc, DEPRECATED, APPROVED)))
    assert status_of(registry, doc) == APPROVED
    assert approved_now(registry, patient or "") == {doc}


def test_status_association_is_recorded_with_the_submission_set(registry: Registry) -> None:
    doc = registered(registry)["Document01"]
    succeeded(registry.update(status_change(doc, APPROVED, DEPRECATED)))
    (link,) = [
        a
        for a in registry.associations(target=doc)
        if a.association_type == AssociationType.UPDATE_AVAILABILITY_STATUS.value
    ]
    assert {s.name for s in link.extra_slots} == {"OriginalStatus", "NewStatus"}


def test_original_status_mismatch_is_refused(registry: Registry, engine: Engine) -> None:
    doc = registered(registry)["Document01"]
    before = dump(engine)

    response = registry.update(status_change(doc, DEPRECATED, APPROVED))

    assert codes_of(response) == ["XDSMetadataUpdateError"]
    assert "not OriginalStatus" in response.errors[0].message
    assert dump(engine) == before


@pytest.mark.parametrize("new", [ARCHIVED, DELETED])
def test_generic_profile_refuses_the_dmp_statuses(
    registry: Registry, engine: Engine, new: str
) -> None:
    doc = registered(registry)["Document01"]
    before = dump(engine)

    assert codes_of(registry.update(status_change(doc, APPROVED, new))) == [
        "XDSMetadataUpdateError"
    ]
    assert dump(engine) == before


def test_dmp_archives_restores_and_deletes(registry: Registry, dmp_registry: Registry) -> None:
    doc = registered(registry)["Document01"]

    succeeded(dmp_registry.update(status_change(doc, APPROVED, ARCHIVED)))
    assert status_of(dmp_registry, doc) == ARCHIVED
    succeeded(dmp_registry.update(status_change(doc, ARCHIVED, APPROVED)))
    succeeded(dmp_registry.update(status_change(doc, APPROVED, DELETED)))
    assert status_of(dmp_registry, doc) == DELETED


def test_dmp_deletion_is_final(registry: Registry, dmp_registry: Registry) -> None:
    doc = registered(registry)["Document01"]
    succeeded(dmp_registry.update(status_change(doc, APPROVED, DELETED)))

    response = dmp_registry.update(status_change(doc, DELETED, APPROVED))

    assert codes_of(response) == ["XDSMetadataUpdateError"]


def test_status_policy_can_refuse_a_change(registry: Registry, engine: Engine) -> None:
    doc = registered(registry)["Document01"]

    def authors_only(target: RegistryObject, original: str, new: str) -> XDSError | None:
        return XDSError(ErrorCode.LocalPolicyRestrictionError, "only the author", target.entry_uuid)

    before = dump(engine)
    response = registry.update(status_change(doc, APPROVED, DEPRECATED), policy=authors_only)

    assert codes_of(response) == ["LocalPolicyRestrictionError"]
    assert dump(engine) == before


def test_status_of_an_old_version_cannot_change(registry: Registry) -> None:
    uuid = registered(registry)["Document01"]
    v1 = registry.get(uuid)
    assert isinstance(v1, DocumentEntry)
    succeeded(registry.update(new_version(v1, title=None)))

    response = registry.update(status_change(uuid, DEPRECATED, APPROVED))

    assert codes_of(response) == ["XDSMetadataUpdateError"]
    assert "not the latest version" in response.errors[0].message


def test_unknown_target_is_an_unresolved_reference(registry: Registry) -> None:
    registered(registry)
    missing = "urn:uuid:00000000-0000-4000-8000-000000000002"
    response = registry.update(status_change(missing, APPROVED, DEPRECATED))
    assert codes_of(response) == ["UnresolvedReferenceException"]


def test_update_and_status_change_apply_to_the_new_version(registry: Registry) -> None:
    uuid = registered(registry)["Document01"]
    v1 = registry.get(uuid)
    assert isinstance(v1, DocumentEntry)
    request = new_version(v1, title=None)
    change = status_change(uuid, APPROVED, DEPRECATED)
    request = Metadata(
        submission_sets=request.submission_sets,
        documents=request.documents,
        associations=(*request.associations, *change.associations),
    )

    succeeded(registry.update(request))

    versions = {v.version: v.status for v in registry.find_by_unique_id(v1.unique_id or "")}
    assert versions == {"1": DEPRECATED, "2": DEPRECATED}


def test_folder_membership_between_registered_objects(registry: Registry) -> None:
    submission = Submission()
    submission.add()
    submission.add_folder()
    ids = registered(registry, submission)
    link = association(HAS_MEMBER, ids["Folder01"], ids["Document01"], entry_uuid="Filing")
    holder = association(SUBMIT_ASSOCIATION, "UpdateSet", "Filing")

    succeeded(
        registry.update(Metadata(submission_sets=(update_set(),), associations=(link, holder)))
    )

    assert {a.target for a in registry.associations(source=ids["Folder01"])} == {ids["Document01"]}
    folder = registry.get(ids["Folder01"])
    assert folder.last_update_time == "20240506070809"  # type: ignore[union-attr]


def test_association_between_two_patients_is_refused(registry: Registry) -> None:
    mine = registered(registry)
    other = Submission(patient=OTHER_PATIENT)
    other.add_folder()
    theirs = registered(registry, other)
    link = association(HAS_MEMBER, theirs["Folder01"], mine["Document01"], entry_uuid="Filing")
    holder = association(HAS_MEMBER, "UpdateSet", "Filing")

    response = registry.update(
        Metadata(submission_sets=(update_set(),), associations=(link, holder))
    )

    assert codes_of(response) == ["XDSPatientIdDoesNotMatch"]


def test_deprecate_a_folder_membership(registry: Registry) -> None:
    submission = Submission()
    submission.add()
    submission.add_folder()
    filing = submission.file("Folder01", "Document01")
    ids = registered(registry, submission)

    succeeded(registry.update(status_change(ids[filing.entry_uuid], APPROVED, DEPRECATED)))

    assert status_of(registry, ids[filing.entry_uuid]) == DEPRECATED


def test_submission_set_membership_status_is_fixed(registry: Registry) -> None:
    submission = Submission()
    submission.add()
    ids = registered(registry, submission)
    membership = submission.associations[0].entry_uuid

    response = registry.update(status_change(ids[membership], APPROVED, DEPRECATED))

    assert codes_of(response) == ["XDSMetadataUpdateError"]
