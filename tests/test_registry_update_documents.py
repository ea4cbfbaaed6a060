"""ITI-57 on the registry: new DocumentEntry and Folder versions (ITI TF-2b 3.57.4.1.3.3.1)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from registry_fixtures import (
    Submission,
    code,
    codes_of,
    dump,
    new_registry,
)
from sqlalchemy import Engine
from update_support import (
    APPROVED,
    DEPRECATED,
    new_version,
    registered,
    status_change,
    succeeded,
)

from ebrim.model import DocumentEntry, Folder, Metadata
from ebrim.storedquery import (
    FindDocumentsQuery,
    GetDocumentsQuery,
    GetFoldersQuery,
    StoredQueryRequest,
)
from ebrim.vocabulary import ObjectType, ReturnType
from registry import Registry


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return new_registry(engine)


def document_of(registry: Registry, uuid: str) -> DocumentEntry:
    doc = registry.get(uuid)
    assert isinstance(doc, DocumentEntry)
    return doc


def refs(registry: Registry, query: object, level: int | None = None) -> set[str]:
    result = registry.query(
        StoredQueryRequest(query, ReturnType.OBJECT_REF, metadata_level=level)  # type: ignore[arg-type]
    )
    assert not result.response.errors, result.response.errors
    return {ref.id for ref in result.object_refs}


def update_one(registry: Registry) -> tuple[DocumentEntry, DocumentEntry]:
    """Register a document, then update its classCode: (version 1, version 2)."""
    v1 = document_of(registry, registered(registry)["Document01"])
    succeeded(registry.update(new_version(v1, class_code=code("Updated"))))
    versions = registry.find_by_unique_id(v1.unique_id or "")
    v2 = next(v for v in versions if v.entry_uuid != v1.entry_uuid)
    assert isinstance(v2, DocumentEntry)
    return document_of(registry, v1.entry_uuid), v2


def test_update_creates_version_2_and_deprecates_version_1(registry: Registry) -> None:
    v1, v2 = update_one(registry)

    assert (v1.version, v1.status) == ("1", DEPRECATED)
    assert (v2.version, v2.status, v2.logical_id) == ("2", APPROVED, v1.entry_uuid)
    assert v2.class_code == code("Updated")
    assert v2.unique_id == v1.unique_id


def test_get_documents_by_logical_id_returns_every_version_at_level_2(registry: Registry) -> None:
    v1, v2 = update_one(registry)
    query = GetDocumentsQuery(logical_ids=(v1.entry_uuid,))

    assert refs(registry, query, level=2) == {v1.entry_uuid, v2.entry_uuid}


def test_level_1_consumers_see_only_the_latest_version(registry: Registry) -> None:
    v1, v2 = update_one(registry)

    assert refs(registry, GetDocumentsQuery(logical_ids=(v1.entry_uuid,))) == {v2.entry_uuid}
    assert refs(registry, GetDocumentsQuery(unique_ids=(v1.unique_id or "",)), 1) == {v2.entry_uuid}


def test_find_documents_returns_the_approved_version_only(registry: Registry) -> None:
    v1, v2 = update_one(registry)
    approved = FindDocumentsQuery(patient_id=v1.patient_id or "", statuses=(APPROVED,))
    deprecated = FindDocumentsQuery(patient_id=v1.patient_id or "", statuses=(DEPRECATED,))

    assert refs(registry, approved) == {v2.entry_uuid}
    assert refs(registry, deprecated, level=2) == {v1.entry_uuid}
    assert refs(registry, deprecated) == set()


def test_updated_codes_are_what_queries_filter_on(registry: Registry) -> None:
    v1, v2 = update_one(registry)
    query = FindDocumentsQuery(
        patient_id=v1.patient_id or "", statuses=(APPROVED,), class_codes=(code("Updated"),)
    )
    assert refs(registry, query) == {v2.entry_uuid}


def test_a_third_version_follows_the_second(registry: Registry) -> None:
    v1, v2 = update_one(registry)
    succeeded(registry.update(new_version(v2, title=None)))

    versions = sorted(registry.find_by_unique_id(v1.unique_id or ""), key=lambda d: d.version or "")
    assert [(v.version, v.status) for v in versions] == [
        ("1", DEPRECATED),
        ("2", DEPRECATED),
        ("3", APPROVED),
    ]


@pytest.mark.parametrize(
    ("attribute", "changes"),
    [
        ("patientId", {"patient_id": "7654321098^^^&1.2.3.4.5&ISO"}),
        ("uniqueId", {"unique_id": "2.25.42"}),
        ("hash", {"hash": "0" * 40}),
        ("size", {"size": "999999"}),
        ("repositoryUniqueId", {"repository_unique_id": "1.2.3.4.5.6"}),
    ],
)
def test_unmodifiable_attribute_is_refused_and_nothing_changes(
    registry: Registry, engine: Engine, attribute: str, changes: dict[str, str]
) -> None:
    v1 = document_of(registry, registered(registry)["Document01"])
    request = new_version(v1, **changes)
    if attribute == "patientId":
        request = replace(
            request,
            submission_sets=(
                replace(request.submission_sets[0], patient_id=changes["patient_id"]),
            ),
        )
    before = dump(engine)

    response = registry.update(request)

    assert codes_of(response) == ["UnmodifiableMetadataError"]
    assert response.errors[0].location == attribute
    assert attribute in response.errors[0].message
    assert dump(engine) == before


def test_object_type_may_not_change(registry: Registry, engine: Engine) -> None:
    v1 = document_of(registry, registered(registry)["Document01"])
    on_demand = {
        "object_type": ObjectType.ON_DEMAND_DOCUMENT.value,
        "hash": None,
        "size": None,
        "creation_time": None,
        "service_start_time": None,
        "service_stop_time": None,
    }
    before = dump(engine)

    response = registry.update(new_version(v1, **on_demand))  # type: ignore[arg-type]

    # An on-demand entry carries no hash nor size, so those two differ as well.
    assert set(codes_of(response)) == {"UnmodifiableMetadataError"}
    assert {e.location for e in response.errors} == {"objectType", "hash", "size"}
    assert dump(engine) == before


def test_stale_previous_version_is_refused(registry: Registry, engine: Engine) -> None:
    v1, _ = update_one(registry)
    before = dump(engine)

    response = registry.update(new_version(v1, "1", title=None))

    assert codes_of(response) == ["XDSMetadataVersionError"]
    assert dump(engine) == before


def test_previous_version_beyond_the_latest_is_refused(registry: Registry) -> None:
    v1 = document_of(registry, registered(registry)["Document01"])
    assert codes_of(registry.update(new_version(v1, "2"))) == ["XDSMetadataVersionError"]


def test_unknown_logical_id_is_refused(registry: Registry) -> None:
    v1 = document_of(registry, registered(registry)["Document01"])
    stranger = replace(v1, logical_id="urn:uuid:00000000-0000-4000-8000-000000000001")
    assert codes_of(registry.update(new_version(stranger))) == ["XDSMetadataUpdateError"]


def test_deprecated_document_cannot_be_updated(registry: Registry, engine: Engine) -> None:
    v1 = document_of(registry, registered(registry)["Document01"])
    succeeded(registry.update(status_change(v1.entry_uuid, APPROVED, DEPRECATED)))
    before = dump(engine)

    response = registry.update(new_version(v1))

    assert codes_of(response) == ["XDSMetadataUpdateError"]
    assert dump(engine) == before


def test_initial_version_in_an_update_is_refused(registry: Registry) -> None:
    v1 = document_of(registry, registered(registry)["Document01"])
    request = new_version(v1)
    request = replace(request, documents=(replace(request.documents[0], logical_id=None),))
    assert codes_of(registry.update(request)) == ["XDSMetadataUpdateError"]


def test_folder_membership_is_carried_to_the_new_version(registry: Registry) -> None:
    submission = Submission()
    submission.add()
    submission.add_folder()
    submission.file("Folder01", "Document01")
    ids = registered(registry, submission)
    v1 = document_of(registry, ids["Document01"])

    succeeded(registry.update(new_version(v1, title=None)))

    members = {a.target for a in registry.associations(source=ids["Folder01"])}
    v2 = next(v for v in registry.find_by_unique_id(v1.unique_id or "") if v.version == "2")
    assert members == {v1.entry_uuid, v2.entry_uuid}
    folder = registry.get(ids["Folder01"])
    assert isinstance(folder, Folder) and folder.last_update_time == "20240506070809"


def test_association_propagation_no_leaves_the_folder_alone(registry: Registry) -> None:
    submission = Submission()
    submission.add()
    submission.add_folder()
    submission.file("Folder01", "Document01")
    ids = registered(registry, submission)
    v1 = document_of(registry, ids["Document01"])

    succeeded(registry.update(new_version(v1, propagate="no", title=None)))

    assert {a.target for a in registry.associations(source=ids["Folder01"])} == {v1.entry_uuid}


def test_folder_update_creates_a_new_folder_version(registry: Registry) -> None:
    submission = Submission()
    submission.add()
    submission.add_folder()
    submission.file("Folder01", "Document01")
    ids = registered(registry, submission)
    f1 = registry.get(ids["Folder01"])
    assert isinstance(f1, Folder)

    succeeded(registry.update(new_version(f1, codes=(code("Renamed"),))))

    both = refs(registry, GetFoldersQuery(logical_ids=(f1.entry_uuid,)), level=2)
    assert len(both) == 2
    (f2_uuid,) = both - {f1.entry_uuid}
    f2 = registry.get(f2_uuid)
    assert isinstance(f2, Folder) and (f2.version, f2.status) == ("2", APPROVED)
    assert registry.get(f1.entry_uuid).status == DEPRECATED  # type: ignore[union-attr]
    assert {a.target for a in registry.associations(source=f2_uuid)} == {ids["Document01"]}
    assert refs(registry, GetFoldersQuery(logical_ids=(f1.entry_uuid,))) == {f2_uuid}


def test_update_of_the_official_example_shape_round_trips(registry: Registry) -> None:
    """The MU example's request shape: symbolic id, lid, PreviousVersion 1, SubmissionSetStatus."""
    v1 = document_of(registry, registered(registry)["Document01"])
    request: Metadata = new_version(v1, class_code=code("Evaluation and management"))
    assert request.documents[0].entry_uuid == "DocumentUpdate"
    succeeded(registry.update(request))
