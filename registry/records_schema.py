"""The tables of the patient's record and of the audit trail (revisions 0003, 0004).

They share `registry.schema.metadata`, so that migrations and the schema comparison test
see one schema. `records` holds one row per patient whose record was ever opened (the
consent: who recorded it and when), `record_authorisations` the professionals and
structures the patient authorised (revoked rows are kept, with who and when),
`record_blocks` the professionals the patient blocked, `audit_events` one row per
transaction, never updated nor deleted (the migration installs triggers that refuse it).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from registry.schema import PID, metadata

PERSON = String(256)  # a professional id, a structure id, a free "who"
WHEN = DateTime(timezone=True)
# SQLite numbers rows only for an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit sequence.
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")

records = Table(
    "records",
    metadata,
    Column("patient_id", PID, primary_key=True),
    Column("status", String(16), nullable=False),  # open / closed
    Column("consent_by", PERSON, nullable=False),
    Column("consent_at", WHEN, nullable=False),
    Column("closed_by", PERSON, nullable=True),
    Column("closed_at", WHEN, nullable=True),
    Column("emergency_opposition", Boolean, nullable=False),
    Column("updated_at", WHEN, nullable=False),
)

record_authorisations = Table(
    "record_authorisations",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("patient_id", PID, nullable=False),
    Column("grantee_kind", String(16), nullable=False),  # professional / structure
    Column("grantee_id", PERSON, nullable=False),
    Column("granted_by", PERSON, nullable=False),
    Column("granted_at", WHEN, nullable=False),
    Column("expires_at", WHEN, nullable=True),
    Column("revoked_by", PERSON, nullable=True),
    Column("revoked_at", WHEN, nullable=True),
    Index("ix_record_authorisations_grantee", "patient_id", "grantee_kind", "grantee_id"),
)

record_blocks = Table(
    "record_blocks",
    metadata,
    Column("patient_id", PID, primary_key=True),
    Column("professional_id", PERSON, primary_key=True),
    Column("blocked_by", PERSON, nullable=False),
    Column("blocked_at", WHEN, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("occurred_at", WHEN, nullable=False),
    Column("transaction", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("patient_id", PID, nullable=True),
    Column("requester_kind", String(32), nullable=True),
    Column("professional_id", PERSON, nullable=True),
    Column("professional_name", PERSON, nullable=True),
    Column("structure_id", PERSON, nullable=True),
    Column("software", PERSON, nullable=True),
    Column("purpose_of_use", String(64), nullable=True),
    Column("authentication_mode", String(32), nullable=True),
    Column("emergency", Boolean, nullable=False),
    Column("secret", Boolean, nullable=False),
    Column("document_ids", Text, nullable=False),  # JSON list of uniqueIds (or entryUUIDs)
    Column("detail", Text, nullable=True),
    # Revision 0004: what a DICOM audit message (ITI-20) names beyond the above.
    Column("submission_set_id", String(128), nullable=True),  # ITI-42/57: its uniqueId
    Column("query_id", String(64), nullable=True),  # ITI-18: the stored query's id
    Column("query", Text, nullable=True),  # ITI-18: the AdhocQueryRequest, as XML
    Column("source_address", String(64), nullable=True),  # the requester's network address
    Column("professional_role", String(256), nullable=True),  # code^display^system
    Index("ix_audit_events_patient", "patient_id", "occurred_at"),
)

# Revision 0004: how far each syslog collector has been sent the audit trail.
audit_forwarding = Table(
    "audit_forwarding",
    metadata,
    Column("collector", String(512), primary_key=True),
    Column("last_event_id", ROW_ID, nullable=False),
    Column("updated_at", WHEN, nullable=False),
)

RECORD_TABLES = (records, record_authorisations, record_blocks, audit_events, audit_forwarding)

__all__ = [
    "RECORD_TABLES",
    "audit_events",
    "audit_forwarding",
    "record_authorisations",
    "record_blocks",
    "records",
]
