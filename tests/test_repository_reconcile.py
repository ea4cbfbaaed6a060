"""What a repository checks at start (`repository.reconcile`), on both databases."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import pytest
from registry_fixtures import REPOSITORY, new_registry
from sqlalchemy import Engine, delete
from test_repository_provide import submission

from ebrim.vocabulary import ResponseStatus
from registry.schema import repository_documents
from registry.storage import write_transaction
from repository import (
    RegistryLookup,
    Repository,
    RepositorySettings,
    StoreError,
    open_repository,
    reconcile_repository,
)


@pytest.fixture
def repo(tmp_path: Path, engine: Engine) -> Repository:
    registry = new_registry(engine)
    return open_repository(RepositorySettings(REPOSITORY, tmp_path / "data"), registry, engine)


def provide(repo: Repository, content: bytes) -> str:
    metadata, streams = submission(content)
    response = repo.provide_and_register(metadata, streams)
    assert response.status is ResponseStatus.SUCCESS, response.errors
    return metadata.documents[0].unique_id or ""


def test_a_consistent_store_needs_nothing(repo: Repository) -> None:
    provide(repo, b"<fine/>")

    found = reconcile_repository(repo)

    assert (found.imported, found.collected, found.without_bytes) == (0, 0, ())


def test_a_file_no_row_names_is_collected(repo: Repository) -> None:
    kept = provide(repo, b"<kept/>")
    leftover = repo.store.stage(io.BytesIO(b"<a crash left me/>"))
    repo.store.release(leftover)

    assert reconcile_repository(repo).collected == 1

    entry = repo.index.lookup(kept)
    assert entry is not None
    assert [p.name for p in (repo.store.root / "objects").rglob("*") if p.is_file()] == [
        entry.object_key.split("/")[1]
    ]


def test_a_registration_without_bytes_is_reported_loudly(
    repo: Repository, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    unique_id = provide(repo, b"<bytes removed behind the repository's back/>")
    with write_transaction(engine) as conn:
        conn.execute(delete(repository_documents))

    with caplog.at_level(logging.ERROR, logger="repository.reconcile"):
        found = reconcile_repository(repo)

    assert found.without_bytes == (unique_id,)
    assert any(unique_id in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


def test_the_registry_says_which_documents_it_holds(repo: Repository, engine: Engine) -> None:
    unique_id = provide(repo, b"<held/>")
    registry = repo.registry
    assert isinstance(registry, RegistryLookup)

    held = registry.registered_documents([unique_id, "1.2.3.4.404"])

    assert held == {unique_id: (hashlib.sha1(b"<held/>").hexdigest(), REPOSITORY)}


def test_an_unreadable_pre_0005_index_entry_stops_the_start_naming_it(
    tmp_path: Path, engine: Engine
) -> None:
    data = tmp_path / "legacy"
    broken = data / "index" / "ab" / "cdef.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("not json")
    repo = open_repository(RepositorySettings(REPOSITORY, data), new_registry(engine), engine)

    with pytest.raises(StoreError, match=r"cdef\.json"):
        reconcile_repository(repo)

    assert broken.exists()  # nothing imported, nothing retired: the operator can repair it
