"""Stored queries on a streaming replica, on a real primary + replica pair made by the tests.

Writes go to the primary; a stored query goes to a replica fit for its client: streaming,
not lagging beyond the bound, and past that client's last commit (read-your-writes, waited
for a bounded time, else the primary answers). A replica stopped mid-run is set aside and
the primary answers.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import PATIENT as E2E_PATIENT
from e2e_support import TIMEOUT, feed, submission
from registry_fixtures import PATIENT, Submission
from replica_support import ReplicaPair, replica_pair

from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from ebrim.vocabulary import AvailabilityStatus, ResponseStatus
from registry import Registry, RegistrySettings, create_engine_for, migrate
from registry.audit import RequestOrigin, requests_from
from registry.replicas import Replicas, ReplicaSettings, WrittenLsns, parse_lsn
from soap.client import XdsClient
from xds_cli.server import ServerProcess

pytestmark = pytest.mark.postgres
HOSPITAL = RequestOrigin(address="10.0.0.1", structure_id="1750712184")
OTHER = RequestOrigin(address="10.0.0.2", structure_id="1690000011")


def test_an_lsn_reads_as_a_number() -> None:
    assert parse_lsn("0/16B3748") == 0x16B3748
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert parse_lsn("1/0") > parse_lsn("0/FFFFFFFF")


def _record_in_child(written: WrittenLsns) -> None:
    written.record("client", 42)


def test_commit_lsns_are_shared_with_processes_forked_after() -> None:
    written = WrittenLsns(slots=64)
    child = multiprocessing.get_context("fork").Process(target=_record_in_child, args=(written,))
    child.start()
    child.join(10)
    assert written.last("client") == 42  # a worker's commit, seen by another worker
    written.record("client", 7)
    assert written.last("client") == 42  # never moves back
    assert written.last("nobody") in (0, 42)  # a shared slot only ever asks for a later read


@pytest.fixture
def pair() -> Iterator[ReplicaPair]:
    with replica_pair() as made:
        yield made


def registry_on(pair: ReplicaPair, **settings: float) -> Registry:
    primary = create_engine_for(pair.primary_url)
    migrate(primary)
    pair.wait_replayed()  # the schema is on the replica too
    replicas = Replicas(
        [create_engine_for(pair.replica_url)],
        WrittenLsns(),
        ReplicaSettings(**{"max_lag": 30.0, "wait": 0.3, **settings}),
    )
    registry = Registry(primary, RegistrySettings(), replicas=replicas)
    registry.patients.feed(PATIENT)
    return registry


def submit(registry: Registry, origin: RequestOrigin) -> str:
    submission = Submission()
    doc = submission.add()
    with requests_from(origin):
        answer = registry.register(submission.build())
    assert answer.status is ResponseStatus.SUCCESS, answer.errors
    return doc.unique_id or ""


def found(registry: Registry, origin: RequestOrigin) -> set[str]:
    query = FindDocumentsQuery(patient_id=PATIENT, statuses=(AvailabilityStatus.APPROVED.value,))
    with requests_from(origin):
        result = registry.query(StoredQueryRequest(query))
    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors
    assert result.metadata is not None
    return {doc.unique_id or "" for doc in result.metadata.documents}


def test_the_replica_answers_and_the_submitter_reads_its_own_write(pair: ReplicaPair) -> None:
    registry = registry_on(pair)
    first = submit(registry, HOSPITAL)
    pair.wait_replayed()
    assert found(registry, OTHER) == {first}

    pair.pause_replay()  # the replica stops at the first document
    second = submit(registry, HOSPITAL)
    assert found(registry, OTHER) == {first}  # served by the replica: it has not the second
    started = time.monotonic()
    assert found(registry, HOSPITAL) == {first, second}  # its own write: the primary answers
    assert time.monotonic() - started >= 0.3  # after waiting for the replica, in vain

    pair.resume_replay()
    pair.wait_replayed()
    assert found(registry, OTHER) == {first, second}
    assert found(registry, HOSPITAL) == {first, second}  # the replica has it now


def test_a_replica_lagging_beyond_the_bound_is_skipped(pair: ReplicaPair) -> None:
    registry = registry_on(pair, max_lag=0.5, check_every=0.0)
    first = submit(registry, HOSPITAL)
    pair.wait_replayed()
    pair.pause_replay()
    second = submit(registry, HOSPITAL)
    time.sleep(1.0)  # the replica is now more than 0.5 s behind

    assert found(registry, OTHER) == {first, second}  # the primary answered


def test_a_replica_stopped_mid_run_is_set_aside(pair: ReplicaPair) -> None:
    registry = registry_on(pair, check_every=30.0)  # believed fit: the query finds out
    first = submit(registry, HOSPITAL)
    pair.wait_replayed()
    assert found(registry, OTHER) == {first}
    pair.stop_replica()

    second = submit(registry, HOSPITAL)
    assert found(registry, OTHER) == {first, second}
    assert found(registry, OTHER) == {first, second}  # and again, without trying it


def test_xds_serve_reads_its_own_writes_across_workers(pair: ReplicaPair, tmp_path: Path) -> None:
    """`xds serve --database-replica` with two workers: each ITI-41 is found by the ITI-18
    that follows it, whichever worker serves it, while the replica replays nothing."""
    args = [
        "--database", pair.primary_url, "--database-replica", pair.replica_url,
        "--replica-wait", "0.2",
    ]  # fmt: skip
    with ServerProcess(tmp_path / "serve", args=args, workers=2) as server:
        assert "stored queries on 1 streaming replica" in server.log()
        feed(server, E2E_PATIENT)
        pair.wait_replayed()
        client = XdsClient(server.url, timeout=(5, TIMEOUT))
        query = FindDocumentsQuery(
            patient_id=E2E_PATIENT, statuses=(AvailabilityStatus.APPROVED.value,)
        )
        assert client.query(StoredQueryRequest(query)).response.status is ResponseStatus.SUCCESS
        (connected,) = pair.sql(
            pair.replica_port,
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
        )[0]
        assert int(connected) >= 1  # the server reads there

        pair.pause_replay()
        for _ in range(6):
            metadata = submission(E2E_PATIENT, mime_type="text/plain")
            entry = metadata.documents[0]
            answer = client.provide_and_register(metadata, {entry.entry_uuid: b"replicated"})
            assert answer.status.name == "SUCCESS", answer.errors
            asking = XdsClient(server.url, timeout=(5, TIMEOUT))  # a new connection: any worker
            found = asking.query(StoredQueryRequest(query))
            assert found.metadata is not None
            assert entry.unique_id in {d.unique_id for d in found.metadata.documents}


def test_on_sqlite_the_replicas_are_ignored_with_a_message(tmp_path: Path) -> None:
    args = ["--database-replica", "postgresql://postgres@127.0.0.1:1/nowhere"]
    with ServerProcess(tmp_path / "sqlite", args=args) as server:
        log = server.log()
    assert "--database-replica ignored" in log and "on SQLite" in log


def test_replica_options_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from xds_cli.settings import add_serve_options, serve_settings

    def settings(*argv: str):  # type: ignore[no-untyped-def]
        parser = argparse.ArgumentParser()
        add_serve_options(parser)
        return serve_settings(parser.parse_args(list(argv)))

    primary = "postgresql://xds@db/xds"
    two = settings(
        "--database", primary, "--database-replica", "postgresql://xds@r1/xds",
        "--database-replica", "postgresql://xds@r2/xds", "--replica-max-lag", "2",
    )  # fmt: skip
    assert two.database_replicas == ("postgresql://xds@r1/xds", "postgresql://xds@r2/xds")
    assert two.replicas_in_use and two.replica_max_lag == 2.0 and two.replica_wait == 0.5
    assert not settings("--database-replica", "postgresql://xds@r1/xds").replicas_in_use  # SQLite
    monkeypatch.setenv("XDS_DATABASE_REPLICAS", "postgresql://a/x postgresql://b/x")
    assert len(settings("--database", primary).database_replicas) == 2
    for wrong, words in (
        (["--database-replica", "mysql://r/x"], "postgresql:// URL"),
        (["--replica-max-lag", "0"], "--replica-max-lag"),
        (["--replica-wait", "-1"], "--replica-wait"),
    ):
        with pytest.raises(ValueError, match=words):
            settings("--database", primary, *wrong)
