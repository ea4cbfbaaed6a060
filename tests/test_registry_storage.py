"""Storage: migrations on both databases, the schema they build, the JSON codec, DTM times."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from registry_fixtures import (
    BACKENDS,
    HAS_MEMBER,
    PATIENT,
    Submission,
    association,
    document,
    empty_engine,
    folder,
)

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
from ebrim.storedquery import (
    FindDocumentsQuery,
    GetAssociationsQuery,
    GetDocumentsQuery,
    StoredQueryRequest,
)
from ebrim.vocabulary import AvailabilityStatus, ReturnType
from registry import (
    Registry,
    RegistrySettings,
    current_revision,
    migrate,
    schema,
    store,
)
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

        tables = set(sa.inspect(engine).get_table_names())
        assert {t.name for t in schema.metadata.sorted_tables} <= tables


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrated_schema_matches_the_table_definitions(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with empty_engine(backend, tmp_path, request) as engine:
        migrate(engine)
        with engine.connect() as conn:
            partitions = _partitions(conn)

            def ours(name: str | None, type_: str, parent: Any) -> bool:
                # The partitions are the tables' storage, not tables of the schema.
                table = name if type_ == "table" else parent.get("table_name")
                return table not in partitions

            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": ours}
            )
            diff = compare_metadata(context, schema.metadata)
    assert diff == []


def _partitions(conn: sa.Connection) -> set[str]:
    if conn.dialect.name != "postgresql":
        return set()
    return set(conn.scalars(sa.text("SELECT relname FROM pg_class WHERE relispartition")))


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrate_twice_changes_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with empty_engine(backend, tmp_path, request) as engine:
        migrate(engine)
        migrate(engine)


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0010_moves_a_stored_record_into_the_patient_partitions(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Rows written at revision 0009 (a submission set, a document in a folder, their
    associations and side rows) are all there after 0010, each with its patient, and the
    registry finds them by id, by uniqueId and by code."""
    submission = Submission(patient=PATIENT, set_id="urn:uuid:5e7a0000-0000-4000-8000-000000000001")
    doc = submission.add(document("urn:uuid:5e7a0000-0000-4000-8000-000000000002"))
    box = submission.add_folder(folder("urn:uuid:5e7a0000-0000-4000-8000-000000000003"))
    filed = association(HAS_MEMBER, box.entry_uuid, doc.entry_uuid, entry_uuid=_uuid(4))
    submission.associations = [
        replace(link, entry_uuid=_uuid(5 + n)) for n, link in enumerate(submission.associations)
    ]
    submission.associations.append(filed)
    metadata = submission.build()
    objects = [*metadata.submission_sets, *metadata.documents, *metadata.folders]
    objects += metadata.associations
    objects = [replace(obj, status=APPROVED) for obj in objects]
    with empty_engine(backend, tmp_path, request) as engine:
        migrate(engine, "0009")
        before = 0
        with engine.begin() as conn:
            for table, rows in store.rows_of(objects).items():
                if table is schema.object_patients:
                    continue
                new_column = table in schema.SIDE_TABLES or table in (
                    schema.associations,
                    schema.unique_ids,
                )
                old_rows = [
                    {k: v for k, v in row.items() if not (new_column and k == "patient_id")}
                    for row in rows
                ]
                names = ", ".join(old_rows[0])
                marks = ", ".join(f":{name}" for name in old_rows[0])
                conn.execute(
                    sa.text(f"INSERT INTO {table.name} ({names}) VALUES ({marks})"), old_rows
                )
                before += len(rows)
            conn.execute(
                sa.text(
                    "INSERT INTO patients (patient_id, created_at, updated_at) VALUES (:p, :t, :t)"
                ),
                {"p": PATIENT, "t": datetime(2024, 1, 1, tzinfo=UTC)},
            )
        migrate(engine)
        with engine.connect() as conn:
            after = 0
            for table in (*schema.PARTITIONED, schema.unique_ids):
                patients = conn.scalars(sa.select(table.c.patient_id)).all()
                assert patients and set(patients) == {PATIENT}, table.name
                after += len(patients)
            lookup = dict(conn.execute(sa.select(schema.object_patients)).all())
            if backend == "postgres":
                home = conn.scalar(sa.text("SELECT tableoid::regclass::text FROM codes LIMIT 1"))
                assert home is not None and home.startswith("codes_p")
        assert after == before
        assert lookup == {obj.entry_uuid: PATIENT for obj in objects}
        registry = Registry(engine, RegistrySettings())
        found = registry.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=(doc.unique_id,))))
        assert found.metadata is not None and found.metadata.ids() == (doc.entry_uuid,)
        by_code = registry.query(
            StoredQueryRequest(
                FindDocumentsQuery(
                    patient_id=PATIENT, statuses=(APPROVED,), class_codes=(doc.class_code,)
                ),
                ReturnType.OBJECT_REF,
            )
        )
        assert [ref.id for ref in by_code.object_refs] == [doc.entry_uuid]
        links = registry.query(
            StoredQueryRequest(GetAssociationsQuery(uuids=(doc.entry_uuid,)), ReturnType.OBJECT_REF)
        )
        assert {ref.id for ref in links.object_refs} == {filed.entry_uuid, _uuid(5)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_0012_and_0013_key_the_side_tables_by_their_owner(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Side rows written at 0011 are all there after 0012, which leaves no primary key
    on the side tables, an index on their owner and none by code or author; 0013 leads
    that index by the owner's patient; and a query by code finds them."""
    submission = Submission(patient=PATIENT, set_id=_uuid(21))
    doc = submission.add(document(_uuid(22)))
    metadata = submission.build()
    objects = [replace(obj, status=APPROVED) for obj in metadata.objects()]
    with empty_engine(backend, tmp_path, request) as engine:
        migrate(engine, "0011")
        rows = store.rows_of(objects)
        with engine.begin() as conn:
            for table, table_rows in rows.items():
                conn.execute(table.insert(), table_rows)
        for revision, index, columns in (
            ("0012", "object_uuid", ["object_uuid"]),
            ("0013", "owner", ["patient_id", "object_uuid"]),
        ):
            migrate(engine, revision)
            inspector = sa.inspect(engine)
            with engine.connect() as conn:
                for table in schema.SIDE_TABLES:
                    assert not inspector.get_pk_constraint(table.name)["constrained_columns"]
                    indexes = {
                        i["name"]: i["column_names"] for i in inspector.get_indexes(table.name)
                    }
                    assert indexes[f"ix_{table.name}_{index}"] == columns
                    assert len([i for i in indexes.values() if "object_uuid" in i]) == 1
                    assert not {"ix_codes_lookup", "ix_author_persons_person"} & set(indexes)
                    kept = conn.execute(sa.select(table)).mappings().all()
                    assert sorted(map(dict, kept), key=str) == sorted(rows[table], key=str)
        found = Registry(engine, RegistrySettings()).query(
            StoredQueryRequest(
                FindDocumentsQuery(
                    patient_id=PATIENT, statuses=(APPROVED,), class_codes=(doc.class_code,)
                ),
                ReturnType.OBJECT_REF,
            )
        )
        assert [ref.id for ref in found.object_refs] == [doc.entry_uuid]


APPROVED = AvailabilityStatus.APPROVED.value


def _uuid(number: int) -> str:
    return f"urn:uuid:5e7a0000-0000-4000-8000-{number:012d}"


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


def test_codec_writes_the_compact_json_rows_were_always_written_in() -> None:
    """Rows written before orjson (the standard library's compact, non-ASCII form) and after
    it are the same text: bodies compare and deduplicate alike."""
    odd = "é 中文 \u2028 \x01 \" \\ / 😀 '"
    doc = DocumentEntry(
        entry_uuid="D",
        title=LocalizedString(odd),
        authors=(Author(person=odd, roles=("a", odd)),),
        limited_metadata=True,
    )
    plain = {
        "entry_uuid": "D",
        "title": {"value": odd},
        "authors": [{"person": odd, "roles": ["a", odd]}],
        "limited_metadata": True,
    }
    assert encode(doc) == json.dumps(plain, ensure_ascii=False, separators=(",", ":"))


def test_codec_refuses_a_text_without_a_required_field() -> None:
    with pytest.raises(ValueError, match="lacks its field entry_uuid"):
        decode(DocumentEntry, '{"mime_type": "text/xml"}')


def test_codec_applies_column_values_as_it_builds() -> None:
    doc = DocumentEntry(entry_uuid="D", status=None, title=LocalizedString("t"), hash="ab")
    changes = {"status": "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved", "home": "urn:oid:1"}

    decoded = decode(DocumentEntry, encode(doc), changes)

    assert decoded == replace(doc, **changes)
    assert hash(decoded) == hash(replace(doc, **changes))


def test_codec_builds_only_plain_dataclasses() -> None:
    @dataclass(frozen=True)
    class Listed:
        items: list[str] = field(default_factory=list)

    @dataclass(frozen=True)
    class Checked:
        value: str = ""

        def __post_init__(self) -> None:
            raise AssertionError("never built without its check")

    for kind in (Listed, Checked):
        with pytest.raises(TypeError, match="plain fields"):
            decode(kind, "{}")


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
