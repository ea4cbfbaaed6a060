"""Assertion ids already accepted: the WS-Security replay guard shared by all workers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_assertions",
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name="pk_seen_assertions"),
    )
    op.create_index("ix_seen_assertions_expires_at", "seen_assertions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_seen_assertions_expires_at", table_name="seen_assertions")
    op.drop_table("seen_assertions")
