"""Indexes led by the patient where each patient's rows are read together.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

Two indexes were keyed by random entryUUIDs, so that each document of a patient sat on a
leaf page of its own: at ten million documents, a FindDocuments of a patient with a
hundred documents read a hundred leaf pages from disk in each, and an ITI-41 of five
documents wrote five leaves in each.

- `codes`, `author_persons` and `reference_ids`: the index by `object_uuid` becomes
  (`patient_id`, `object_uuid`), the way every query reaches side rows (the owner's row
  correlates both, `registry.queries.filters.owned_by`).
- `documents` and `folders`: the unique (`logical_id`, `version`, `patient_id`) becomes
  (`patient_id`, `logical_id`, `version`). The $MetadataLevel 1 check that a row is the
  latest version (`registry.queries.levels`) probes it for every row a query selects;
  lookups by logicalId alone name the patient through `object_patients`, since a
  logicalId is the entryUUID of the first version (`registry.store.of_logical_ids`).

On PostgreSQL each partitioned table's index is created (the partitions follow) after the
old one is dropped, so that the disk holds one of them at a time.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SIDE_TABLES = ("codes", "author_persons", "reference_ids")
VERSIONED = ("documents", "folders")


def upgrade() -> None:
    for name in SIDE_TABLES:
        op.drop_index(f"ix_{name}_object_uuid", table_name=name)
        op.create_index(f"ix_{name}_owner", name, ["patient_id", "object_uuid"])
    for name in VERSIONED:
        op.drop_index(f"uq_{name}_logical_version", table_name=name)
        columns = ["patient_id", "logical_id", "version"]
        op.create_index(f"uq_{name}_logical_version", name, columns, unique=True)


def downgrade() -> None:
    for name in VERSIONED:
        op.drop_index(f"uq_{name}_logical_version", table_name=name)
        columns = ["logical_id", "version", "patient_id"]
        op.create_index(f"uq_{name}_logical_version", name, columns, unique=True)
    for name in SIDE_TABLES:
        op.drop_index(f"ix_{name}_owner", table_name=name)
        op.create_index(f"ix_{name}_object_uuid", name, ["object_uuid"])
