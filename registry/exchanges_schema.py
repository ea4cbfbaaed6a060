"""Captured exchanges (revision 0007): what the console's message log shows.

One row per request on any interface (SOAP, FHIR, the ITI-8 MLLP feed) while capture is on
(`web.capture`): who, what, for which patient, how it ended, and the request and response
bodies, zlib-compressed and cut at the capture's size limit. Rows go when they pass the
capture's retention time or its total size; nothing else reads or keeps them. They are
patient data: capture is off unless asked for in production, and every view is audited.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, LargeBinary, String, Table, Text

from registry.records_schema import PERSON, ROW_ID, WHEN
from registry.schema import PID, metadata

exchanges = Table(
    "exchanges",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("started_at", WHEN, nullable=False, index=True),
    Column("interface", String(8), nullable=False),  # soap / fhir / hl7v2
    Column("endpoint", String(256), nullable=False),  # the path, or mllp
    Column("transaction", String(32), nullable=False),  # ITI-41, ITI-67, ITI-8, WSDL, ...
    Column("action", String(256), nullable=True),  # the SOAP action, the HTTP method
    Column("patient_id", PID, nullable=True),
    Column("outcome", String(64), nullable=False),  # Success, Failure, Fault:..., HTTP 404
    Column("http_status", Integer, nullable=True),
    Column("error_codes", Text, nullable=False),  # space-separated XDS error codes
    Column("duration_ms", Integer, nullable=False),
    Column("requester", PERSON, nullable=True),  # the professional, or the TLS client
    Column("client_address", String(64), nullable=True),
    Column("request_type", String(256), nullable=True),
    Column("request_size", ROW_ID, nullable=False),
    Column("request_body", LargeBinary, nullable=True),  # zlib; None when not captured
    Column("response_type", String(256), nullable=True),
    Column("response_size", ROW_ID, nullable=False),
    Column("response_body", LargeBinary, nullable=True),
    Column("truncated", Boolean, nullable=False),  # a body was cut at the size limit
    Index("ix_exchanges_patient", "patient_id", "started_at"),
)

__all__ = ["exchanges"]
