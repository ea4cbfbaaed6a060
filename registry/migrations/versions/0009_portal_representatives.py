"""A one-time login link may open a legal representative's session for a patient.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portal_links", recreate="never") as batch:
        batch.add_column(sa.Column("representative", sa.String(256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("portal_links") as batch:
        batch.drop_column("representative")
