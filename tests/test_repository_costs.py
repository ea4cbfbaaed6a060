"""What one ITI-41 costs on PostgreSQL: round trips on the wire and fsyncs on disk.

Counted, not timed, so that a regression shows in any machine's run: a plain submission
(one CDA document, its consistency check on) takes the registry's one round trip
(`registry.express`: its guard, the INSERTs with the repository's index rows, COMMIT),
and two fsyncs (the file and its directory, `repository.store`). ITI-43 takes one round
trip per document.
"""

from __future__ import annotations

import io
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_fixtures import (
    OTHER_PATIENT,
    PATIENT,
    Submission,
    document,
    dump,
    migrated_engine,
    new_registry,
)
from sqlalchemy import Engine, func, select

from ebrim.model import Metadata
from ebrim.vocabulary import ResponseStatus
from registry import Registry, RegistrySettings, create_engine_for
from repository import DocumentRequest, Repository, RepositorySettings, open_repository
from xds_cli.demo import CLASS_CODE, SOURCE_ID, cda_bytes
from xds_cli.metadata import from_cda

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from wire_counts import FsyncCounter, RoundTripProxy, round_trip_proxy

pytestmark = pytest.mark.postgres
REPOSITORY = "1.3.6.1.4.1.21367.2017.2.6.99"
ORIGINAL_ID = b'<id root="1.2.250.1.213.1.1.1.46.2023.1.1"/>'


def fresh_cda() -> bytes:
    """The shipped CDA example under a new ClinicalDocument/id (hence a new uniqueId)."""
    data = cda_bytes()
    assert ORIGINAL_ID in data
    fresh = f'<id root="1.2.250.1.213.1.1.1.46.2023.1.1" extension="{uuid.uuid4().hex[:16]}"/>'
    return data.replace(ORIGINAL_ID, fresh.encode())


def submission(data: bytes) -> Metadata:
    from cda import read_header

    return from_cda(read_header(data), class_code=CLASS_CODE, source_id=SOURCE_ID)


@pytest.fixture
def proxied(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Repository, RoundTripProxy]]:
    """Registry and repository on a fresh PostgreSQL schema, reached through the proxy."""
    postgres_url = request.getfixturevalue("postgres_url")
    with (
        migrated_engine("postgres", tmp_path, request) as migrated,
        round_trip_proxy(postgres_url) as proxy,
    ):
        with migrated.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        engine = create_engine_for(proxy.url(postgres_url), schema=schema)
        try:
            registry = Registry(engine, RegistrySettings())
            registry.patients.feed(submission(cda_bytes()).documents[0].patient_id or "")
            settings = RepositorySettings(REPOSITORY, tmp_path / "data")
            yield open_repository(settings, registry, engine), proxy
        finally:
            engine.dispose()


def provide(repo: Repository, data: bytes) -> str:
    metadata = submission(data)
    response = repo.provide_and_register(metadata, {"Document01": io.BytesIO(data)})
    assert response.status is ResponseStatus.SUCCESS, response.errors
    return metadata.documents[0].unique_id or ""


def test_iti41_takes_one_round_trip_and_two_fsyncs(
    proxied: tuple[Repository, RoundTripProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, proxy = proxied
    provide(repo, fresh_cda())  # the pool opens its connection (the handshake is not counted)
    fsyncs = FsyncCounter(monkeypatch)
    proxy.reset()

    provide(repo, fresh_cda())

    # BEGIN, the guard, the INSERTs (the index's rows among them), COMMIT
    assert proxy.trips == 1
    assert fsyncs.calls == 2


def test_iti43_takes_one_round_trip_per_document(
    proxied: tuple[Repository, RoundTripProxy],
) -> None:
    repo, proxy = proxied
    unique_id = provide(repo, fresh_cda())
    proxy.reset()

    result = repo.retrieve([DocumentRequest(REPOSITORY, unique_id)])

    assert result.response.status is ResponseStatus.SUCCESS
    assert proxy.trips == 1


def test_the_guard_turns_away_what_no_key_can_see(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The one condition of a plain submission that the rows' keys cannot check: every
    patient known, not merged and, when asked, with an open record. Turned away, nothing is
    written and the general path names the error; let through, everything is."""
    from registry import express
    from registry.schema import documents

    with migrated_engine("postgres", tmp_path, request) as engine:
        registry = new_registry(engine, PATIENT, OTHER_PATIENT)

        def express_for(patient: str, *, open_record: bool = False) -> bool | int:
            builder = Submission(patient=patient)
            builder.add(document(patient=patient))
            plain = express.plan(builder.build(), "20261204000000")
            assert plain is not None
            return express.register(engine, plain, {}, require_open_record=open_record)

        assert express_for("123^^^&1.2.3.4.5&ISO") is False  # unknown
        registry.patients.merge(OTHER_PATIENT, PATIENT)
        assert express_for(OTHER_PATIENT) is False  # merged into another
        assert express_for(PATIENT, open_record=True) is False  # no open record
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(documents)).scalar_one() == 0

        registry.records.open(PATIENT, consent_by="the patient")
        assert express_for(PATIENT, open_record=True) is True
        assert express_for(PATIENT) is True
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(documents)).scalar_one() == 2


def test_a_key_taken_turns_the_submission_away_whole(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A uniqueId, or an entryUUID the submitter chose, that is already stored fails its
    INSERT: the transaction is rolled back, nothing of the submission stays."""
    from registry import express

    with migrated_engine("postgres", tmp_path, request) as engine:
        new_registry(engine)
        first = Submission()
        taken = first.add()
        plain = express.plan(first.build(), "20261204000000")
        assert plain is not None
        assert express.register(engine, plain, {}, require_open_record=False) is True
        before = dump(engine)

        again = Submission()
        again.add(document("Other01", unique_id=taken.unique_id))
        plain = express.plan(again.build(), "20261204000000")
        assert plain is not None
        assert express.register(engine, plain, {}, require_open_record=False) is False
        assert dump(engine) == before


def test_a_connection_lost_in_the_round_trip_is_resolved_by_the_generated_ids(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection fails during the one round trip: committed or not, the registry's
    generated entryUUIDs tell, on a new connection. Registered: True, once. Not: tried
    once more on a new connection."""
    import psycopg2

    from registry import express_postgresql

    with migrated_engine("postgres", tmp_path, request) as engine:
        new_registry(engine)
        sent = express_postgresql._send

        def sent_then_lost(cursor: object, statement: bytes) -> None:
            sent(cursor, statement)
            raise psycopg2.OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(express_postgresql, "_send", sent_then_lost)
        assert express_one_document(engine) is True

        lost: list[bytes] = []

        def lost_before_sending(cursor: object, statement: bytes) -> None:
            if not lost:
                lost.append(statement)
                raise psycopg2.OperationalError("could not send data to server")
            sent(cursor, statement)

        monkeypatch.setattr(express_postgresql, "_send", lost_before_sending)
        assert express_one_document(engine) is True
        assert lost  # the first attempt was lost, the second one registered
        with engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT count(*) FROM documents").scalar_one()
        assert stored == 2


def express_one_document(engine: Engine) -> bool | int:
    from registry import express

    builder = Submission()
    builder.add()
    plain = express.plan(builder.build(), "20261204000000")
    assert plain is not None
    return express.register(engine, plain, {}, require_open_record=False)


def test_the_check_asks_only_what_the_submission_needs() -> None:
    """SQLite's check: a typical ITI-41 (no entryUUID of its own, no open record required)
    is checked with three branches, not five. PostgreSQL's guard asks the records only
    when an open record is required."""
    from registry import express, express_postgresql

    typical = {
        "patients": ["p"], "records": [], "unique_ids": ["1.2", "1.3"], "uuids": [],
        "repositories": [REPOSITORY], "unindexed": ["1.2"],
    }  # fmt: skip
    statement = express.check_sql(typical)
    assert statement.count("UNION ALL") == 2  # three branches
    assert "records" not in statement and "entry_uuid" not in statement
    assert "WHERE false" in express.check_sql({name: [] for name in typical})
    assert "records" not in express_postgresql.guard_sql(typical)
    assert "records" in express_postgresql.guard_sql({**typical, "records": ["p"]})
