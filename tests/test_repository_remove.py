"""ITI-86 Remove Documents on the repository (RMD): bytes gone, shared objects kept."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_fixtures import REPOSITORY, codes_of, migrated_engine, new_registry
from test_repository_provide import submission

from ebrim.vocabulary import ResponseStatus
from repository import (
    DocumentRequest,
    FilesystemStore,
    Repository,
    RepositorySettings,
    reconcile_repository,
)
from repository import open_repository as open_repo

UNKNOWN = "1.2.3.4.5.404"


@pytest.fixture
def repo(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Repository]:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        settings = RepositorySettings(REPOSITORY, tmp_path / "data")
        yield open_repo(settings, new_registry(engine), engine)


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
    assert repo.index.lookup(first) is None


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
    assert repo.index.lookup(known) is not None


def test_removed_document_is_no_longer_retrievable(repo: Repository) -> None:
    [unique_id] = provide(repo, b"<gone/>")
    assert repo.remove([request(unique_id)]).status is ResponseStatus.SUCCESS

    result = repo.retrieve([request(unique_id)])

    assert result.response.status is ResponseStatus.FAILURE
    assert codes_of(result.response) == ["XDSDocumentUniqueIdError"]


def test_remove_of_one_twin_keeps_the_others_bytes(repo: Repository) -> None:
    content = b"<same bytes under two uniqueIds/>"
    first, second = provide(repo, content, content)
    assert len(objects(repo)) == 2  # a file per registration

    assert repo.remove([request(first)]).status is ResponseStatus.SUCCESS

    [document] = repo.retrieve([request(second)]).documents
    with document.open() as stream:
        assert stream.read() == content
    assert len(objects(repo)) == 1


def test_remove_keeps_a_pre_0005_object_another_unique_id_shares(tmp_path: Path) -> None:
    content = b"<shared before revision 0005/>"
    data = tmp_path / "data"
    legacy_store(data, content, "1.2.3.1", "1.2.3.2")
    with migrated_engine("sqlite", tmp_path, None) as engine:  # type: ignore[arg-type]
        repo = open_repo(RepositorySettings(REPOSITORY, data), new_registry(engine), engine)
        assert reconcile_repository(repo).imported == 2
        assert len(objects(repo)) == 1

        assert repo.remove([request("1.2.3.1")]).status is ResponseStatus.SUCCESS
        [document] = repo.retrieve([request("1.2.3.2")]).documents
        with document.open() as stream:
            assert stream.read() == content
        assert len(objects(repo)) == 1

        assert repo.remove([request("1.2.3.2")]).status is ResponseStatus.SUCCESS
        assert objects(repo) == []


def legacy_store(root: Path, content: bytes, *unique_ids: str) -> None:
    """A store as written before revision 0005: objects by sha-256, a JSON index."""
    sha256 = hashlib.sha256(content).hexdigest()
    (root / "objects" / sha256[:2]).mkdir(parents=True)
    (root / "objects" / sha256[:2] / sha256[2:]).write_bytes(content)
    for unique_id in unique_ids:
        key = hashlib.sha256(unique_id.encode()).hexdigest()
        entry = {
            "unique_id": unique_id,
            "hash": hashlib.sha1(content).hexdigest(),
            "sha256": sha256,
            "size": len(content),
            "mime_type": "text/xml",
        }
        (root / "index" / key[:2]).mkdir(parents=True, exist_ok=True)
        (root / "index" / key[:2] / f"{key[2:]}.json").write_text(json.dumps(entry))


def test_same_unique_id_twice_is_removed_once(repo: Repository) -> None:
    [unique_id] = provide(repo, b"<twice/>")

    response = repo.remove([request(unique_id), request(unique_id)])

    assert response.status is ResponseStatus.SUCCESS


def test_removed_unique_id_is_no_longer_the_repositorys_to_refuse(repo: Repository) -> None:
    metadata, streams = submission(b"<again/>")
    assert repo.provide_and_register(metadata, streams).status is ResponseStatus.SUCCESS
    unique_id = metadata.documents[0].unique_id or ""
    assert repo.remove([request(unique_id)]).status is ResponseStatus.SUCCESS

    again, streams = submission(b"<other bytes/>", unique_id=unique_id)
    response = repo.provide_and_register(again, streams)

    # the metadata is still registered (ITI-62 was not sent): the registry judges, not the store
    assert codes_of(response) == ["XDSNonIdenticalHash"]
    assert objects(repo) == []


def test_remove_is_logged_with_ids_and_outcome(
    repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    [known] = provide(repo, b"<logged/>")

    with caplog.at_level(logging.INFO, logger="repository.actor"):
        repo.remove([request(known), request(UNKNOWN)])

    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ITI-86")]
    assert known in line and UNKNOWN in line and "PARTIAL_SUCCESS" in line


def test_index_remove_names_the_files_no_row_names_any_more(repo: Repository) -> None:
    first, second = provide(repo, b"a", b"b")

    removed, orphans = repo.index.remove([first, UNKNOWN])

    assert [entry.unique_id for entry in removed] == [first]
    assert orphans == {removed[0].object_key}
    assert repo.index.lookup(second) is not None
