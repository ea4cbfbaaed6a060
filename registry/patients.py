"""Known patient identities: the registry accepts documents only for patients it was fed.

A merge (HL7 A40) records that the merged id now answers under the surviving id:
`resolve` follows it, and every object registered under the merged id is moved to
the surviving id (its `patient_id` column; the stored body keeps what was submitted).
Submissions that still use a merged id are refused like an unknown id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, union_all, update

from ebrim.hl7 import patient_key
from registry.schema import (
    SIDE_TABLES,
    associations,
    documents,
    folders,
    object_patients,
    patients,
    submission_sets,
    unique_ids,
)
from registry.storage import write_transaction


class PatientError(Exception):
    """A feed the registry cannot apply (e.g. merging into an unknown or merged id)."""


class Patients:
    """Create, update, merge and look up patient ids (ITI-8 / DMP record opening)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def feed(self, patient_id: str, demographics: Mapping[str, str] | None = None) -> bool:
        """Create the patient, or update its demographics when known; True when created."""
        patient_id = patient_key(patient_id)
        with write_transaction(self._engine) as conn:
            row = _row(conn, patient_id)
            now = datetime.now(UTC)
            text = json.dumps(dict(demographics), sort_keys=True) if demographics else None
            if row is None:
                conn.execute(
                    insert(patients).values(
                        patient_id=patient_id, demographics=text, created_at=now, updated_at=now
                    )
                )
                return True
            if demographics is not None:
                conn.execute(
                    update(patients)
                    .where(patients.c.patient_id == patient_id)
                    .values(demographics=text, updated_at=now)
                )
            return False

    def update(self, patient_id: str, demographics: Mapping[str, str]) -> None:
        """Replace a known patient's demographics (A08)."""
        patient_id = patient_key(patient_id)
        with write_transaction(self._engine) as conn:
            if _row(conn, patient_id) is None:
                raise PatientError(f"unknown patient id {patient_id}")
            conn.execute(
                update(patients)
                .where(patients.c.patient_id == patient_id)
                .values(
                    demographics=json.dumps(dict(demographics), sort_keys=True),
                    updated_at=datetime.now(UTC),
                )
            )

    def merge(self, merged_id: str, surviving_id: str) -> None:
        """Merge `merged_id` into `surviving_id` (A40): its objects move to the surviving id.

        An unknown merged id is recorded as merged, so that it resolves too.
        """
        merged_id = patient_key(merged_id)
        surviving_id = patient_key(surviving_id)
        if merged_id == surviving_id:
            raise PatientError(f"cannot merge {merged_id} into itself")
        with write_transaction(self._engine) as conn:
            survivor = _row(conn, surviving_id)
            if survivor is None or survivor.merged_into is not None:
                raise PatientError(f"surviving patient id {surviving_id} is unknown or merged")
            now = datetime.now(UTC)
            if _row(conn, merged_id) is None:
                conn.execute(
                    insert(patients).values(patient_id=merged_id, created_at=now, updated_at=now)
                )
            # Earlier merges into the merged id now point at the survivor directly.
            conn.execute(
                update(patients)
                .where(patients.c.merged_into == merged_id)
                .values(merged_into=surviving_id, updated_at=now)
            )
            conn.execute(
                update(patients)
                .where(patients.c.patient_id == merged_id)
                .values(merged_into=surviving_id, updated_at=now)
            )
            _move_objects(conn, merged_id, surviving_id)

    def is_known(self, patient_id: str) -> bool:
        """True when the id was fed and not merged into another."""
        with self._engine.connect() as conn:
            return is_active(conn, patient_id)

    def resolve(self, patient_id: str) -> str | None:
        """The id a patient answers under: itself, its survivor once merged, None if unknown."""
        with self._engine.connect() as conn:
            row = _row(conn, patient_id)
        if row is None:
            return None
        return row.merged_into or row.patient_id

    def demographics(self, patient_id: str) -> dict[str, str] | None:
        with self._engine.connect() as conn:
            row = _row(conn, patient_id)
        return json.loads(row.demographics) if row is not None and row.demographics else None


def _move_objects(conn: Connection, merged_id: str, surviving_id: str) -> None:
    """Every object of `merged_id`, its side rows and its global lookup rows, to the survivor.

    The global tables are found through the merged patient's objects (one partition each),
    not scanned. PostgreSQL moves the rows to the survivor's partitions (a sharded database,
    whose distribution column cannot change, would copy and delete: README, design notes).
    """
    owner_tables = (documents, submission_sets, folders)
    versioned = (documents, folders)
    owners = [select(t.c.entry_uuid).where(t.c.patient_id == merged_id) for t in owner_tables]
    # An association lies with its source's patient: found through its source, since no
    # index of `associations` leads with the patient.
    from_owners = associations.c.source_uuid.in_(union_all(*owners))
    links = select(associations.c.entry_uuid).where(
        associations.c.patient_id == merged_id, from_owners
    )
    # A logicalId's row outlives its first version while later ones live (`registry.delete`).
    logical_ids = [select(t.c.logical_id).where(t.c.patient_id == merged_id) for t in versioned]
    conn.execute(
        update(object_patients)
        .where(object_patients.c.entry_uuid.in_(union_all(*owners, *logical_ids, links)))
        .values(patient_id=surviving_id)
    )
    claimed = [select(t.c.unique_id).where(t.c.patient_id == merged_id) for t in owner_tables]
    conn.execute(
        update(unique_ids)
        .where(unique_ids.c.unique_id.in_(union_all(*claimed)))
        .where(unique_ids.c.patient_id == merged_id)
        .values(patient_id=surviving_id)
    )
    # Side rows and associations first, found through their owners while these still name
    # the merged patient; then the owners, by their patient index.
    for table in SIDE_TABLES:
        conn.execute(
            update(table)
            .where(table.c.patient_id == merged_id)
            .where(table.c.object_uuid.in_(union_all(*owners)))
            .values(patient_id=surviving_id)
        )
    conn.execute(
        update(associations)
        .where(associations.c.patient_id == merged_id, from_owners)
        .values(patient_id=surviving_id)
    )
    for table in owner_tables:
        conn.execute(
            update(table).where(table.c.patient_id == merged_id).values(patient_id=surviving_id)
        )


def _row(conn: Connection, patient_id: str) -> Row[Any] | None:
    patient_id = patient_key(patient_id)
    return conn.execute(select(patients).where(patients.c.patient_id == patient_id)).first()


def is_active(conn: Connection, patient_id: str) -> bool:
    """In the caller's transaction: the id is known and not merged."""
    row = _row(conn, patient_id)
    return row is not None and row.merged_into is None


def merged_into(conn: Connection, patient_id: str) -> str | None:
    row = _row(conn, patient_id)
    return row.merged_into if row is not None else None
