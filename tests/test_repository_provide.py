"""ITI-41 Provide and Register Document Set-b against a real registry (ITI TF-2b 3.41.4.1.3)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from registry_fixtures import (
    REPOSITORY,
    Submission,
    codes_of,
    dump,
    migrated_engine,
    new_registry,
)
from sqlalchemy import Engine

import repository as public
from ebrim.model import DocumentEntry, Metadata, RegistryResponse
from ebrim.vocabulary import ResponseStatus
from registry import Registry
from repository import (
    DocumentRequest,
    FilesystemStore,
    Repository,
    RepositorySettings,
    open_repository,
    reconcile_repository,
)

UNKNOWN_PATIENT = "1111111111^^^&1.2.3.4.5&ISO"


# `engine`: conftest's, once per backend (PostgreSQL takes the express path's one round trip).


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return new_registry(engine)


@pytest.fixture
def repo(tmp_path: Path, registry: Registry) -> Repository:
    return open_repository(
        RepositorySettings(REPOSITORY, tmp_path / "data"), registry, registry.engine
    )


def submission(
    *contents: bytes, patient: str | None = None, **changes: Any
) -> tuple[Metadata, dict[str, BinaryIO]]:
    """An ITI-41 request: one DocumentEntry per content, without hash/size/repositoryUniqueId."""
    builder = Submission(**({"patient": patient} if patient else {}))
    streams: dict[str, BinaryIO] = {}
    for content in contents:
        fields = {"hash": None, "size": None, "repository_unique_id": None, **changes}
        doc = builder.add(**fields)
        streams[doc.entry_uuid] = io.BytesIO(content)
    return builder.build(), streams


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_nothing_stored(repo: Repository) -> None:
    assert isinstance(repo.store, FilesystemStore)
    assert files(repo.store.root / "objects") == []


def registered(registry: Registry, doc: DocumentEntry) -> DocumentEntry:
    [stored] = registry.find_by_unique_id(doc.unique_id or "")
    assert isinstance(stored, DocumentEntry)
    return stored


def retrieved_bytes(repo: Repository, unique_id: str) -> bytes:
    result = repo.retrieve([DocumentRequest(REPOSITORY, unique_id)])
    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors
    with result.documents[0].open() as stream:
        return stream.read()


def assert_success(response: RegistryResponse) -> None:
    assert response.status is ResponseStatus.SUCCESS, response.errors


def test_public_api_is_pinned() -> None:
    assert set(public.__all__) == {
        "DocumentIndex", "DocumentRepository", "DocumentRequest", "DocumentStore",
        "FilesystemStore", "IndexingRegistry", "Reconciliation", "RegistryClient",
        "RegistryLookup", "Repository", "RepositorySettings", "RetrieveResult",
        "RetrievedDocument", "Staged", "StoreError", "StoredDocument", "open_repository",
        "reconcile_repository",
    }  # fmt: skip


def test_settings_refuse_a_repository_id_that_is_not_an_oid(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="repository_unique_id"):
        RepositorySettings("not-an-oid", tmp_path)


def test_provide_fills_hash_size_and_repository_id(repo: Repository, registry: Registry) -> None:
    contents = [
        b"<ClinicalDocument>one</ClinicalDocument>",
        b"<ClinicalDocument>2</ClinicalDocument>",
    ]
    metadata, streams = submission(*contents)

    assert_success(repo.provide_and_register(metadata, streams))

    for doc, content in zip(metadata.documents, contents, strict=True):
        stored = registered(registry, doc)
        assert stored.hash == hashlib.sha1(content).hexdigest()
        assert stored.size == str(len(content))
        assert stored.repository_unique_id == REPOSITORY
        assert retrieved_bytes(repo, doc.unique_id or "") == content


@pytest.mark.postgres
def test_provide_and_retrieve_on_postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    with migrated_engine("postgres", tmp_path, request) as engine:
        registry = new_registry(engine)
        repo = open_repository(
            RepositorySettings(REPOSITORY, tmp_path / "data"), registry, registry.engine
        )
        metadata, streams = submission(b"%PDF-1.4 on postgres")

        assert_success(repo.provide_and_register(metadata, streams))

        doc = metadata.documents[0]
        assert registered(registry, doc).hash == hashlib.sha1(b"%PDF-1.4 on postgres").hexdigest()
        assert retrieved_bytes(repo, doc.unique_id or "") == b"%PDF-1.4 on postgres"


def test_provide_accepts_a_matching_submitted_hash_and_size(repo: Repository) -> None:
    content = b"declared"
    digest = hashlib.sha1(content).hexdigest().upper()
    metadata, streams = submission(content, hash=digest, size=str(len(content)))

    assert_success(repo.provide_and_register(metadata, streams))


@pytest.mark.parametrize(
    "claim",
    [{"hash": hashlib.sha1(b"other bytes").hexdigest()}, {"size": "9999"}],
    ids=["hash", "size"],
)
def test_provide_refuses_a_claim_that_contradicts_the_bytes(
    repo: Repository, engine: Engine, claim: dict[str, str]
) -> None:
    metadata, streams = submission(b"actual bytes", **claim)
    before = dump(engine)

    response = repo.provide_and_register(metadata, streams)

    assert codes_of(response) == ["XDSRepositoryMetadataError"]
    assert response.errors[0].location == metadata.documents[0].unique_id
    assert dump(engine) == before
    assert_nothing_stored(repo)


def test_provide_refuses_an_entry_without_document(repo: Repository) -> None:
    metadata, streams = submission(b"one", b"two")
    del streams["Document02"]

    response = repo.provide_and_register(metadata, streams)

    assert codes_of(response) == ["XDSMissingDocument"]
    assert response.errors[0].location == "Document02"
    assert_nothing_stored(repo)


def test_provide_refuses_a_document_without_entry(repo: Repository) -> None:
    metadata, streams = submission(b"one")
    streams["Stray"] = io.BytesIO(b"stray")

    response = repo.provide_and_register(metadata, streams)

    assert codes_of(response) == ["XDSMissingDocumentMetadata"]
    assert response.errors[0].location == "Stray"
    assert_nothing_stored(repo)


def test_provide_refuses_an_entry_without_mime_type(repo: Repository) -> None:
    metadata, streams = submission(b"one", mime_type=None)

    response = repo.provide_and_register(metadata, streams)

    assert response.status is ResponseStatus.FAILURE
    assert set(codes_of(response)) == {"XDSRepositoryMetadataError"}
    assert any("mimeType" in error.message for error in response.errors)
    assert_nothing_stored(repo)


def test_provide_refuses_another_repository_id(repo: Repository) -> None:
    metadata, streams = submission(b"one", repository_unique_id="1.2.3.999")

    response = repo.provide_and_register(metadata, streams)

    assert codes_of(response) == ["XDSRepositoryMetadataError"]
    assert "1.2.3.999" in response.errors[0].message
    assert_nothing_stored(repo)


def test_registry_rejection_leaves_no_bytes(repo: Repository, engine: Engine) -> None:
    metadata, streams = submission(b"for nobody", patient=UNKNOWN_PATIENT)
    before = dump(engine)

    response = repo.provide_and_register(metadata, streams)

    assert "XDSUnknownPatientId" in codes_of(response)
    assert dump(engine) == before
    assert_nothing_stored(repo)


class Unreachable:
    """A registry client whose server is down (or whose answer was lost)."""

    def register(self, metadata: Metadata) -> RegistryResponse:
        raise ConnectionRefusedError("registry.example:443 refused the connection")


class Knows:
    """A remote registry that holds exactly these documents (uniqueId -> sha-1)."""

    def __init__(self, repository_id: str, **held: str) -> None:
        self.held = {uid.replace("_", "."): (sha1, repository_id) for uid, sha1 in held.items()}

    def register(self, metadata: Metadata) -> RegistryResponse:
        raise AssertionError("not asked to register")

    def registered_documents(self, unique_ids: list[str]) -> dict[str, tuple[str, str]]:
        return {uid: self.held[uid] for uid in unique_ids if uid in self.held}


def alone(tmp_path: Path, registry: object, request: pytest.FixtureRequest) -> Repository:
    """A repository serving alone: its index in a database of its own."""
    engine = request.getfixturevalue("own_engine")
    return open_repository(RepositorySettings(REPOSITORY, tmp_path / "alone"), registry, engine)


@pytest.fixture
def own_engine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    (tmp_path / "own").mkdir()
    with migrated_engine("sqlite", tmp_path / "own", request) as engine:
        yield engine


def test_unanswered_registry_leaves_the_document_pending_never_served(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    repo = alone(tmp_path, Unreachable(), request)
    metadata, streams = submission(b"lost")
    unique_id = metadata.documents[0].unique_id or ""

    response = repo.provide_and_register(metadata, streams)

    # it may have registered before the answer was lost: the bytes stay, unserved
    assert codes_of(response) == ["XDSRegistryNotAvailable"]
    assert [entry.unique_id for entry in repo.index.pending()] == [unique_id]
    assert repo.index.lookup(unique_id) is None
    assert len(files(repo.store.root / "objects")) == 1


def test_pending_documents_are_settled_by_asking_the_registry(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    repo = alone(tmp_path, Unreachable(), request)
    metadata, streams = submission(b"registered", b"never registered")
    repo.provide_and_register(metadata, streams)
    kept, dropped = (doc.unique_id or "" for doc in metadata.documents)
    held = {kept.replace(".", "_"): hashlib.sha1(b"registered").hexdigest()}
    restarted = alone(tmp_path, Knows(REPOSITORY, **held), request)

    found = reconcile_repository(restarted)

    assert (found.confirmed, found.forgotten) == ((kept,), (dropped,))
    assert retrieved_bytes(restarted, kept) == b"registered"
    assert restarted.index.lookup(dropped, pending=True) is None
    assert len(files(restarted.store.root / "objects")) == 1


def test_pending_documents_wait_while_the_registry_cannot_say(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    repo = alone(tmp_path, Unreachable(), request)
    metadata, streams = submission(b"undecided")
    repo.provide_and_register(metadata, streams)

    found = reconcile_repository(repo)  # Unreachable cannot be asked what it holds

    assert found.unsettled == (metadata.documents[0].unique_id,)
    assert len(files(repo.store.root / "objects")) == 1


def test_identical_content_under_two_unique_ids_gets_a_file_each(repo: Repository) -> None:
    metadata, streams = submission(b"twin", b"twin")

    assert_success(repo.provide_and_register(metadata, streams))

    assert isinstance(repo.store, FilesystemStore)
    assert len(files(repo.store.root / "objects")) == 2  # removing one never touches the other
    for doc in metadata.documents:
        assert retrieved_bytes(repo, doc.unique_id or "") == b"twin"


def test_known_unique_id_with_other_content_is_refused_before_the_registry(
    repo: Repository, engine: Engine
) -> None:
    metadata, streams = submission(b"original")
    assert_success(repo.provide_and_register(metadata, streams))
    doc = metadata.documents[0]
    again, streams = submission(b"tampered", unique_id=doc.unique_id)
    before = dump(engine)

    response = repo.provide_and_register(again, streams)

    # the registry would have answered XDSNonIdenticalHash: this code says the repository refused
    assert codes_of(response) == ["XDSRepositoryMetadataError"]
    assert response.errors[0].location == doc.unique_id
    assert dump(engine) == before
    assert retrieved_bytes(repo, doc.unique_id or "") == b"original"


def test_known_unique_id_with_same_content_is_left_to_the_registry(repo: Repository) -> None:
    metadata, streams = submission(b"original")
    assert_success(repo.provide_and_register(metadata, streams))
    doc = metadata.documents[0]
    again, streams = submission(b"original", unique_id=doc.unique_id)

    response = repo.provide_and_register(again, streams)

    # The registry accepts the same document in a new submission set (ITI TF-2b 3.42.4.1.3).
    assert_success(response)
    assert retrieved_bytes(repo, doc.unique_id or "") == b"original"
    assert isinstance(repo.store, FilesystemStore)
    assert len(files(repo.store.root / "objects")) == 1  # the second copy was dropped


@pytest.mark.parametrize("content", [b"original", b"tampered"])
def test_a_unique_id_the_registry_forgot_is_still_checked_against_the_index(
    repo: Repository, registry: Registry, engine: Engine, content: bytes
) -> None:
    """Beside its registry the repository does not look its index up before registering: the
    registration's first statement does. Here only the index knows the uniqueId (ITI-62
    removed the metadata, not the bytes): same bytes register again without a second copy,
    other bytes are refused, exactly as when the repository looked first."""
    from sqlalchemy import select

    from registry.schema import associations, documents, submission_sets

    metadata, streams = submission(b"original")
    assert_success(repo.provide_and_register(metadata, streams))
    with engine.connect() as conn:
        ids = [
            uuid
            for table in (associations, documents, submission_sets)
            for (uuid,) in conn.execute(select(table.c.entry_uuid))
        ]
    assert_success(registry.delete(ids))
    doc = metadata.documents[0]
    again, streams = submission(content, unique_id=doc.unique_id)

    response = repo.provide_and_register(again, streams)

    if content == b"original":
        assert_success(response)
    else:
        assert codes_of(response) == ["XDSRepositoryMetadataError"]
    assert retrieved_bytes(repo, doc.unique_id or "") == b"original"
    assert isinstance(repo.store, FilesystemStore)
    assert len(files(repo.store.root / "objects")) == 1
