"""How a stored query answers (ITI TF-2 3.18.4.1.2.3.x): ObjectRef or LeafClass, the
homeCommunityId, XDSTooManyResults, XDSResultNotSinglePatient, merged patients, warnings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_fixtures import BACKENDS, OTHER_PATIENT, Submission, document, migrated_engine
from registry_query_data import (
    APPROVED,
    DEPRECATED,
    PATIENT,
    World,
    new_world,
    world_on,
)

from ebrim.errors import ErrorCode
from ebrim.model import DocumentEntry
from ebrim.storedquery import (
    FindDocumentsQuery,
    GetAllQuery,
    GetAssociationsQuery,
    GetDocumentsQuery,
    StoredQueryRequest,
)
from ebrim.vocabulary import ResponseStatus, ReturnType, Severity
from registry import Registry, RegistrySettings

HOME = "urn:oid:1.2.250.1.213.4.1"
SURVIVOR = "1111111111^^^&1.2.3.4.5&ISO"


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with world_on(request.param, tmp_path_factory, request) as built:
        yield built


def approved(patient: str = PATIENT) -> FindDocumentsQuery:
    return FindDocumentsQuery(patient_id=patient, statuses=(APPROVED,))


def with_settings(world: World, **settings: object) -> Registry:
    """Another registry on the same database, with other settings."""
    return Registry(world.registry.engine, RegistrySettings(**settings))  # type: ignore[arg-type]


# --- LeafClass and ObjectRef ------------------------------------------------------------------


def test_leaf_class_returns_the_registered_objects_whole(world: World) -> None:
    result = world.ask(GetDocumentsQuery(uuids=(world["lab"],)))

    assert result.response.status is ResponseStatus.SUCCESS
    assert result.metadata is not None
    assert result.metadata.documents == (world.registry.get(world["lab"]),)
    assert result.object_refs == ()


def test_leaf_class_shows_the_current_status(world: World) -> None:
    result = world.ask(GetDocumentsQuery(uuids=(world["consult"],)))
    assert result.metadata is not None
    assert [d.status for d in result.metadata.documents] == [DEPRECATED]


def test_object_ref_returns_references_only(world: World) -> None:
    result = world.ask(approved(), ReturnType.OBJECT_REF)

    assert result.response.status is ResponseStatus.SUCCESS
    assert result.metadata is None
    assert len(result.object_refs) == 7
    assert all(ref.home is None for ref in result.object_refs)


def test_answers_are_sorted_by_entry_uuid_within_each_kind(world: World) -> None:
    query = GetAllQuery(
        patient_id=PATIENT,
        document_statuses=(APPROVED,),
        submission_set_statuses=(APPROVED,),
        folder_statuses=(APPROVED,),
    )
    result = world.ask(query)
    assert result.metadata is not None
    for kind in (result.metadata.documents, result.metadata.associations):
        ids = [obj.entry_uuid for obj in kind]
        assert ids == sorted(ids)
    refs = world.ask(query, ReturnType.OBJECT_REF).object_refs
    assert tuple(ref.id for ref in refs) == result.metadata.ids()


def test_leaf_class_and_object_ref_answer_the_same_ids(world: World) -> None:
    leaf = world.ask(approved())
    refs = world.ask(approved(), ReturnType.OBJECT_REF)
    assert leaf.ids == refs.ids


# --- homeCommunityId --------------------------------------------------------------------------


def test_home_community_id_of_the_request_is_echoed_on_every_object(world: World) -> None:
    result = world.ask(GetDocumentsQuery(uuids=(world["lab"],)), home_community_id=HOME)
    assert result.metadata is not None
    assert [d.home for d in result.metadata.documents] == [HOME]

    refs = world.ask(approved(), ReturnType.OBJECT_REF, home_community_id=HOME).object_refs
    assert {ref.home for ref in refs} == {HOME}


def test_home_community_id_comes_from_the_settings_when_the_request_has_none(
    world: World,
) -> None:
    registry = with_settings(world, home_community_id=HOME)
    result = registry.query(StoredQueryRequest(GetAssociationsQuery(uuids=(world["lab"],))))
    assert result.metadata is not None
    assert {a.home for a in result.metadata.associations} == {HOME}


# --- limits and single patient ----------------------------------------------------------------


def test_too_many_results_beyond_the_configured_limit(world: World) -> None:
    registry = with_settings(world, max_query_results=6)

    result = registry.query(StoredQueryRequest(approved(), ReturnType.OBJECT_REF))

    assert result.response.status is ResponseStatus.FAILURE
    assert [e.code for e in result.response.errors] == [ErrorCode.XDSTooManyResults]
    assert result.object_refs == () and result.metadata is None


def test_results_up_to_the_limit_are_answered(world: World) -> None:
    registry = with_settings(world, max_query_results=7)
    result = registry.query(StoredQueryRequest(approved()))
    assert result.response.status is ResponseStatus.SUCCESS
    assert result.metadata is not None and len(result.metadata.documents) == 7


def test_the_limit_counts_associations_too(world: World) -> None:
    registry = with_settings(world, max_query_results=2)
    result = registry.query(StoredQueryRequest(GetAssociationsQuery(uuids=(world["signature"],))))
    assert result.response.status is ResponseStatus.SUCCESS
    result = registry.query(StoredQueryRequest(GetAssociationsQuery(uuids=(world["scan"],))))
    assert [e.code for e in result.response.errors] == [ErrorCode.XDSTooManyResults]


def test_leaf_class_spanning_two_patients_is_refused(world: World) -> None:
    query = GetDocumentsQuery(uuids=(world["lab"], world["other"]))

    result = world.ask(query)

    assert result.response.status is ResponseStatus.FAILURE
    assert [e.code for e in result.response.errors] == [ErrorCode.XDSResultNotSinglePatient]
    assert result.metadata is None


def test_object_ref_spanning_two_patients_is_allowed(world: World) -> None:
    query = GetDocumentsQuery(uuids=(world["lab"], world["other"]))
    assert world.found(query) == {"lab", "other"}


# --- request bookkeeping ----------------------------------------------------------------------


def test_ignored_parameters_are_reported_as_warnings(world: World) -> None:
    result = world.ask(approved(), ignored_parameters=("$XDSDocumentEntryFoo",))

    assert result.response.status is ResponseStatus.SUCCESS
    (warning,) = result.response.errors
    assert warning.severity is Severity.WARNING
    assert warning.location == "$XDSDocumentEntryFoo"
    assert result.metadata is not None and len(result.metadata.documents) == 7


def test_request_id_is_echoed(world: World) -> None:
    result = world.ask(approved(), request_id="urn:uuid:request-1")
    assert result.response.request_id == "urn:uuid:request-1"


# --- merged patients --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_merged_patient_id_answers_under_the_surviving_id(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with migrated_engine(backend, tmp_path, request) as engine:
        world = new_world(engine)
        before = Submission(patient=OTHER_PATIENT, set_id="ss_before")
        before.add(document("before_merge", patient=OTHER_PATIENT))
        world.submit(before, "ss_before")
        world.registry.patients.feed(SURVIVOR)
        world.registry.patients.merge(OTHER_PATIENT, SURVIVOR)
        after = Submission(patient=SURVIVOR, set_id="ss_after")
        after.add(document("after_merge", patient=SURVIVOR))
        world.submit(after, "ss_after")

        for asked in (OTHER_PATIENT, SURVIVOR):
            result = world.ask(approved(asked))
            assert result.metadata is not None
            assert world.names(result.metadata.ids()) == {"before_merge", "after_merge"}
            assert {d.patient_id for d in result.metadata.documents} == {SURVIVOR}


@pytest.mark.parametrize("backend", BACKENDS)
def test_merged_documents_answer_as_one_patient_in_leaf_class(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with migrated_engine(backend, tmp_path, request) as engine:
        world = new_world(engine)
        for patient, name in ((PATIENT, "mine"), (OTHER_PATIENT, "theirs")):
            submission = Submission(patient=patient, set_id=f"ss_{name}")
            submission.add(document(name, patient=patient))
            world.submit(submission, f"ss_{name}")
        query = GetDocumentsQuery(uuids=(world["mine"], world["theirs"]))
        assert world.ask(query).metadata is None

        world.registry.patients.merge(OTHER_PATIENT, PATIENT)

        result = world.ask(query)
        assert result.metadata is not None
        assert all(isinstance(d, DocumentEntry) for d in result.metadata.documents)
        assert {d.patient_id for d in result.metadata.documents} == {PATIENT}
