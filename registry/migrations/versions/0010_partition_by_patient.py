"""National scale: the registry's object and side tables partitioned by patient.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

PostgreSQL: documents, submission_sets, folders, associations, codes, author_persons and
reference_ids become tables partitioned by HASH (patient_id), `XDS_PATIENT_PARTITIONS`
partitions each (16 when unset; fixed once migrated). Associations and side rows gain
the patient column (their objects'), every key includes it (a partitioned table's keys
must), and two narrow global tables route lookups by id: `object_patients` (entryUUID ->
patient, new) and `unique_ids` (which gains the patient). SQLite gets the same columns
and keys in plain tables.

An existing database is copied table by table into the new shape in this transaction:
each old table is renamed aside (its key kept to find an object's patient), the new table
created and filled, the old one dropped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UUID = sa.String(64)
OID = sa.String(128)
PID = sa.String(256)
DTM = sa.String(14)
URN = sa.String(128)
OLD = "_before_0010"


def partition_count() -> int:
    value = os.environ.get("XDS_PATIENT_PARTITIONS", "16")
    if not value.isdigit() or not 1 <= int(value) <= 1024:
        raise ValueError(f"XDS_PATIENT_PARTITIONS must be a number from 1 to 1024, not {value!r}")
    return int(value)


def _documents() -> None:
    _create(
        "documents",
        [
            sa.Column("entry_uuid", UUID, nullable=False),
            sa.Column("logical_id", UUID, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("unique_id", OID, nullable=False),
            sa.Column("patient_id", PID, nullable=False),
            sa.Column("status", URN, nullable=False),
            sa.Column("object_type", URN, nullable=False),
            sa.Column("creation_time", DTM, nullable=True),
            sa.Column("service_start_time", DTM, nullable=True),
            sa.Column("service_stop_time", DTM, nullable=True),
            sa.Column("hash", sa.String(64), nullable=True),
            sa.Column("size", sa.BigInteger, nullable=True),
            sa.Column("repository_unique_id", OID, nullable=True),
            sa.Column("home", URN, nullable=True),
            sa.Column("body", sa.Text, nullable=False),
        ],
        ("entry_uuid", "patient_id"),
        [
            ("ix_documents_unique_id", ["unique_id"], False),
            ("ix_documents_creation_time", ["creation_time"], False),
            ("ix_documents_service_start_time", ["service_start_time"], False),
            ("ix_documents_service_stop_time", ["service_stop_time"], False),
            ("ix_documents_repository_unique_id", ["repository_unique_id"], False),
            ("ix_documents_patient", ["patient_id", "status", "object_type"], False),
            ("uq_documents_logical_version", ["logical_id", "version", "patient_id"], True),
        ],
    )


def _submission_sets() -> None:
    _create(
        "submission_sets",
        [
            sa.Column("entry_uuid", UUID, nullable=False),
            sa.Column("unique_id", OID, nullable=False),
            sa.Column("patient_id", PID, nullable=False),
            sa.Column("status", URN, nullable=False),
            sa.Column("source_id", OID, nullable=True),
            sa.Column("submission_time", DTM, nullable=True),
            sa.Column("home", URN, nullable=True),
            sa.Column("body", sa.Text, nullable=False),
        ],
        ("entry_uuid", "patient_id"),
        [
            ("ix_submission_sets_unique_id", ["unique_id"], False),
            ("ix_submission_sets_source_id", ["source_id"], False),
            ("ix_submission_sets_submission_time", ["submission_time"], False),
            ("ix_submission_sets_patient", ["patient_id", "status"], False),
        ],
    )


def _folders() -> None:
    _create(
        "folders",
        [
            sa.Column("entry_uuid", UUID, nullable=False),
            sa.Column("logical_id", UUID, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("unique_id", OID, nullable=False),
            sa.Column("patient_id", PID, nullable=False),
            sa.Column("status", URN, nullable=False),
            sa.Column("last_update_time", DTM, nullable=True),
            sa.Column("home", URN, nullable=True),
            sa.Column("body", sa.Text, nullable=False),
        ],
        ("entry_uuid", "patient_id"),
        [
            ("ix_folders_unique_id", ["unique_id"], False),
            ("ix_folders_last_update_time", ["last_update_time"], False),
            ("ix_folders_patient", ["patient_id", "status"], False),
            ("uq_folders_logical_version", ["logical_id", "version", "patient_id"], True),
        ],
    )


def _associations() -> None:
    _create(
        "associations",
        [
            sa.Column("entry_uuid", UUID, nullable=False),
            sa.Column("association_type", URN, nullable=False),
            sa.Column("source_uuid", UUID, nullable=False),
            sa.Column("target_uuid", UUID, nullable=False),
            sa.Column("status", URN, nullable=False),
            sa.Column("submission_set_status", sa.String(16), nullable=True),
            sa.Column("home", URN, nullable=True),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("patient_id", PID, nullable=False),
        ],
        ("entry_uuid", "patient_id"),
        [
            ("ix_associations_source", ["source_uuid", "association_type"], False),
            ("ix_associations_target", ["target_uuid", "association_type"], False),
        ],
    )


def _codes() -> None:
    _create(
        "codes",
        [
            sa.Column("object_uuid", UUID, nullable=False),
            sa.Column("scheme", UUID, nullable=False),
            sa.Column("code", sa.String(256), nullable=False),
            sa.Column("coding_scheme", sa.String(256), nullable=False),
            sa.Column("patient_id", PID, nullable=False),
        ],
        ("object_uuid", "scheme", "code", "coding_scheme", "patient_id"),
        [("ix_codes_lookup", ["scheme", "code", "coding_scheme"], False)],
    )


def _author_persons() -> None:
    _create(
        "author_persons",
        [
            sa.Column("object_uuid", UUID, nullable=False),
            sa.Column("person", sa.String(512), nullable=False),
            sa.Column("patient_id", PID, nullable=False),
        ],
        ("object_uuid", "person", "patient_id"),
        [("ix_author_persons_person", ["person"], False)],
    )


def _reference_ids() -> None:
    _create(
        "reference_ids",
        [
            sa.Column("object_uuid", UUID, nullable=False),
            sa.Column("reference_id", sa.String(512), nullable=False),
            sa.Column("patient_id", PID, nullable=False),
        ],
        ("object_uuid", "reference_id", "patient_id"),
        [("ix_reference_ids_reference_id", ["reference_id"], False)],
    )


def _create(
    name: str,
    columns: list[sa.Column[object]],
    key: tuple[str, ...],
    indexes: list[tuple[str, list[str], bool]],
) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    extra: dict[str, Any] = {"postgresql_partition_by": "HASH (patient_id)"} if postgresql else {}
    op.create_table(name, *columns, sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"), **extra)
    if postgresql:
        count = partition_count()
        for remainder in range(count):
            op.execute(
                f"CREATE TABLE {name}_p{remainder} PARTITION OF {name} "
                f"FOR VALUES WITH (MODULUS {count}, REMAINDER {remainder})"
            )
    for index_name, index_columns, unique in indexes:
        op.create_index(index_name, name, index_columns, unique=unique)


# The patient of an object stored before this revision, by entryUUID (the old tables).
_OWNER = (
    "(SELECT patient_id FROM documents{old} WHERE entry_uuid = {uuid} "
    "UNION ALL SELECT patient_id FROM submission_sets{old} WHERE entry_uuid = {uuid} "
    "UNION ALL SELECT patient_id FROM folders{old} WHERE entry_uuid = {uuid} LIMIT 1)"
)


def _owner(uuid: str) -> str:
    return _OWNER.format(old=OLD, uuid=uuid)


# (table, how to build it, the patient of an old row as SQL or None when it has one).
_TABLES: list[tuple[str, Callable[[], None], str | None]] = [
    ("documents", _documents, None),
    ("submission_sets", _submission_sets, None),
    ("folders", _folders, None),
    # An association lies with its source's patient; a source that is no object of a
    # patient (an association) hands over to the target; never lost ('' at worst).
    (
        "associations",
        _associations,
        f"COALESCE({_owner('o.source_uuid')}, {_owner('o.target_uuid')}, '')",
    ),
    ("codes", _codes, f"COALESCE({_owner('o.object_uuid')}, '')"),
    ("author_persons", _author_persons, f"COALESCE({_owner('o.object_uuid')}, '')"),
    ("reference_ids", _reference_ids, f"COALESCE({_owner('o.object_uuid')}, '')"),
]


def upgrade() -> None:
    conn = op.get_bind()
    postgresql = conn.dialect.name == "postgresql"
    for name, _build, _patient in _TABLES:
        # Out of the new tables' way; the old keys stay to find an object's patient.
        for index in sa.inspect(conn).get_indexes(name):
            index_name = str(index["name"])
            if postgresql:
                op.execute(f"ALTER INDEX {index_name} RENAME TO {index_name}{OLD}")
            else:
                op.drop_index(index_name, table_name=name)
        op.rename_table(name, name + OLD)
        if postgresql:
            op.execute(f"ALTER TABLE {name}{OLD} RENAME CONSTRAINT pk_{name} TO pk_{name}{OLD}")
    for name, build, patient in _TABLES:
        build()
        old_columns = [c["name"] for c in sa.inspect(conn).get_columns(name + OLD)]
        copied = ", ".join(old_columns)
        if patient is None:
            op.execute(f"INSERT INTO {name} ({copied}) SELECT {copied} FROM {name}{OLD}")
        else:
            selected = ", ".join(f"o.{c}" for c in old_columns)
            op.execute(
                f"INSERT INTO {name} ({copied}, patient_id) "
                f"SELECT {selected}, {patient} FROM {name}{OLD} o"
            )
    for name, _build, _patient in reversed(_TABLES):
        op.drop_table(name + OLD)

    op.create_table(
        "object_patients",
        sa.Column("entry_uuid", UUID, nullable=False),
        sa.Column("patient_id", PID, nullable=False),
        sa.PrimaryKeyConstraint("entry_uuid", name="pk_object_patients"),
    )
    # An entryUUID two kinds shared before (nothing refused it) keeps its first row.
    ignore = "" if postgresql else " OR IGNORE"
    conflict = " ON CONFLICT DO NOTHING" if postgresql else ""
    for name in ("documents", "submission_sets", "folders", "associations"):
        op.execute(
            f"INSERT{ignore} INTO object_patients (entry_uuid, patient_id) "
            f"SELECT entry_uuid, patient_id FROM {name}{conflict}"
        )

    with op.batch_alter_table("unique_ids", recreate="never") as batch:
        batch.add_column(sa.Column("patient_id", PID, nullable=True))
    for kind, table, column in (
        ("document", "documents", "logical_id"),
        ("folder", "folders", "logical_id"),
        ("submission_set", "submission_sets", "entry_uuid"),
    ):
        op.execute(
            f"UPDATE unique_ids SET patient_id = COALESCE((SELECT t.patient_id FROM {table} t "
            f"WHERE t.{column} = unique_ids.logical_id LIMIT 1), '') WHERE kind = '{kind}'"
        )
    op.execute("UPDATE unique_ids SET patient_id = '' WHERE patient_id IS NULL")
    with op.batch_alter_table("unique_ids") as batch:
        batch.alter_column("patient_id", existing_type=PID, nullable=False)


def downgrade() -> None:
    raise NotImplementedError("revision 0010 (partitioning by patient) is not reversible")
