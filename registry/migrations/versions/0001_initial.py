"""Initial registry schema: patients, unique ids, the four object tables and side tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UUID = sa.String(64)
OID = sa.String(128)
PID = sa.String(256)
DTM = sa.String(14)
URN = sa.String(128)


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("patient_id", PID, nullable=False),
        sa.Column("merged_into", PID, nullable=True),
        sa.Column("demographics", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name="pk_patients"),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["patients.patient_id"], name="fk_patients_merged_into"
        ),
    )
    op.create_index("ix_patients_merged_into", "patients", ["merged_into"])

    op.create_table(
        "unique_ids",
        sa.Column("unique_id", OID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("logical_id", UUID, nullable=False),
        sa.PrimaryKeyConstraint("unique_id", "kind", name="pk_unique_ids"),
    )

    op.create_table(
        "documents",
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
        sa.PrimaryKeyConstraint("entry_uuid", name="pk_documents"),
    )
    op.create_index("ix_documents_unique_id", "documents", ["unique_id"])
    op.create_index("ix_documents_creation_time", "documents", ["creation_time"])
    op.create_index("ix_documents_service_start_time", "documents", ["service_start_time"])
    op.create_index("ix_documents_service_stop_time", "documents", ["service_stop_time"])
    op.create_index("ix_documents_repository_unique_id", "documents", ["repository_unique_id"])
    op.create_index("ix_documents_patient", "documents", ["patient_id", "status", "object_type"])
    op.create_index(
        "uq_documents_logical_version", "documents", ["logical_id", "version"], unique=True
    )

    op.create_table(
        "submission_sets",
        sa.Column("entry_uuid", UUID, nullable=False),
        sa.Column("unique_id", OID, nullable=False),
        sa.Column("patient_id", PID, nullable=False),
        sa.Column("status", URN, nullable=False),
        sa.Column("source_id", OID, nullable=True),
        sa.Column("submission_time", DTM, nullable=True),
        sa.Column("home", URN, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("entry_uuid", name="pk_submission_sets"),
    )
    op.create_index("ix_submission_sets_unique_id", "submission_sets", ["unique_id"])
    op.create_index("ix_submission_sets_source_id", "submission_sets", ["source_id"])
    op.create_index("ix_submission_sets_submission_time", "submission_sets", ["submission_time"])
    op.create_index("ix_submission_sets_patient", "submission_sets", ["patient_id", "status"])

    op.create_table(
        "folders",
        sa.Column("entry_uuid", UUID, nullable=False),
        sa.Column("logical_id", UUID, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("unique_id", OID, nullable=False),
        sa.Column("patient_id", PID, nullable=False),
        sa.Column("status", URN, nullable=False),
        sa.Column("last_update_time", DTM, nullable=True),
        sa.Column("home", URN, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("entry_uuid", name="pk_folders"),
    )
    op.create_index("ix_folders_unique_id", "folders", ["unique_id"])
    op.create_index("ix_folders_last_update_time", "folders", ["last_update_time"])
    op.create_index("ix_folders_patient", "folders", ["patient_id", "status"])
    op.create_index("uq_folders_logical_version", "folders", ["logical_id", "version"], unique=True)

    op.create_table(
        "associations",
        sa.Column("entry_uuid", UUID, nullable=False),
        sa.Column("association_type", URN, nullable=False),
        sa.Column("source_uuid", UUID, nullable=False),
        sa.Column("target_uuid", UUID, nullable=False),
        sa.Column("status", URN, nullable=False),
        sa.Column("submission_set_status", sa.String(16), nullable=True),
        sa.Column("home", URN, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("entry_uuid", name="pk_associations"),
    )
    op.create_index("ix_associations_source", "associations", ["source_uuid", "association_type"])
    op.create_index("ix_associations_target", "associations", ["target_uuid", "association_type"])

    op.create_table(
        "codes",
        sa.Column("object_uuid", UUID, nullable=False),
        sa.Column("scheme", UUID, nullable=False),
        sa.Column("code", sa.String(256), nullable=False),
        sa.Column("coding_scheme", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("object_uuid", "scheme", "code", "coding_scheme", name="pk_codes"),
    )
    op.create_index("ix_codes_lookup", "codes", ["scheme", "code", "coding_scheme"])

    op.create_table(
        "author_persons",
        sa.Column("object_uuid", UUID, nullable=False),
        sa.Column("person", sa.String(512), nullable=False),
        sa.PrimaryKeyConstraint("object_uuid", "person", name="pk_author_persons"),
    )
    op.create_index("ix_author_persons_person", "author_persons", ["person"])

    op.create_table(
        "reference_ids",
        sa.Column("object_uuid", UUID, nullable=False),
        sa.Column("reference_id", sa.String(512), nullable=False),
        sa.PrimaryKeyConstraint("object_uuid", "reference_id", name="pk_reference_ids"),
    )
    op.create_index("ix_reference_ids_reference_id", "reference_ids", ["reference_id"])


def downgrade() -> None:
    for table in (
        "reference_ids",
        "author_persons",
        "codes",
        "associations",
        "folders",
        "submission_sets",
        "documents",
        "unique_ids",
        "patients",
    ):
        op.drop_table(table)
