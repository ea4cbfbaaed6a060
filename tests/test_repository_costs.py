"""What one ITI-41 costs on PostgreSQL: round trips on the wire and fsyncs on disk.

Counted, not timed, so that a regression shows in any machine's run: a plain submission
(one CDA document, its consistency check on) takes the registry's two round trips
(`registry.express`, whose check also asks the repository's index), and two fsyncs (the
file and its directory, `repository.store`). ITI-43 takes one round trip per document.
"""

from __future__ import annotations

import io
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_fixtures import migrated_engine

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


def test_iti41_takes_two_round_trips_and_two_fsyncs(
    proxied: tuple[Repository, RoundTripProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, proxy = proxied
    provide(repo, fresh_cda())  # the pool opens its connection (the handshake is not counted)
    fsyncs = FsyncCounter(monkeypatch)
    proxy.reset()

    provide(repo, fresh_cda())

    # BEGIN + the check (the index's uniqueIds among it), then INSERTs + COMMIT
    assert proxy.trips == 2
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


@pytest.mark.parametrize(
    ("rows", "analyzed"), [(1000, False), (20000, True)], ids=["not analyzed", "analyzed"]
)
def test_the_check_finds_indexed_documents_through_the_primary_key(
    tmp_path: Path, request: pytest.FixtureRequest, rows: int, analyzed: bool
) -> None:
    """The express check's question to the repository's index goes through both columns of
    its primary key, whatever the statistics say: asking by uniqueId alone scanned the
    table, and asking with two `= ANY` lists let PostgreSQL, before the table was
    analyzed, match the repository in the key and filter its every row by uniqueId."""
    from registry import express

    with migrated_engine("postgres", tmp_path, request) as engine, engine.connect() as conn:
        cursor = conn.connection.cursor()
        cursor.execute(
            "INSERT INTO repository_documents SELECT %s, '1.2.' || n, 'k' || n, 'h', 's', 1,"
            " 'text/xml', 'stored' FROM generate_series(1, %s) AS n"
            + ("; ANALYZE repository_documents" if analyzed else ""),
            (REPOSITORY, rows),
        )
        params = {
            "patients": ["p"], "records": ["p"], "unique_ids": ["1.2"], "uuids": ["urn:uuid:x"],
            "repositories": [REPOSITORY], "unindexed": ["1.2.5"],
        }  # fmt: skip
        cursor.execute("EXPLAIN (ANALYZE, TIMING OFF) " + express.CHECK_POSTGRESQL, params)
        plan = [row[0].strip() for row in cursor.fetchall()]
    start = next(i for i, line in enumerate(plan) if "on repository_documents" in line)
    node = [plan[start]]
    for line in plan[start + 1 :]:
        if line.startswith("->") or not line or line.startswith(("Planning", "Execution")):
            break
        node.append(line)
    assert "Seq Scan" not in node[0], node
    [condition] = [line for line in node if line.startswith("Index Cond")]
    assert re.search(r"\brepository_unique_id = ", condition), node
    assert re.search(r"[(\s]unique_id = ", condition), node  # not only repository_unique_id
    assert not any(line.startswith(("Filter", "Rows Removed")) for line in node), node


def test_the_check_asks_only_what_the_submission_needs() -> None:
    """A typical ITI-41 (no entryUUID of its own, no open record required) is checked with
    three branches, not five: PostgreSQL plans and runs no empty one."""
    from registry import express

    typical = {
        "patients": ["p"], "records": [], "unique_ids": ["1.2", "1.3"], "uuids": [],
        "repositories": [REPOSITORY], "unindexed": ["1.2"],
    }  # fmt: skip
    statement = express.check_sql("postgresql", typical)
    assert statement.count("UNION ALL") == 2  # three branches
    assert "records" not in statement and "entry_uuid" not in statement
    everything = {name: ["x"] for name in typical}
    assert express.check_sql("postgresql", everything) == express.CHECK_POSTGRESQL
    assert express.CHECK_POSTGRESQL.count("UNION ALL") == 4
    assert "WHERE false" in express.check_sql("sqlite", {name: [] for name in typical})


def test_the_check_asks_the_index_one_pair_at_a_time() -> None:
    """Two documents: two lookups by the whole key, each uniqueId with its own repository."""
    from registry import express

    two = {"patients": ["p"], "repositories": [REPOSITORY, "1.3.6"], "unindexed": ["1.2", "1.4"]}
    statement = express.check_sql("postgresql", two)
    assert statement.count("FROM repository_documents") == 2
    assert "(%(repositories)s::text[])[2] AND unique_id = (%(unindexed)s::text[])[2]" in statement
    with pytest.raises(ValueError, match="pair up"):
        express.check_sql("postgresql", {**two, "repositories": [REPOSITORY]})
