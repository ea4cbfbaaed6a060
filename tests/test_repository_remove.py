"""ITI-86 Remove Documents on the repository (RMD): bytes gone, shared objects kept."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_fixtures import REPOSITORY, codes_of, migrated_engine, new_registry
from test_repository_provide import submission

from ebrim.vocabulary import ResponseStatus
from repository import DocumentRequest, FilesystemStore, Repository, RepositorySettings
from repository import open_repository as open_repo

UNKNOWN = "1.2.3.4.5.404"


@pytest.fixture
def repo(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Repository]:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        settings = RepositorySettings(REPOSITORY, tmp_path / "data")
        yield open_repo(settings, new_registry(engine))


def provide(repo: Repository, *contents: bytes) -> list[str]:
    """Provide one document per content; their uniqueIds."""
    metadata, streams = submission(*contents)
    response = repo.provide_and_register(metadata, streams)
    assert response.status is ResponseStatus.SUCCESS, response.errors
    return [doc.unique_id or "" for doc in metadata.documents]


def request(unique_id: str, repository: str = REPOSITORY) -> DocumentRequest:
    return DocumentRequest(repository, unique_id)


def objects(repo: Repository) -> list[Path]:
    assert isinstance(repo.store, FilesystemStore)
    return [p for p in (repo.store.root / "objects").rglob("*") if p.is_file()]


def test_remove_all_known_succeeds_and_deletes_the_bytes(repo: Repository) -> None:
    first, second = provide(repo, b"<first/>", b"second")

    response = repo.remove([request(first), request(second)])

    assert response.status is ResponseStatus.SUCCESS
    assert response.errors == ()
    assert objects(repo) == []
    assert repo.store.lookup(first) is None


def test_remove_with_one_unknown_id_is_partial_success(repo: Repository) -> None:
    [known] = provide(repo, b"<kept-out/>")

    response = repo.remove([request(known), request(UNKNOWN)])

    assert response.status is ResponseStatus.PARTIAL_SUCCESS
    assert codes_of(response) == ["XDSDocumentUniqueIdError"]
    assert response.errors[0].location == UNKNOWN


def test_remove_only_unknown_ids_fails(repo: Repository) -> None:
    response = repo.remove([request(UNKNOWN)])

    assert response.status is ResponseStatus.FAILURE
    assert codes_of(response) == ["XDSDocumentUniqueIdError"]


def test_remove_for_another_repository_is_unknown_repository(repo: Repository) -> None:
    [known] = provide(repo, b"<mine/>")

    response = repo.remove([request(known, "1.2.3.999")])

    assert response.status is ResponseStatus.FAILURE
    assert codes_of(response) == ["XDSUnknownRepositoryId"]
    assert response.errors[0].location == known
    assert repo.store.lookup(known) is not None


def test_removed_document_is_no_longer_retrievable(repo: Repository) -> None:
    [unique_id] = provide(repo, b"<gone/>")
    assert repo.remove([request(unique_id)]).status is ResponseStatus.SUCCESS

    result = repo.retrieve([request(unique_id)])

    assert result.response.status is ResponseStatus.FAILURE
    assert codes_of(result.response) == ["XDSDocumentUniqueIdError"]


def test_remove_keeps_an_object_another_unique_id_shares(repo: Repository) -> None:
    content = b"<same bytes under two uniqueIds/>"
    first, second = provide(repo, content, content)
    assert len(objects(repo)) == 1  # deduplicated by sha-256

    assert repo.remove([request(first)]).status is ResponseStatus.SUCCESS

    [document] = repo.retrieve([request(second)]).documents
    with document.open() as stream:
        assert stream.read() == content
    assert len(objects(repo)) == 1


def test_removing_both_sharers_deletes_the_object(repo: Repository) -> None:
    content = b"<shared/>"
    first, second = provide(repo, content, content)

    assert repo.remove([request(first)]).status is ResponseStatus.SUCCESS
    assert repo.remove([request(second)]).status is ResponseStatus.SUCCESS

    assert objects(repo) == []


def test_a_stream_open_before_removal_reads_to_the_end(repo: Repository) -> None:
    [unique_id] = provide(repo, b"<being read/>" * 1000)
    [document] = repo.retrieve([request(unique_id)]).documents
    with document.open() as stream:
        assert repo.remove([request(unique_id)]).status is ResponseStatus.SUCCESS
        assert stream.read() == b"<being read/>" * 1000


def test_same_unique_id_twice_is_removed_once(repo: Repository) -> None:
    [unique_id] = provide(repo, b"<twice/>")

    response = repo.remove([request(unique_id), request(unique_id)])

    assert response.status is ResponseStatus.SUCCESS


def test_removed_unique_id_can_be_provided_again(repo: Repository) -> None:
    metadata, streams = submission(b"<again/>")
    assert repo.provide_and_register(metadata, streams).status is ResponseStatus.SUCCESS
    unique_id = metadata.documents[0].unique_id or ""
    assert repo.remove([request(unique_id)]).status is ResponseStatus.SUCCESS

    assert isinstance(repo.store, FilesystemStore)
    staged = repo.store.stage(io.BytesIO(b"<other bytes/>"))
    stored = repo.store.commit(staged, unique_id, "text/xml")

    assert repo.store.lookup(unique_id) == stored


def test_remove_is_logged_with_ids_and_outcome(
    repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    [known] = provide(repo, b"<logged/>")

    with caplog.at_level(logging.INFO, logger="repository.actor"):
        repo.remove([request(known), request(UNKNOWN)])

    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ITI-86")]
    assert known in line and UNKNOWN in line and "PARTIAL_SUCCESS" in line


def test_store_remove_reports_unknown_and_removed(tmp_path: Path) -> None:

    store = FilesystemStore(tmp_path / "store")
    stored = store.commit(store.stage(io.BytesIO(b"x")), "1.2.3", "text/plain")

    removal = store.remove(["1.2.3", UNKNOWN, "1.2.3"])

    assert removal.removed == (stored,)
    assert removal.unknown == (UNKNOWN,)
    assert removal.failed == {}


def test_store_remove_keeps_objects_when_the_index_is_unreadable(tmp_path: Path) -> None:

    store = FilesystemStore(tmp_path / "store")
    store.commit(store.stage(io.BytesIO(b"a")), "1.2.3", "text/plain")
    store.commit(store.stage(io.BytesIO(b"b")), "1.2.4", "text/plain")
    other = store._index_path("1.2.4")
    other.chmod(0o644)
    other.write_text("not json")

    removal = store.remove(["1.2.3"])

    assert [entry.unique_id for entry in removal.removed] == ["1.2.3"]
    assert len([p for p in (store.root / "objects").rglob("*") if p.is_file()]) == 2
