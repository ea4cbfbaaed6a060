"""ITI-41 all or nothing: crashes, failing uploads, large documents and races leave no trace."""

from __future__ import annotations

import hashlib
import io
import signal
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import pytest
from registry_fixtures import REPOSITORY, Submission, dump, migrated_engine, new_registry
from sqlalchemy import Engine
from test_repository_provide import assert_nothing_stored, files, registered, submission
from test_repository_store import MB, Pattern, sha1_of

from ebrim.model import Metadata, RegistryResponse
from ebrim.vocabulary import ResponseStatus
from registry import Registry
from repository import (
    DocumentRequest,
    FilesystemStore,
    Repository,
    RepositorySettings,
    reconcile_repository,
)
from repository import open_repository as open_repo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        yield engine


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return new_registry(engine)


@pytest.fixture
def repo(tmp_path: Path, registry: Registry) -> Repository:
    return open_repo(RepositorySettings(REPOSITORY, tmp_path / "data"), registry, registry.engine)


def test_upload_failing_halfway_leaves_nothing(repo: Repository, engine: Engine) -> None:
    metadata, streams = submission(b"first document", b"placeholder")
    streams["Document02"] = cast(BinaryIO, Pattern(4 * MB, fail_at=2 * MB))
    before = dump(engine)

    with pytest.raises(ConnectionResetError):
        repo.provide_and_register(metadata, streams)

    assert dump(engine) == before
    assert_nothing_stored(repo)


def test_large_document_is_streamed_in_bounded_memory(repo: Repository, registry: Registry) -> None:
    size = 50 * MB
    metadata, streams = submission(b"placeholder", mime_type="application/pdf")
    doc = metadata.documents[0]
    streams[doc.entry_uuid] = cast(BinaryIO, Pattern(size))

    tracemalloc.start()
    try:
        response = repo.provide_and_register(metadata, streams)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status is ResponseStatus.SUCCESS, response.errors
    assert peak < 4 * MB, f"peak {peak / MB:.1f} MB"
    stored = registered(registry, doc)
    assert (stored.hash, stored.size) == (sha1_of(Pattern(size)), str(size))
    [found] = repo.retrieve([DocumentRequest(REPOSITORY, doc.unique_id or "")]).documents
    with found.open() as retrieved:
        assert hashlib.sha1(retrieved.read()).hexdigest() == stored.hash


CRASHING_SERVER = """
import sys, time
from pathlib import Path
sys.path.insert(0, "tests")
from registry_fixtures import REPOSITORY, Submission
from registry import Registry, RegistrySettings, create_engine_for
from repository import RepositorySettings, open_repository

class Stalls:
    calls = 0
    def read(self, size):
        self.calls += 1
        if self.calls == 3:
            print("halfway", flush=True)
            time.sleep(120)
        return b"x" * size

builder = Submission()
doc = builder.add(hash=None, size=None, repository_unique_id=None)
registry = Registry(create_engine_for(sys.argv[1]), RegistrySettings())
settings = RepositorySettings(REPOSITORY, Path(sys.argv[2]))
repository = open_repository(settings, registry, registry.engine)
repository.provide_and_register(builder.build(), {doc.entry_uuid: Stalls()})
"""


def test_killed_mid_upload_leaves_no_metadata_and_no_bytes(
    tmp_path: Path, engine: Engine, registry: Registry
) -> None:
    data = tmp_path / "data"
    before = dump(engine)
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_SERVER, str(engine.url), str(data)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "halfway\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert len(files(data / "objects")) == 1  # durable, but named by no row

    restarted = open_repo(RepositorySettings(REPOSITORY, data), registry, registry.engine)
    assert reconcile_repository(restarted).collected == 1

    assert dump(engine) == before
    assert_nothing_stored(restarted)


def race(repo: Repository, requests: list[tuple[Metadata, dict[str, BinaryIO]]]) -> list[str]:
    """Submit from as many threads, released together; the response codes of each."""
    barrier = threading.Barrier(len(requests))
    responses: list[RegistryResponse] = []

    def submit(metadata: Metadata, streams: dict[str, BinaryIO]) -> None:
        barrier.wait()
        responses.append(repo.provide_and_register(metadata, streams))

    threads = [threading.Thread(target=submit, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(responses) == len(requests)
    return sorted(r.status.name for r in responses)


@pytest.mark.parametrize("same_content", [True, False], ids=["same-content", "other-content"])
def test_concurrent_submissions_of_one_unique_id_store_exactly_one(
    repo: Repository, registry: Registry, same_content: bool
) -> None:
    unique_id = "1.2.3.4.5.6.7.8"
    requests = []
    for i in range(6):
        builder = Submission()
        content = b"same" if same_content else f"version {i}".encode()
        doc = builder.add(unique_id=unique_id, hash=None, size=None, repository_unique_id=None)
        requests.append((builder.build(), {doc.entry_uuid: cast(BinaryIO, io.BytesIO(content))}))

    statuses = race(repo, requests)
    if same_content:
        # The same document again is accepted (ITI TF-2b 3.42.4.1.3): whoever loses a race
        # on the uniqueId may be told to retry, never stored twice.
        assert "SUCCESS" in statuses
    else:
        assert statuses == ["FAILURE"] * 5 + ["SUCCESS"]

    [stored] = registry.find_by_unique_id(unique_id)
    store = repo.store
    assert isinstance(store, FilesystemStore)
    entry = repo.index.lookup(unique_id)
    assert entry is not None and entry.hash == getattr(stored, "hash", None)
    with store.open(entry.object_key) as stream:
        assert hashlib.sha1(stream.read()).hexdigest() == entry.hash
    assert files(store.root / "objects") == [entry.object_key]
