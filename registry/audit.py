"""The audit trail: one event per transaction, in an append-only table.

Register, update and delete write their event in the same database transaction as the
action (a rolled-back action leaves no success event); a refused one writes a failure
event in a transaction of its own. Queries and retrieves write theirs after reading.

An event is `secret` when it touches a document flagged INVISIBLE_REPRESENTANTS_LEGAUX:
such accesses to a minor's record are hidden from the minor's legal representatives
when they read the access history (DESIGN.md §5 "Every access is traced").
`atna` sends the events as DICOM audit messages over syslog (ITI-20), following this
table: `events_after` is its reading.

Where a request came from (the peer's network address, the structure of its TLS client
certificate) is known to the wire, not to the actors: the SOAP layer states it around each
request with `requests_from`, and every event written meanwhile carries it. Audit is a
layer around the handler; a context variable keeps the actors' signatures about XDS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, String, func, insert, select

from ebrim.hl7 import patient_key
from pki.assertion import Requester
from registry.policy.decide import RequesterKind, purpose_of
from registry.records_schema import audit_events


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"  # refused by the rules or the policy, or failed


class AuditTransaction(StrEnum):
    PROVIDE = "ITI-41"  # recorded by a repository serving alone (`registry.trail`)
    REGISTER = "ITI-42"
    QUERY = "ITI-18"
    RETRIEVE = "ITI-43"
    UPDATE = "ITI-57"
    DELETE = "ITI-62"
    REMOVE_DOCUMENTS = "ITI-86"
    FIND_DOCUMENT_LISTS = "ITI-66"  # MHD (`mhd.app`), answered by the same stored queries
    FIND_DOCUMENT_REFERENCES = "ITI-67"
    RETRIEVE_DOCUMENT = "ITI-68"
    PROVIDE_BUNDLE = "ITI-65"  # MHD: a publication, registered as the ITI-41/42 it becomes
    SIMPLIFIED_PUBLISH = "ITI-105"  # MHD: one DocumentReference with its document inline


@dataclass(frozen=True)
class AuditEvent:
    """Who did what to whose record, how it ended, and whether it was an emergency."""

    transaction: str
    outcome: Outcome
    patient_id: str | None = None
    document_ids: tuple[str, ...] = ()
    requester_kind: str | None = None
    professional_id: str | None = None
    professional_name: str | None = None
    structure_id: str | None = None
    software: str | None = None
    purpose_of_use: str | None = None
    authentication_mode: str | None = None
    emergency: bool = False
    secret: bool = False
    detail: str | None = None
    occurred_at: datetime | None = None
    submission_set_id: str | None = None  # ITI-42, ITI-57
    query_id: str | None = None  # ITI-18: the stored query's id
    query: str | None = None  # ITI-18: the AdhocQueryRequest as XML
    source_address: str | None = None  # the requester's network address
    professional_role: str | None = None  # the assertion's first role: code^display^system
    event_id: int | None = None  # the row's number, once written


@dataclass(frozen=True)
class RequestOrigin:
    """Where the request being served came from, as the wire saw it."""

    address: str | None = None
    structure_id: str | None = None  # of the verified TLS client certificate


_origin: ContextVar[RequestOrigin | None] = ContextVar("xds_audit_origin", default=None)


_renamed: ContextVar[Mapping[str, str] | None] = ContextVar("xds_audit_renamed", default=None)


@contextmanager
def audited_as(renamed: Mapping[str, str]) -> Iterator[None]:
    """Events made inside this block are recorded under the transactions `renamed` maps
    them to: an MHD publication (ITI-65) is registered by the ITI-42 code path."""
    token = _renamed.set(renamed)
    try:
        yield
    finally:
        _renamed.reset(token)


def current_origin() -> RequestOrigin | None:
    """Where the request being served came from (None outside `requests_from`)."""
    return _origin.get()


@contextmanager
def requests_from(origin: RequestOrigin) -> Iterator[None]:
    """Events made inside this block name `origin` as where the request came from."""
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


def event_for(
    transaction: str,
    outcome: Outcome,
    requester: Requester | None,
    *,
    kind: RequesterKind | None = None,
    patient_id: str | None = None,
    document_ids: Sequence[str] = (),
    emergency: bool = False,
    secret: bool = False,
    detail: str | None = None,
    submission_set_id: str | None = None,
    query_id: str | None = None,
    query: str | None = None,
) -> AuditEvent:
    """An event naming the requester (None: an unauthenticated caller) and where it came from."""
    transaction = (_renamed.get() or {}).get(transaction, transaction)
    origin = _origin.get() or RequestOrigin()
    who: dict[str, Any] = {"structure_id": origin.structure_id}
    if requester is not None:
        software = requester.software
        who = {
            "requester_kind": (kind or RequesterKind.PROFESSIONAL).value,
            "professional_id": requester.professional_id,
            "professional_name": requester.name,
            # The structure the TLS certificate authenticated, before the one claimed.
            "structure_id": origin.structure_id or requester.structure_id,
            "software": f"{software.name} {software.version}".strip() if software else None,
            "purpose_of_use": purpose_of(requester),
            "authentication_mode": requester.authentication_mode,
            "professional_role": _role(requester),
        }
    if requester is not None and requester.reason:
        detail = "; ".join(filter(None, [f"reason: {requester.reason}", detail]))
    return AuditEvent(
        transaction=transaction,
        outcome=outcome,
        patient_id=patient_id or (requester.patient_id if requester else None),
        document_ids=tuple(document_ids),
        emergency=emergency,
        secret=secret,
        detail=detail,
        submission_set_id=submission_set_id,
        query_id=query_id,
        query=query,
        source_address=origin.address,
        **who,
    )


def _role(requester: Requester) -> str | None:
    """The first role of the assertion (a profession, ONESELF…) as code^display^system."""
    if not requester.roles:
        return None
    role = requester.roles[0]
    return f"{role.code}^{role.display_name}^{role.code_system}"


def write_event(conn: Connection, event: AuditEvent, now: datetime) -> None:
    """Append `event` in the caller's transaction."""
    conn.execute(insert(audit_events).values(**event_row(event, now)))


def event_row(event: AuditEvent, now: datetime) -> dict[str, Any]:
    """The `audit_events` row of `event` (its id left to the database)."""
    row: dict[str, Any] = {
        name: getattr(event, name)
        for name in (
            "transaction",
            "patient_id",
            "requester_kind",
            "professional_id",
            "professional_name",
            "structure_id",
            "software",
            "purpose_of_use",
            "authentication_mode",
            "emergency",
            "secret",
            "detail",
            "submission_set_id",
            "query_id",
            "query",
            "source_address",
            "professional_role",
        )
    }
    row.update(
        outcome=event.outcome.value,
        occurred_at=event.occurred_at or now,
        document_ids=json.dumps(list(event.document_ids)),
    )
    if row["patient_id"]:
        row["patient_id"] = patient_key(row["patient_id"])  # who, as the history looks it up
    return _bounded(row)


def _bounded(row: dict[str, Any]) -> dict[str, Any]:
    """Values cut to their column's length, marked with "…": an over-long value a request
    carried (a 100 KB patient id) must not make its audit event fail to be written."""
    for name, value in row.items():
        limit = _LIMITS.get(name)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            row[name] = value[: limit - 1] + "…"
    return row


_LIMITS: dict[str, int] = {
    column.name: column.type.length
    for column in audit_events.columns
    if isinstance(column.type, String) and column.type.length
}


def history(conn: Connection, patient_id: str, *, include_secret: bool = True) -> list[AuditEvent]:
    """The patient's events, oldest first."""
    patient_id = patient_key(patient_id)
    e = audit_events.c
    query = select(audit_events).where(e.patient_id == patient_id)
    if not include_secret:
        query = query.where(e.secret.is_(False))
    return [_event(row) for row in conn.execute(query.order_by(e.id))]


def events_after(conn: Connection, event_id: int, *, limit: int) -> list[AuditEvent]:
    """Up to `limit` events written after the one numbered `event_id`, in writing order."""
    e = audit_events.c
    query = select(audit_events).where(e.id > event_id).order_by(e.id).limit(limit)
    return [_event(row) for row in conn.execute(query)]


def last_event_id(conn: Connection) -> int:
    """The number of the newest event (0 when there is none)."""
    return int(conn.execute(select(func.max(audit_events.c.id))).scalar() or 0)


def _event(row: Row[Any]) -> AuditEvent:
    when = row.occurred_at
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return AuditEvent(
        transaction=row.transaction,
        outcome=Outcome(row.outcome),
        patient_id=row.patient_id,
        document_ids=tuple(json.loads(row.document_ids)),
        requester_kind=row.requester_kind,
        professional_id=row.professional_id,
        professional_name=row.professional_name,
        structure_id=row.structure_id,
        software=row.software,
        purpose_of_use=row.purpose_of_use,
        authentication_mode=row.authentication_mode,
        emergency=bool(row.emergency),
        secret=bool(row.secret),
        detail=row.detail,
        occurred_at=when,
        submission_set_id=row.submission_set_id,
        query_id=row.query_id,
        query=row.query,
        source_address=row.source_address,
        professional_role=row.professional_role,
        event_id=row.id,
    )


__all__ = [
    "AuditEvent",
    "AuditTransaction",
    "Outcome",
    "RequestOrigin",
    "current_origin",
    "event_for",
    "event_row",
    "events_after",
    "history",
    "last_event_id",
    "requests_from",
    "write_event",
]
