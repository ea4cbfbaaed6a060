"""The console's captured exchanges (`registry.exchanges_schema`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exchanges",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("interface", sa.String(8), nullable=False),
        sa.Column("endpoint", sa.String(256), nullable=False),
        sa.Column("transaction", sa.String(32), nullable=False),
        sa.Column("action", sa.String(256), nullable=True),
        sa.Column("patient_id", sa.String(256), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("error_codes", sa.Text, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("requester", sa.String(256), nullable=True),
        sa.Column("client_address", sa.String(64), nullable=True),
        sa.Column("request_type", sa.String(256), nullable=True),
        sa.Column("request_size", ROW_ID, nullable=False),
        sa.Column("request_body", sa.LargeBinary, nullable=True),
        sa.Column("response_type", sa.String(256), nullable=True),
        sa.Column("response_size", ROW_ID, nullable=False),
        sa.Column("response_body", sa.LargeBinary, nullable=True),
        sa.Column("truncated", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exchanges"),
    )
    op.create_index("ix_exchanges_started_at", "exchanges", ["started_at"])
    op.create_index("ix_exchanges_patient", "exchanges", ["patient_id", "started_at"])


def downgrade() -> None:
    op.drop_table("exchanges")
