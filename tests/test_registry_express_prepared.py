"""PostgreSQL's express path prepares its INSERTs once per connection.

The first submission on a connection sends `PREPARE` in its one string; later ones only
`EXECUTE`. The guard is not prepared: a plan kept from when the table was small would
scan it whole. What is stored is the same either way, a refused submission keeps the count of
what it prepared, and a prepared statement that vanished (a pooler such as PgBouncer in
transaction mode hands each transaction to any server connection) costs one retry as
text, after which the pool sends text only.
"""

from __future__ import annotations

import logging

import pytest
from registry_fixtures import (
    Submission,
    code,
    document,
    new_registry,
    recorded_express_strings,
)
from sqlalchemy import Engine

from ebrim.model import DocumentEntry
from ebrim.vocabulary import ResponseStatus
from registry import Registry, express, express_postgresql, schema
from registry.storage import autocommit_engine

pytestmark = pytest.mark.postgres

UNKNOWN_PATIENT = "1111111111^^^&1.2.3.4.5&ISO"


@pytest.fixture
def engine(postgres_engine: Engine) -> Engine:
    return postgres_engine


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    return recorded_express_strings(monkeypatch)


def submit(registry: Registry, entry: DocumentEntry | None = None) -> DocumentEntry:
    """Registers one document (checked Success); what is stored under its entryUUID."""
    submission = Submission()
    given = submission.add(entry or document())
    submitted = registry.submit(submission.build())
    assert submitted.response.status is ResponseStatus.SUCCESS, submitted.response.errors
    stored = registry.get(submitted.ids[given.entry_uuid])
    assert isinstance(stored, DocumentEntry)
    assert stored.unique_id == given.unique_id
    assert stored.event_codes == given.event_codes
    return stored


def run_on_the_pooled_connection(engine: Engine, sql: str) -> None:
    pooled = autocommit_engine(engine).raw_connection()
    try:
        cursor = pooled.cursor()
        cursor.execute(sql)
        cursor.close()
    finally:
        pooled.close()


def test_the_first_submission_prepares_and_the_next_ones_execute(
    engine: Engine, sent: list[bytes]
) -> None:
    registry = new_registry(engine)
    first, second = submit(registry), submit(registry)

    assert b"PREPARE xds_documents_1 AS INSERT INTO" in sent[0]
    assert b"PREPARE" not in sent[1]
    assert b"EXECUTE xds_documents_1(" in sent[1] and b"INSERT INTO" not in sent[1]
    assert first.entry_uuid != second.entry_uuid


def test_only_inserts_are_prepared(engine: Engine) -> None:
    """Statements whose plan depends on the tables' sizes (the guard's lookups) are planned
    each time: PostgreSQL keeps a generic plan until the table is next analyzed, and one
    made on a small `patients` is a sequential scan."""
    registry = new_registry(engine)
    submit(registry)
    submit(registry)
    pooled = autocommit_engine(engine).raw_connection()
    try:
        cursor = pooled.cursor()
        cursor.execute("SELECT name FROM pg_prepared_statements")
        prepared = {row[0] for row in cursor.fetchall()}
        cursor.close()
    finally:
        pooled.close()
    inserts = {f"xds_{table.name}_" for table in schema.metadata.sorted_tables}
    assert len(prepared) >= 8  # one per table the submission writes
    assert all(name.rstrip("0123456789") in inserts for name in prepared), prepared


def test_a_refused_submission_keeps_the_count_of_what_it_prepared(
    engine: Engine, sent: list[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    """The guard refuses an unknown patient after the PREPAREs ran: they outlive the
    rollback, and the next submission does not prepare them again."""
    registry = new_registry(engine)
    refused = Submission()
    refused.add(document(patient_id=UNKNOWN_PATIENT))
    plain = express.plan(refused.build(), "20261204000000")
    assert plain is not None
    assert express.register(engine, plain, {}, require_open_record=False) is False
    assert b"PREPARE xds_documents_1 " in sent[0]

    with caplog.at_level(logging.WARNING, logger=express_postgresql.__name__):
        submit(registry)
    assert b"PREPARE xds_documents_1 " not in sent[-1]
    assert b"EXECUTE xds_documents_1(" in sent[-1]
    assert not caplog.records
    assert autocommit_engine(engine) not in express_postgresql._UNPREPARED


@pytest.mark.parametrize(
    "mishap",
    ["the server forgot them", "the connection has them already"],
)
def test_a_pooler_in_between_costs_one_retry_as_text(
    engine: Engine, sent: list[bytes], caplog: pytest.LogCaptureFixture, mishap: str
) -> None:
    """Behind PgBouncer in transaction mode, the next transaction may run on a server
    connection that lacks the statements, or has them already. The submission is still
    registered, once, and from then on the pool sends INSERTs as text."""
    registry = new_registry(engine)
    submit(registry)
    if mishap == "the server forgot them":
        run_on_the_pooled_connection(engine, "DEALLOCATE ALL")
    else:
        pooled = autocommit_engine(engine).raw_connection()
        pooled.info[express_postgresql._PREPARED].clear()
        pooled.close()
    sent.clear()

    with caplog.at_level(logging.WARNING, logger=express_postgresql.__name__):
        stored = submit(registry)
    assert len(sent) == 2  # the prepared attempt, rolled back, then the text
    assert b"INSERT INTO" in sent[1] and b"EXECUTE" not in sent[1]
    assert "PgBouncer" in caplog.text
    submit(registry)
    assert b"PREPARE" not in sent[2] and b"EXECUTE" not in sent[2]
    with engine.connect() as conn:
        count = conn.exec_driver_sql(
            "SELECT count(*) FROM documents WHERE unique_id = %(u)s", {"u": stored.unique_id}
        ).scalar_one()
    assert count == 1


def test_an_insert_of_many_rows_goes_as_text(engine: Engine, sent: list[bytes]) -> None:
    """More rows for one table than `_MOST_ROWS_PREPARED`: that INSERT is not prepared (one
    statement per number of rows would fill the connection), the others are."""
    registry = new_registry(engine)
    many = tuple(code(f"E{n}") for n in range(express_postgresql._MOST_ROWS_PREPARED + 4))
    stored = submit(registry, document(event_codes=many))

    assert b'INSERT INTO "codes"' in sent[0]
    assert b"PREPARE xds_codes_" not in sent[0]
    assert b"EXECUTE xds_documents_1(" in sent[0]
    assert len(stored.event_codes) == len(many)
