"""The side tables keyed by their owner only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

`codes`, `author_persons` and `reference_ids` lose their primary key over every column
and gain an index on `object_uuid`, the only way queries reach them (`registry.schema`).
On PostgreSQL that is a DROP CONSTRAINT and a CREATE INDEX on each partitioned table (the
partitions follow); SQLite copies each table into its new shape.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SIDE_TABLES = ("codes", "author_persons", "reference_ids")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
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
