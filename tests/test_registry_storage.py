"""Storage: migrations on both databases, the schema they build, the JSON codec, DTM times."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from registry_fixtures import BACKENDS, Submission, document, empty_engine, folder

from ebrim.model import (
    Association,
    Author,
    Code,
    DocumentEntry,
    Folder,
    LocalizedString,
    Slot,
    SubmissionSet,
)
from registry import current_revision, head_revision, migrate, schema
from registry.codec import decode, encode
from registry.storage import create_engine_for
from registry.times import normalize_dtm


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrate_brings_an_empty_database_to_head(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with empty_engine(backend, tmp_path, request) as engine:
        assert current_revision(engine) is None

        migrate(engine)

        assert current_revision(engine) == head_revision()
        tables = set(sa.inspect(engine).get_table_names())
        assert {t.name for t in schema.metadata.sorted_tables} <= tables


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrated_schema_matches_the_table_definitions(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with empty_engine(backend, tmp_path, request) as engine:
        migrate(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, schema.metadata)
    assert diff == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrate_twice_changes_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with empty_engine(backend, tmp_path, request) as engine:
        migrate(engine)
        migrate(engine)
        assert current_revision(engine) == head_revision()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_creating_an_engine_does_not_connect(tmp_path: Path) -> None:
    create_engine_for(f"sqlite:///{tmp_path / 'never.sqlite'}")
    create_engine_for("postgresql://nobody@127.0.0.1:1/none")
    assert not (tmp_path / "never.sqlite").exists()


FULL_DOCUMENT = document(
    "urn:uuid:1b2c3d4e-0000-4000-8000-000000000001",
    home="urn:oid:1.2.3",
    comments=LocalizedString("é ü 中文", lang="zh", charset="UTF-8"),
    status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved",
    logical_id="urn:uuid:1b2c3d4e-0000-4000-8000-000000000001",
    version="1",
    legal_authenticator="^DUPONT^JEAN",
    uri="http://example.org/doc",
    document_availability="urn:ihe:iti:2010:DocumentAvailability:Online",
    limited_metadata=True,
    extra_slots=(Slot("urn:x:custom", ("a", "", "b"), slot_type="string"), Slot("empty")),
)


@pytest.mark.parametrize(
    "obj",
    [
        FULL_DOCUMENT,
        DocumentEntry(entry_uuid="Bare"),
        Submission().build().submission_sets[0],
        SubmissionSet(entry_uuid="S", intended_recipients=("Org^^^^^^^^^1.2|^Doe^John",)),
        folder(last_update_time="20240101000000", codes=(Code("a", "b"), Code("c", "d", None))),
        Folder(entry_uuid="F", title=LocalizedString("")),
        Association("A", "urn:ihe:iti:2007:AssociationType:RPLC", "x", "y", home="urn:oid:9"),
        Association("B", "urn:x:custom", "x", "y", submission_set_status="Original"),
    ],
    ids=lambda obj: type(obj).__name__,
)
def test_codec_round_trips_every_field(obj: object) -> None:
    assert decode(type(obj), encode(obj)) == obj


def test_codec_keeps_order_and_empty_strings() -> None:
    author = Author(person="", roles=("b", "a", "b"))
    doc = DocumentEntry(entry_uuid="D", authors=(author, Author()), source_patient_info=("", "x"))
    assert decode(DocumentEntry, encode(doc)) == doc


def test_codec_refuses_unknown_fields() -> None:
    with pytest.raises(ValueError, match="no field"):
        decode(DocumentEntry, '{"entry_uuid": "D", "colour": "blue"}')


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("2024", "20240101000000"),
        ("202402", "20240201000000"),
        ("20240229", "20240229000000"),
        ("2024022913", "20240229130000"),
        ("20240229135959", "20240229135959"),
        ("20240229135959.123", "20240229135959"),
        ("202402291300+0100", "20240229120000"),
        ("20241231230000-0200", "20250101010000"),
        ("20240230", None),
        ("24", None),
        ("", None),
        (None, None),
    ],
)
def test_times_are_normalised_for_range_comparison(
    value: str | None, normalised: str | None
) -> None:
    assert normalize_dtm(value) == normalised


def test_public_api_is_pinned() -> None:
    import registry

    assert sorted(registry.__all__) == [
        "IndexCheckNeeded",
        "PatientError",
        "Patients",
        "QueryResult",
        "Registry",
        "RegistrySettings",
        "Submitted",
        "create_engine_for",
        "current_revision",
        "head_revision",
        "migrate",
    ]
