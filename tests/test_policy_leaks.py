"""A document masked from professionals (MASQUE_PS) leaks through no answer.

An authorised professional who is not its author must not learn it exists: it is absent
from every stored query and association answer, is not counted toward XDSTooManyResults,
and its retrieve answers exactly as an unknown uniqueId does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from policy_support import AUTHORISED, PolicyWorld, flag, policy_world, requester
from registry_fixtures import BACKENDS, PATIENT, REPOSITORY, migrated_engine, new_registry
from test_repository_provide import submission

from ebrim.storedquery import (
    FindDocumentsQuery,
    GetAllQuery,
    GetAssociationsQuery,
    GetDocumentsAndAssociationsQuery,
    GetDocumentsQuery,
    GetFolderAndContentsQuery,
    GetFoldersForDocumentQuery,
    GetRelatedDocumentsQuery,
    GetSubmissionSetAndContentsQuery,
    GetSubmissionSetsQuery,
    StoredQueryRequest,
)
from ebrim.vocabulary import AssociationType, ResponseStatus, ReturnType
from registry import Registry, RegistrySettings
from repository import DocumentRequest, RepositorySettings, open_repository

APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
UNKNOWN_UUID = "urn:uuid:00000000-0000-4000-8000-000000000000"
DOCTOR = requester(AUTHORISED)


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PolicyWorld]:
    with policy_world(request.param, tmp_path_factory, request) as built:
        yield built


def answer(world: PolicyWorld, query: Any, registry: Registry | None = None) -> set[str]:
    """Every id of the LeafClass answer (documents, sets, folders, associations)."""
    result = (registry or world.registry).query(
        StoredQueryRequest(query, ReturnType.LEAF_CLASS), requester=DOCTOR
    )
    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors
    assert result.metadata is not None
    return set(result.metadata.ids())


def touching_masked(world: PolicyWorld) -> set[str]:
    """The masked document and every association that touches it, at any level."""
    masked = world.ids["masked"]
    links = {a.entry_uuid for a in world.registry.associations(source=masked)}
    links |= {a.entry_uuid for a in world.registry.associations(target=masked)}
    holders = {a.entry_uuid for link in links for a in world.registry.associations(target=link)}
    return {masked, *links, *holders}


def queries(world: PolicyWorld) -> dict[str, Any]:
    masked, plain = world.ids["masked"], world.ids["plain"]
    folder, ss = world.ids["Folder01"], world.ids["SubmissionSet01"]
    return {
        "FindDocuments": FindDocumentsQuery(patient_id=PATIENT, statuses=(APPROVED,)),
        "GetAll": GetAllQuery(
            patient_id=PATIENT,
            document_statuses=(APPROVED,),
            submission_set_statuses=(APPROVED,),
            folder_statuses=(APPROVED,),
        ),
        "GetDocuments-uuid": GetDocumentsQuery(uuids=(masked, plain)),
        "GetDocuments-uniqueId": GetDocumentsQuery(unique_ids=(world.unique_ids["masked"],)),
        "GetDocumentsAndAssociations": GetDocumentsAndAssociationsQuery(uuids=(masked, plain)),
        "GetAssociations-masked": GetAssociationsQuery(uuids=(masked,)),
        "GetAssociations-folder-and-set": GetAssociationsQuery(uuids=(folder, ss, plain)),
        "GetRelatedDocuments-from-masked": GetRelatedDocumentsQuery(
            uuid=masked, association_types=(AssociationType.APPEND.value,)
        ),
        "GetRelatedDocuments-to-masked": GetRelatedDocumentsQuery(
            uuid=plain, association_types=(AssociationType.APPEND.value,)
        ),
        "GetSubmissionSetAndContents": GetSubmissionSetAndContentsQuery(uuid=ss),
        "GetFolderAndContents": GetFolderAndContentsQuery(uuid=folder),
        "GetFoldersForDocument": GetFoldersForDocumentQuery(uuid=masked),
        "GetSubmissionSets": GetSubmissionSetsQuery(uuids=(masked,)),
    }


QUERY_NAMES = [
    "FindDocuments",
    "GetAll",
    "GetDocuments-uuid",
    "GetDocuments-uniqueId",
    "GetDocumentsAndAssociations",
    "GetAssociations-masked",
    "GetAssociations-folder-and-set",
    "GetRelatedDocuments-from-masked",
    "GetRelatedDocuments-to-masked",
    "GetSubmissionSetAndContents",
    "GetFolderAndContents",
    "GetFoldersForDocument",
    "GetSubmissionSets",
]


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_masked_document_leaks_through_no_query(world: PolicyWorld, name: str) -> None:
    assert not answer(world, queries(world)[name]) & touching_masked(world)


NAMING_IT = ["GetFoldersForDocument", "GetSubmissionSets", "GetAssociations-masked"]


@pytest.mark.parametrize("name", [n for n in QUERY_NAMES if n not in NAMING_IT])
def test_the_author_still_sees_it(world: PolicyWorld, name: str) -> None:
    """The leak tests are not vacuous: without masking, these answers name the document."""
    author = world.registry.query(
        StoredQueryRequest(queries(world)[name], ReturnType.LEAF_CLASS),
        requester=requester("801234567890"),
    )
    assert author.metadata is not None
    assert set(author.metadata.ids()) & touching_masked(world)


@pytest.mark.parametrize("name", NAMING_IT)
def test_queries_naming_the_masked_document_answer_as_for_an_unknown_one(
    world: PolicyWorld, name: str
) -> None:
    assert answer(world, queries(world)[name]) == set()
    author = requester("801234567890")
    result = world.registry.query(
        StoredQueryRequest(queries(world)[name], ReturnType.LEAF_CLASS), requester=author
    )
    assert result.metadata is not None and result.metadata.ids()


def test_masked_documents_are_not_counted_toward_too_many_results(world: PolicyWorld) -> None:
    visible = len(answer(world, queries(world)["FindDocuments"]))
    limited = Registry(
        world.registry.engine,
        dataclasses.replace(world.registry.settings, max_query_results=visible),
    )
    query = StoredQueryRequest(queries(world)["FindDocuments"], ReturnType.OBJECT_REF)

    assert limited.query(query, requester=DOCTOR).response.status is ResponseStatus.SUCCESS
    [error] = limited.query(query).response.errors  # unfiltered: one more
    assert error.code.value == "XDSTooManyResults"


# --- ITI-43 --------------------------------------------------------------------------------


def test_retrieve_of_a_masked_document_answers_as_an_unknown_one(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        registry = new_registry(engine)
        registry.records.open(PATIENT, consent_by="the patient")
        registry.records.grant(PATIENT, AUTHORISED, by="the patient")
        registry.records.grant(PATIENT, "801234567890", by="the patient")  # the author
        repo = open_repository(
            RepositorySettings(REPOSITORY, tmp_path / "data"), registry, registry.engine
        )
        metadata, streams = submission(b"<plain/>", b"<masked/>")
        masked_entry = metadata.documents[1]
        masked_entry = dataclasses.replace(
            masked_entry,
            confidentiality_codes=(*masked_entry.confidentiality_codes, flag("MASQUE_PS")),
        )
        metadata = dataclasses.replace(metadata, documents=(metadata.documents[0], masked_entry))
        assert repo.provide_and_register(metadata, streams).status is ResponseStatus.SUCCESS
        plain, masked = (d.unique_id or "" for d in metadata.documents)
        unknown = "1.2.3.4.5.404"
        consultation = registry.consultation(DOCTOR)

        def shape(unique_id: str) -> list[tuple[str, str, str, str]]:
            result = repo.retrieve(
                [DocumentRequest(REPOSITORY, unique_id)], visible=consultation.visible
            )
            return [
                (
                    result.response.status.name,
                    e.code.value,
                    e.message.replace(unique_id, "<id>"),
                    e.location.replace(unique_id, "<id>"),
                )
                for e in result.response.errors
            ]

        assert shape(masked) == shape(unknown) != []
        assert shape(plain) == []
        author = registry.consultation(requester("801234567890"))
        found = repo.retrieve([DocumentRequest(REPOSITORY, masked)], visible=author.visible)
        assert found.response.status is ResponseStatus.SUCCESS


def test_retrieve_without_visibility_is_unchanged(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        registry = new_registry(engine)
        repo = open_repository(
            RepositorySettings(REPOSITORY, tmp_path / "data"), registry, registry.engine
        )
        metadata, streams = submission(b"<x/>", **{"confidentiality_codes": (flag("MASQUE_PS"),)})
        assert repo.provide_and_register(metadata, streams).status is ResponseStatus.SUCCESS
        uid = metadata.documents[0].unique_id or ""
        assert repo.retrieve([DocumentRequest(REPOSITORY, uid)]).documents


def test_registry_settings_default_requires_records_only_in_the_dmp_profile() -> None:
    from ebrim.profile import Profile

    assert RegistrySettings(profile=Profile.DMP).records_required
    assert not RegistrySettings().records_required
    assert not RegistrySettings(profile=Profile.DMP, require_open_record=False).records_required
