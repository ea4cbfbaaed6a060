"""Concurrent submissions on PostgreSQL: the database decides, exactly one wins."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from registry_fixtures import Submission, codes_of, document, migrated_engine, new_registry
from sqlalchemy import Engine

from ebrim.model import Metadata, RegistryResponse
from ebrim.vocabulary import AssociationType, ResponseStatus
from registry import Registry, actor
from registry.register import register_in
from registry.storage import write_transaction


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_engine(request.param, tmp_path, request) as engine:
        yield engine


def race(registry: Registry, submissions: list[Metadata]) -> list[RegistryResponse]:
    """Register the submissions from as many threads, released together."""
    barrier = threading.Barrier(len(submissions))
    responses: list[RegistryResponse | None] = [None] * len(submissions)

    def run(index: int) -> Callable[[], None]:
        def target() -> None:
            barrier.wait()
            responses[index] = registry.register(submissions[index])

        return target

    threads = [threading.Thread(target=run(i)) for i in range(len(submissions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_same_unique_id_exactly_one_wins(engine: Engine, attempt: int) -> None:
    registry = new_registry(engine)
    first = Submission()
    doc = first.add()
    second = Submission()
    second.add(document("Rival", unique_id=doc.unique_id, content="Other content"))

    responses = race(registry, [first.build(), second.build()])

    statuses = sorted(r.status.value for r in responses)
    assert statuses == sorted([ResponseStatus.SUCCESS.value, ResponseStatus.FAILURE.value])
    (loser,) = [r for r in responses if r.status is ResponseStatus.FAILURE]
    assert codes_of(loser) == ["XDSNonIdenticalHash"]
    assert len(registry.find_by_unique_id(doc.unique_id or "")) == 1


@pytest.mark.parametrize("attempt", range(2))
def test_concurrent_same_document_both_succeed_with_one_entry(engine: Engine, attempt: int) -> None:
    # The same document (uniqueId, hash) in two racing submission sets: ITI TF-2b 3.42.4.1.3
    # accepts both; the loser of the uniqueId key is retried and links to the winner's entry.
    registry = new_registry(engine)
    first = Submission()
    doc = first.add()
    second = Submission()
    second.add(document("Rival", unique_id=doc.unique_id, content="Document01"))

    responses = race(registry, [first.build(), second.build()])

    assert [r.status for r in responses] == [ResponseStatus.SUCCESS] * 2, responses
    assert len(registry.find_by_unique_id(doc.unique_id or "")) == 1


def test_concurrent_replacements_deprecate_once(engine: Engine) -> None:
    registry = new_registry(engine)
    original = Submission()
    doc = original.add()
    target = registry.submit(original.build()).ids[doc.entry_uuid]
    rivals = []
    for name in ("NewA", "NewB"):
        submission = Submission()
        new = submission.add(document(name))
        submission.relate(AssociationType.REPLACE, new.entry_uuid, target)
        rivals.append(submission.build())

    responses = race(registry, rivals)

    assert sorted(r.status is ResponseStatus.SUCCESS for r in responses) == [False, True]
    (loser,) = [r for r in responses if r.status is ResponseStatus.FAILURE]
    assert codes_of(loser) == ["XDSRegistryDeprecatedDocumentError"]


def test_duplicate_committed_while_checking_is_reported_precisely(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = new_registry(engine)
    first = Submission()
    doc = first.add()
    second = Submission()
    second.add(document("Rival", unique_id=doc.unique_id, content="Other content"))
    calls: list[int] = []

    def counting_register_in(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return register_in(*args, **kwargs)

    monkeypatch.setattr(actor, "register_in", counting_register_in)
    responses: list[RegistryResponse] = []
    rival = threading.Thread(target=lambda: responses.append(registry.register(second.build())))
    with write_transaction(engine) as conn:
        register_in(conn, first.build(), now="20240101000000")
        rival.start()
        # PostgreSQL: the rival's check saw nothing and its insert now waits on the
        # uniqueId key; SQLite: the rival waits for the write lock.
        time.sleep(0.5)
    rival.join(timeout=60)

    (response,) = responses
    assert codes_of(response) == ["XDSNonIdenticalHash"]
    # PostgreSQL: the express path's insert hit the key and wrote nothing, then the general
    # path ran once and named the duplicate; SQLite: the express check already saw it.
    assert len(calls) == 1
