"""Patients are compared by id and assigning authority (CX.1 + CX.4), not as whole CX strings.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Before this revision `ID^^^&OID&ISO^NH` and `ID^^^&OID&ISO` were two patients. Every patient
column now holds the key `ID^^^&OID&ISO` (`ebrim.hl7.patient_key`; the identifier type code
and the authority's namespace id do not change who the patient is); the stored metadata
keeps the ids as submitted. Rows that become one patient are merged: the first row found
under the key is kept (patients, records, blocks), references follow it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Columns that only name a patient: a rewrite is enough.
_PLAIN = ("documents", "submission_sets", "folders", "record_authorisations", "audit_events")


def patient_key(value: str) -> str:
    """`ebrim.hl7.patient_key` as of this revision (kept here so the migration never changes)."""
    parts = value.split("^")
    number = parts[0]
    authority = parts[3] if len(parts) > 3 else ""
    if not authority:
        return number
    pieces = [*authority.split("&"), "", "", ""][:3]
    if pieces[1]:
        return f"{number}^^^&{pieces[1]}&{(pieces[2] or 'ISO').upper()}"
    return f"{number}^^^{authority.rstrip('&')}"


def upgrade() -> None:
    conn = op.get_bind()
    for table in _PLAIN:
        for old, new in _renames(conn, table):
            conn.execute(
                sa.text(f"UPDATE {table} SET patient_id = :new WHERE patient_id = :old"),
                {"new": new, "old": old},
            )
    for old, new in _renames(conn, "record_blocks"):
        # Keep a block the key already has; move the others.
        conn.execute(
            sa.text(
                "DELETE FROM record_blocks WHERE patient_id = :old AND professional_id IN "
                "(SELECT professional_id FROM record_blocks WHERE patient_id = :new)"
            ),
            {"new": new, "old": old},
        )
        conn.execute(
            sa.text("UPDATE record_blocks SET patient_id = :new WHERE patient_id = :old"),
            {"new": new, "old": old},
        )
    for old, new in _renames(conn, "records"):
        if _exists(conn, "records", new):
            conn.execute(sa.text("DELETE FROM records WHERE patient_id = :old"), {"old": old})
        else:
            conn.execute(
                sa.text("UPDATE records SET patient_id = :new WHERE patient_id = :old"),
                {"new": new, "old": old},
            )
    for old, new in _renames(conn, "patients"):
        if not _exists(conn, "patients", new):
            # A copy under the key first: other rows may reference the old id (merged_into).
            conn.execute(
                sa.text(
                    "INSERT INTO patients (patient_id, merged_into, demographics, created_at, "
                    "updated_at) SELECT :new, merged_into, demographics, created_at, updated_at "
                    "FROM patients WHERE patient_id = :old"
                ),
                {"new": new, "old": old},
            )
        conn.execute(
            sa.text("UPDATE patients SET merged_into = :new WHERE merged_into = :old"),
            {"new": new, "old": old},
        )
        conn.execute(sa.text("DELETE FROM patients WHERE patient_id = :old"), {"old": old})
    # A patient merged into itself by the merge of two spellings is simply active.
    conn.execute(sa.text("UPDATE patients SET merged_into = NULL WHERE merged_into = patient_id"))


def _renames(conn: sa.Connection, table: str) -> list[tuple[str, str]]:
    rows = conn.execute(sa.text(f"SELECT DISTINCT patient_id FROM {table}")).all()
    found = [(row[0], patient_key(row[0])) for row in rows if row[0]]
    return sorted((old, new) for old, new in found if old != new)


def _exists(conn: sa.Connection, table: str, patient_id: str) -> bool:
    query = sa.text(f"SELECT 1 FROM {table} WHERE patient_id = :id")
    return conn.execute(query, {"id": patient_id}).first() is not None


def downgrade() -> None:
    """The ids as submitted are in the stored metadata, not in these columns: nothing to undo."""
