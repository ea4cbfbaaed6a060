"""The document repository's index in the database: uniqueId -> stored object.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Before this revision the repository kept one JSON file per uniqueId under `index/` and
linked it after the registry had committed, so a crash between the two left documents
registered without bytes. The rows now commit with the registration (`repository.index`);
the JSON files of an existing store are imported at its next start.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repository_documents",
        sa.Column("repository_unique_id", sa.String(128), nullable=False),
        sa.Column("unique_id", sa.String(128), nullable=False),
        sa.Column("object_key", sa.String(96), nullable=False),
        sa.Column("hash", sa.String(40), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mime_type", sa.String(128), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint(
            "repository_unique_id", "unique_id", name="pk_repository_documents"
        ),
    )
    op.create_index("ix_repository_documents_object_key", "repository_documents", ["object_key"])


def downgrade() -> None:
    op.drop_index("ix_repository_documents_object_key", table_name="repository_documents")
    op.drop_table("repository_documents")
