"""The patient's record: opened with consent, closed, reopened; who may read it.

`Records` is the management API (what the SOAP operations and the CLI will call);
`record_state(conn, patient_id, now)` is what the policy reads, in the caller's
transaction. Authorisations go to a professional (their id, as in the assertion's
NameID) or to a structure (Identifiant_Structure); each may expire, and a revoked one is
kept with who revoked it and when. A blocked professional is refused whatever else holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, delete, insert, or_, select, update

from ebrim.hl7 import patient_key
from registry.records_schema import record_authorisations, record_blocks, records
from registry.storage import write_transaction


class RecordError(Exception):
    """A record operation that cannot apply (closing a record that is not open…)."""


class RecordStatus(StrEnum):
    NONE = "none"  # never opened
    OPEN = "open"
    CLOSED = "closed"


class GranteeKind(StrEnum):
    PROFESSIONAL = "professional"
    STRUCTURE = "structure"


@dataclass(frozen=True)
class Authorisation:
    patient_id: str
    grantee_kind: GranteeKind
    grantee_id: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime | None = None
    revoked_by: str | None = None
    revoked_at: datetime | None = None

    def active_at(self, when: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or when < self.expires_at)


@dataclass(frozen=True)
class RecordState:
    """What the policy needs to know about one patient's record, at one instant."""

    patient_id: str
    status: RecordStatus = RecordStatus.NONE
    emergency_opposition: bool = False
    authorised_professionals: frozenset[str] = frozenset()
    authorised_structures: frozenset[str] = frozenset()
    blocked: frozenset[str] = frozenset()

    @property
    def is_open(self) -> bool:
        return self.status is RecordStatus.OPEN


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def record_state(conn: Connection, patient_id: str, now: datetime) -> RecordState:
    """The record of `patient_id` as it stands at `now`, read in the caller's transaction."""
    patient_id = patient_key(patient_id)
    row = conn.execute(select(records).where(records.c.patient_id == patient_id)).first()
    if row is None:
        return RecordState(patient_id)
    a = record_authorisations.c
    granted = conn.execute(
        select(a.grantee_kind, a.grantee_id).where(
            a.patient_id == patient_id,
            a.revoked_at.is_(None),
            or_(a.expires_at.is_(None), a.expires_at > now),
        )
    ).all()
    blocked = conn.execute(
        select(record_blocks.c.professional_id).where(record_blocks.c.patient_id == patient_id)
    ).scalars()
    return RecordState(
        patient_id=patient_id,
        status=RecordStatus(row.status),
        emergency_opposition=bool(row.emergency_opposition),
        authorised_professionals=frozenset(
            g.grantee_id for g in granted if g.grantee_kind == GranteeKind.PROFESSIONAL
        ),
        authorised_structures=frozenset(
            g.grantee_id for g in granted if g.grantee_kind == GranteeKind.STRUCTURE
        ),
        blocked=frozenset(blocked),
    )


class Records:
    """Open, close and reopen records; authorisations, blocks, opposition to emergency access.

    `by` names who acted (the patient, a professional recording the consent, an
    operator): it is stored, never interpreted.
    """

    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self._clock()

    def open(self, patient_id: str, *, consent_by: str) -> RecordState:
        """Open the record with the patient's consent, recorded by `consent_by`, or reopen it."""
        patient_id = patient_key(patient_id)
        now = self._clock()
        with write_transaction(self._engine) as conn:
            row = _record(conn, patient_id)
            if row is not None and row.status == RecordStatus.OPEN:
                raise RecordError(f"the record of {patient_id} is already open")
            values = {
                "status": RecordStatus.OPEN.value,
                "consent_by": consent_by,
                "consent_at": now,
                "closed_by": None,
                "closed_at": None,
                "updated_at": now,
            }
            if row is None:
                conn.execute(
                    insert(records).values(
                        patient_id=patient_id, emergency_opposition=False, **values
                    )
                )
            else:
                conn.execute(
                    update(records).where(records.c.patient_id == patient_id).values(**values)
                )
            return record_state(conn, patient_id, now)

    reopen = open

    def close(self, patient_id: str, *, by: str) -> None:
        """Close an open record: nothing more can be fed, professionals can no longer read it."""
        patient_id = patient_key(patient_id)
        now = self._clock()
        with write_transaction(self._engine) as conn:
            row = _record(conn, patient_id)
            if row is None or row.status != RecordStatus.OPEN:
                raise RecordError(f"the record of {patient_id} is not open")
            conn.execute(
                update(records)
                .where(records.c.patient_id == patient_id)
                .values(
                    status=RecordStatus.CLOSED.value, closed_by=by, closed_at=now, updated_at=now
                )
            )

    def oppose_emergency_access(self, patient_id: str, opposed: bool = True) -> None:
        """The patient forbids (or allows again) break-the-glass access to the record."""
        patient_id = patient_key(patient_id)
        with write_transaction(self._engine) as conn:
            if _record(conn, patient_id) is None:
                raise RecordError(f"{patient_id} has no record")
            conn.execute(
                update(records)
                .where(records.c.patient_id == patient_id)
                .values(emergency_opposition=opposed, updated_at=self._clock())
            )

    def state(self, patient_id: str) -> RecordState:
        patient_id = patient_key(patient_id)
        with self._engine.connect() as conn:
            return record_state(conn, patient_id, self._clock())

    # --- authorisations ----------------------------------------------------------------------

    def grant(
        self,
        patient_id: str,
        grantee_id: str,
        *,
        kind: GranteeKind = GranteeKind.PROFESSIONAL,
        by: str,
        expires_at: datetime | None = None,
    ) -> Authorisation:
        """Authorise a professional or a structure to read the record (until `expires_at`)."""
        patient_id = patient_key(patient_id)
        now = self._clock()
        with write_transaction(self._engine) as conn:
            if _record(conn, patient_id) is None:
                raise RecordError(f"{patient_id} has no record")
            values = {
                "patient_id": patient_id,
                "grantee_kind": kind.value,
                "grantee_id": grantee_id,
                "granted_by": by,
                "granted_at": now,
                "expires_at": expires_at,
            }
            conn.execute(insert(record_authorisations).values(**values))
        return Authorisation(patient_id, kind, grantee_id, by, now, expires_at)

    def revoke(
        self,
        patient_id: str,
        grantee_id: str,
        *,
        kind: GranteeKind = GranteeKind.PROFESSIONAL,
        by: str,
    ) -> int:
        """Revoke the grantee's active authorisations; how many were revoked."""
        patient_id = patient_key(patient_id)
        a = record_authorisations.c
        with write_transaction(self._engine) as conn:
            result = conn.execute(
                update(record_authorisations)
                .where(
                    a.patient_id == patient_id,
                    a.grantee_kind == kind.value,
                    a.grantee_id == grantee_id,
                    a.revoked_at.is_(None),
                )
                .values(revoked_by=by, revoked_at=self._clock())
            )
            return result.rowcount

    def authorisations(self, patient_id: str, *, active_only: bool = True) -> list[Authorisation]:
        """The record's authorisations, oldest first (with `active_only`, those in force now)."""
        patient_id = patient_key(patient_id)
        a = record_authorisations.c
        query = select(record_authorisations).where(a.patient_id == patient_id).order_by(a.id)
        now = self._clock()
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        found = [_authorisation(row) for row in rows]
        return [x for x in found if x.active_at(now)] if active_only else found

    # --- blocked professionals ---------------------------------------------------------------

    def block(self, patient_id: str, professional_id: str, *, by: str) -> None:
        """The patient blocks a professional: always refused, even in an emergency."""
        patient_id = patient_key(patient_id)
        with write_transaction(self._engine) as conn:
            if _record(conn, patient_id) is None:
                raise RecordError(f"{patient_id} has no record")
            b = record_blocks.c
            known = conn.execute(
                select(b.patient_id).where(
                    and_(b.patient_id == patient_id, b.professional_id == professional_id)
                )
            ).first()
            if known is None:
                conn.execute(
                    insert(record_blocks).values(
                        patient_id=patient_id,
                        professional_id=professional_id,
                        blocked_by=by,
                        blocked_at=self._clock(),
                    )
                )

    def unblock(self, patient_id: str, professional_id: str) -> None:
        patient_id = patient_key(patient_id)
        b = record_blocks.c
        with write_transaction(self._engine) as conn:
            conn.execute(
                delete(record_blocks).where(
                    b.patient_id == patient_id, b.professional_id == professional_id
                )
            )

    def blocked(self, patient_id: str) -> list[str]:
        patient_id = patient_key(patient_id)
        b = record_blocks.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(b.professional_id)
                .where(b.patient_id == patient_id)
                .order_by(b.professional_id)
            )
            return list(rows.scalars())


def _record(conn: Connection, patient_id: str) -> Row[Any] | None:
    patient_id = patient_key(patient_id)
    return conn.execute(select(records).where(records.c.patient_id == patient_id)).first()


def _authorisation(row: Row[Any]) -> Authorisation:
    return Authorisation(
        patient_id=row.patient_id,
        grantee_kind=GranteeKind(row.grantee_kind),
        grantee_id=row.grantee_id,
        granted_by=row.granted_by,
        granted_at=_utc(row.granted_at) or row.granted_at,
        expires_at=_utc(row.expires_at),
        revoked_by=row.revoked_by,
        revoked_at=_utc(row.revoked_at),
    )


def is_open(conn: Connection, patient_id: str) -> bool:
    """In the caller's transaction: the patient's record is open."""
    row = _record(conn, patient_id)
    return row is not None and row.status == RecordStatus.OPEN


__all__ = [
    "Authorisation",
    "GranteeKind",
    "RecordError",
    "RecordState",
    "RecordStatus",
    "Records",
    "is_open",
    "record_state",
]
