"""ITI-43 Retrieve Document Set (ITI TF-2b 3.43.4): several documents, partial answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_fixtures import REPOSITORY, codes_of, migrated_engine, new_registry
from test_repository_provide import submission

from ebrim.vocabulary import ResponseStatus
from repository import DocumentRequest, Repository, RepositorySettings, open_repository

UNKNOWN = "1.2.3.4.5.404"


@pytest.fixture
def repo(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Repository]:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        settings = RepositorySettings(REPOSITORY, tmp_path / "data")
        yield open_repository(settings, new_registry(engine), engine)


@pytest.fixture
def stored(repo: Repository) -> dict[str, bytes]:
    """Three documents provided to `repo`: uniqueId -> bytes."""
    contents = [b"<first/>", b"%PDF-1.4 second", b"third"]
    metadata, streams = submission(*contents)
    response = repo.provide_and_register(metadata, streams)
    assert response.status is ResponseStatus.SUCCESS, response.errors
    return {doc.unique_id or "": c for doc, c in zip(metadata.documents, contents, strict=True)}


def request(unique_id: str, repository: str = REPOSITORY) -> DocumentRequest:
    return DocumentRequest(repository, unique_id)


def test_retrieve_several_documents_byte_identical(
    repo: Repository,
    stored: dict[str, bytes],
) -> None:
    result = repo.retrieve([request(uid) for uid in reversed(stored)])

    assert result.response.status is ResponseStatus.SUCCESS
    assert result.response.errors == ()
    assert [d.request.document_unique_id for d in result.documents] == list(reversed(stored))
    for document in result.documents:
        content = stored[document.request.document_unique_id]
        assert (document.mime_type, document.size) == ("text/xml", len(content))
        with document.open() as stream:
            assert stream.read() == content


def test_retrieve_opens_a_fresh_stream_each_time(
    repo: Repository,
    stored: dict[str, bytes],
) -> None:
    [document] = repo.retrieve([request(next(iter(stored)))]).documents

    with document.open() as first:
        first.read(3)
        with document.open() as second:
            assert second.read() == next(iter(stored.values()))


def test_retrieve_with_one_unknown_document_is_partial_success(
    repo: Repository,
    stored: dict[str, bytes],
) -> None:
    known = list(stored)

    result = repo.retrieve([request(known[0]), request(UNKNOWN), request(known[1])])

    assert result.response.status is ResponseStatus.PARTIAL_SUCCESS
    assert codes_of(result.response) == ["XDSDocumentUniqueIdError"]
    assert result.response.errors[0].location == UNKNOWN
    assert [d.request.document_unique_id for d in result.documents] == known[:2]


def test_retrieve_of_only_unknown_documents_fails(repo: Repository) -> None:
    result = repo.retrieve([request(UNKNOWN), request(UNKNOWN + ".1")])

    assert result.response.status is ResponseStatus.FAILURE
    assert codes_of(result.response) == ["XDSDocumentUniqueIdError"] * 2
    assert result.documents == ()


def test_retrieve_from_another_repository_is_unknown_repository(
    repo: Repository,
    stored: dict[str, bytes],
) -> None:
    known = next(iter(stored))

    result = repo.retrieve([request(known, "1.2.3.999"), request(known)])

    assert result.response.status is ResponseStatus.PARTIAL_SUCCESS
    assert codes_of(result.response) == ["XDSUnknownRepositoryId"]
    assert result.response.errors[0].location == "1.2.3.999"
    assert len(result.documents) == 1
