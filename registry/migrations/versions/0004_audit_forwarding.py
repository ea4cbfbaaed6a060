"""What an ITI-20 audit message names (submission set, stored query, the requester's
address and role), and the syslog cursor.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

`audit_events` stays append-only: adding nullable columns rewrites no row. Events written
before this revision have them empty, and their audit messages omit those objects.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("audit_events", recreate="never") as batch:
        batch.add_column(sa.Column("submission_set_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("query_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("query", sa.Text, nullable=True))
        batch.add_column(sa.Column("source_address", sa.String(64), nullable=True))
        batch.add_column(sa.Column("professional_role", sa.String(256), nullable=True))
    op.create_table(
        "audit_forwarding",
        sa.Column("collector", sa.String(512), nullable=False),
        sa.Column("last_event_id", ROW_ID, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("collector", name="pk_audit_forwarding"),
    )


def downgrade() -> None:
    op.drop_table("audit_forwarding")
    with op.batch_alter_table("audit_events", recreate="never") as batch:
        batch.drop_column("professional_role")
        batch.drop_column("source_address")
        batch.drop_column("query")
        batch.drop_column("query_id")
        batch.drop_column("submission_set_id")
