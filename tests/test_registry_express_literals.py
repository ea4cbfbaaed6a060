"""The express path writes its INSERTs with literals it quotes itself on PostgreSQL.

`registry.express_postgresql._literals` doubles the quote, which is the whole rule only under
`standard_conforming_strings = on` in UTF-8; any other connection goes through psycopg2's
`mogrify`. Values that would break a careless quoting must come back exactly as sent.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from registry_fixtures import (
    Submission,
    code,
    document,
    new_registry,
    recorded_express_strings,
)
from sqlalchemy import Engine, event

from ebrim.model import DocumentEntry, LocalizedString, Slot
from ebrim.vocabulary import ResponseStatus
from registry import Registry, express, express_postgresql
from registry.storage import autocommit_engine

pytestmark = pytest.mark.postgres

HOSTILE = (
    "l'hôpital \"Saint-Jean\" \\ backslash \\' '' ''' $$ $tag$ -- ; "
    "'); DROP TABLE documents; -- \u00e9\u00e8 \u2603 \U0001f489 \t tab"
)


@pytest.fixture
def engine(postgres_engine: Engine) -> Engine:
    return postgres_engine


def hostile_document() -> DocumentEntry:
    return document(
        title=LocalizedString(HOSTILE[:120], lang="fr-FR"),
        comments=LocalizedString(HOSTILE),
        event_codes=(code("E'1", name=HOSTILE[:60]),),
        extra_slots=(Slot("urn:example:note", (HOSTILE[:200], "\\x27", "'")),),
    )


def register_and_read(
    engine: Engine, entry: DocumentEntry | None = None
) -> tuple[DocumentEntry, object, int]:
    calls = []
    original = express_postgresql._literals

    def counting(cursor: object, values: Iterable[object]) -> bytes:
        listed = list(values)
        calls.extend(listed)
        return original(cursor, listed)

    mp = pytest.MonkeyPatch()
    mp.setattr(express_postgresql, "_literals", counting)
    try:
        registry = new_registry(engine)
        submission = Submission()
        sent = submission.add(entry or hostile_document())
        submitted = registry.submit(submission.build())
    finally:
        mp.undo()
    assert submitted.response.status is ResponseStatus.SUCCESS, submitted.response.errors
    stored = registry.get(submitted.ids[sent.entry_uuid])
    return sent, stored, len(calls)


def test_quotes_backslashes_and_unicode_come_back_exactly(engine: Engine) -> None:
    sent, stored, quoted = register_and_read(engine)

    assert quoted > 0  # the express path quoted them itself
    assert isinstance(stored, DocumentEntry)
    assert stored.title == sent.title
    assert stored.comments == sent.comments
    assert stored.event_codes == sent.event_codes
    assert stored.extra_slots == sent.extra_slots
    with engine.connect() as conn:  # and nothing else ran
        assert conn.exec_driver_sql("SELECT count(*) FROM documents").scalar_one() == 1


def test_without_standard_conforming_strings_the_driver_quotes(engine: Engine) -> None:
    def escape_backslashes(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("SET standard_conforming_strings = off")
        cursor.close()

    for pool in (engine, autocommit_engine(engine)):  # the express path writes on the second
        event.listen(pool, "connect", escape_backslashes)
        pool.dispose()  # new connections, each with the setting
    sent, stored, quoted = register_and_read(engine)

    assert quoted == 0
    assert isinstance(stored, DocumentEntry)
    assert stored.comments == sent.comments
    assert stored.extra_slots == sent.extra_slots


def test_a_latin1_connection_gets_its_own_bytes(engine: Engine) -> None:
    """A connection whose client_encoding is LATIN1 has psycopg2 write the literals, in
    LATIN1: the statement around them is built in bytes, never decoded as UTF-8."""
    latin = "l'h\u00f4pital \u00ab Sainte-Anne \u00bb \\ '' ; \u00e9 \u00e8 \u00e7 \u00ff"

    def latin1(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.set_client_encoding("LATIN1")  # type: ignore[attr-defined]

    for pool in (engine, autocommit_engine(engine)):
        event.listen(pool, "connect", latin1)
        pool.dispose()
    entry = document(comments=LocalizedString(latin), event_codes=(code("E'1", name=latin),))
    sent, stored, quoted = register_and_read(engine, entry)

    assert quoted == 0
    assert isinstance(stored, DocumentEntry)
    assert stored.comments == sent.comments
    assert stored.event_codes == sent.event_codes


def test_a_nul_character_is_refused_not_truncated() -> None:
    with pytest.raises(ValueError, match="NUL"):
        express_postgresql._literals(None, ["before\x00after"])
    with pytest.raises(ValueError, match="NUL"):
        express_postgresql._literals(None, ["fine", None, 7, "before\x00after"])


def test_literals_quote_strings_and_spell_nulls_and_integers() -> None:
    text = express_postgresql._literals(None, ["l'h\u00f4pital", None, 7, "", "''", True, False])
    quote = "'"
    assert text == f"'l''h\u00f4pital',NULL,7,'',{quote * 6},true,false".encode()


def test_a_failure_after_begin_leaves_no_connection_inside_a_transaction(engine: Engine) -> None:
    """The express path sends BEGIN itself: when something other than the database fails
    before its COMMIT (here a NUL no literal can carry), the connection is not handed back
    to the pool in the middle of that transaction."""
    import psycopg2.extensions

    registry = new_registry(engine)
    submission = Submission()
    submission.add(document(repository_unique_id="1.2.250\x00.9"))  # a column, not checked first
    plain = express.plan(submission.build(), "20261204000000")
    assert plain is not None
    with pytest.raises(ValueError, match="NUL"):  # validation refuses it first, in service
        express.register(engine, plain, {}, require_open_record=False)

    pooled = autocommit_engine(engine).raw_connection()
    try:
        status = pooled.driver_connection.info.transaction_status  # type: ignore[union-attr]
        assert status == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    finally:
        pooled.close()
    fine = Submission()
    fine.add(document())
    assert registry.submit(fine.build()).response.status is ResponseStatus.SUCCESS


def registered_then_cut_off(engine: Engine) -> Registry:
    """A registry that has registered once, whose pooled connection the server then closed."""
    registry = new_registry(engine)
    first = Submission()
    first.add(document())
    assert registry.submit(first.build()).response.status is ResponseStatus.SUCCESS
    pooled = autocommit_engine(engine).raw_connection()
    try:
        backend = pooled.driver_connection.get_backend_pid()  # type: ignore[union-attr]
    finally:
        pooled.close()
    with engine.connect() as admin:
        # with a timeout, PostgreSQL waits until the backend is gone (its goodbye sent)
        admin.exec_driver_sql(f"SELECT pg_terminate_backend({backend}, 5000)")
    return registry


def test_a_connection_that_died_between_submissions_is_replaced(engine: Engine) -> None:
    """No pre-ping, and a connection used a moment ago is not looked at: its one statement
    fails, the registry's generated entryUUIDs are not found on a new connection (nothing
    was committed), and it is tried once more there."""
    registry = registered_then_cut_off(engine)

    second = Submission()
    second.add(document())
    assert registry.submit(second.build()).response.status is ResponseStatus.SUCCESS


def test_an_idle_connection_the_server_closed_is_dropped_before_sending(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection idle past `_IDLE_CHECKED` is looked at (its socket, no round trip): the
    server closed it, so it is dropped and the one statement goes on another, once."""
    registry = registered_then_cut_off(engine)
    monkeypatch.setattr(express_postgresql, "_IDLE_CHECKED", 0.0)
    sent = recorded_express_strings(monkeypatch)
    second = Submission()
    second.add(document())
    assert registry.submit(second.build()).response.status is ResponseStatus.SUCCESS
    assert len(sent) == 1  # not lost and settled: never sent on the closed connection
