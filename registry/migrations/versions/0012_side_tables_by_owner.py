"""The side tables keyed by their owner only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

`codes`, `author_persons` and `reference_ids` lose their primary key over every column
and gain an index on `object_uuid`, the only way queries reach them (`registry.schema`).
The indexes by code, by author person, by time and by source go: every query names a
patient, whose own index finds the rows these would only filter. On PostgreSQL the key
goes by DROP CONSTRAINT and the index comes by CREATE INDEX on each partitioned table
(the partitions follow); SQLite copies each side table into its new shape.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SIDE_TABLES = ("codes", "author_persons", "reference_ids")
DROPPED = (
    ("ix_codes_lookup", "codes", ["scheme", "code", "coding_scheme"]),
    ("ix_author_persons_person", "author_persons", ["person"]),
    ("ix_documents_creation_time", "documents", ["creation_time"]),
    ("ix_documents_service_start_time", "documents", ["service_start_time"]),
    ("ix_documents_service_stop_time", "documents", ["service_stop_time"]),
    ("ix_submission_sets_source_id", "submission_sets", ["source_id"]),
    ("ix_submission_sets_submission_time", "submission_sets", ["submission_time"]),
    ("ix_folders_last_update_time", "folders", ["last_update_time"]),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for index, table, _columns in DROPPED:
        op.drop_index(index, table_name=table)
    for name in SIDE_TABLES:
        if postgresql:
            op.drop_constraint(f"pk_{name}", name, type_="primary")
        else:
            with op.batch_alter_table(name, recreate="always") as batch:
                batch.drop_constraint(f"pk_{name}", type_="primary")
        op.create_index(f"ix_{name}_object_uuid", name, ["object_uuid"])


def downgrade() -> None:
    for name, columns in (
        ("codes", ["object_uuid", "scheme", "code", "coding_scheme", "patient_id"]),
        ("author_persons", ["object_uuid", "person", "patient_id"]),
        ("reference_ids", ["object_uuid", "reference_id", "patient_id"]),
    ):
        op.drop_index(f"ix_{name}_object_uuid", table_name=name)
        with op.batch_alter_table(name) as batch:
            batch.create_primary_key(f"pk_{name}", columns)
    for index, table, columns in DROPPED:
        op.create_index(index, table, columns)
