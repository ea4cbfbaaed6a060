"""The portal's sessions and one-time login links (revision 0008), in the registry's database
so that every worker sees them. Only hashes of the secrets are stored: a database dump does
not open a session."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from registry.records_schema import PERSON, WHEN
from registry.schema import PID, metadata

portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha-256 of the cookie's secret
    Column("kind", String(16), nullable=False),  # patient / professional
    Column("subject", PERSON, nullable=False),  # the patient's id, the professional's id
    Column("name", PERSON, nullable=True),
    Column("csrf", String(64), nullable=False),  # the forms' token
    Column("created_at", WHEN, nullable=False),
    Column("expires_at", WHEN, nullable=False, index=True),
)

portal_links = Table(
    "portal_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("patient_id", PID, nullable=False),
    Column("expires_at", WHEN, nullable=False),
    Column("used_at", WHEN, nullable=True),
    # Revision 0009: the legal representative the link logs in, acting for the patient.
    Column("representative", PERSON, nullable=True),
)

__all__ = ["portal_links", "portal_sessions"]
