"""The patient's record (consent, authorisations, blocks) and the append-only audit trail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PID = sa.String(256)
PERSON = sa.String(256)
WHEN = sa.DateTime(timezone=True)
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The audit trail is append-only: the database itself refuses UPDATE and DELETE.
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("patient_id", PID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("consent_by", PERSON, nullable=False),
        sa.Column("consent_at", WHEN, nullable=False),
        sa.Column("closed_by", PERSON, nullable=True),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.Column("emergency_opposition", sa.Boolean, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name="pk_records"),
    )
    op.create_table(
        "record_authorisations",
        sa.Column("id", ROW_ID, nullable=False, autoincrement=True),
        sa.Column("patient_id", PID, nullable=False),
        sa.Column("grantee_kind", sa.String(16), nullable=False),
        sa.Column("grantee_id", PERSON, nullable=False),
        sa.Column("granted_by", PERSON, nullable=False),
        sa.Column("granted_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("revoked_by", PERSON, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_record_authorisations"),
    )
    op.create_index(
        "ix_record_authorisations_grantee",
        "record_authorisations",
        ["patient_id", "grantee_kind", "grantee_id"],
    )
    op.create_table(
        "record_blocks",
        sa.Column("patient_id", PID, nullable=False),
        sa.Column("professional_id", PERSON, nullable=False),
        sa.Column("blocked_by", PERSON, nullable=False),
        sa.Column("blocked_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("patient_id", "professional_id", name="pk_record_blocks"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", ROW_ID, nullable=False, autoincrement=True),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.Column("transaction", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("patient_id", PID, nullable=True),
        sa.Column("requester_kind", sa.String(32), nullable=True),
        sa.Column("professional_id", PERSON, nullable=True),
        sa.Column("professional_name", PERSON, nullable=True),
        sa.Column("structure_id", PERSON, nullable=True),
        sa.Column("software", PERSON, nullable=True),
        sa.Column("purpose_of_use", sa.String(64), nullable=True),
        sa.Column("authentication_mode", sa.String(32), nullable=True),
        sa.Column("emergency", sa.Boolean, nullable=False),
        sa.Column("secret", sa.Boolean, nullable=False),
        sa.Column("document_ids", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_patient", "audit_events", ["patient_id", "occurred_at"])
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{verb}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_index("ix_audit_events_patient", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("record_blocks")
    op.drop_index("ix_record_authorisations_grantee", table_name="record_authorisations")
    op.drop_table("record_authorisations")
    op.drop_table("records")
