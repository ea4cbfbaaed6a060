"""Small builders of valid submissions for the registry tests (model objects, no XML)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from ebrim.model import (
    Association,
    Author,
    Code,
    DocumentEntry,
    Folder,
    LocalizedString,
    Metadata,
    RegistryResponse,
    SubmissionSet,
)
from ebrim.vocabulary import AssociationType
from registry import Registry, RegistrySettings, create_engine_for, migrate, schema

PATIENT = "8912345678^^^&1.2.3.4.5&ISO"
OTHER_PATIENT = "7654321098^^^&1.2.3.4.5&ISO"
REPOSITORY = "1.3.6.1.4.1.21367.2010.1.2.1125"
HAS_MEMBER = AssociationType.HAS_MEMBER.value


def oid() -> str:
    """A fresh OID under the UUID arc (2.25), good for any uniqueId."""
    return f"2.25.{uuid.uuid4().int}"


def code(value: str, scheme: str = "1.3.6.1.4.1.21367.100.1", name: str | None = None) -> Code:
    return Code(value, scheme, name or value)


def document(
    entry_uuid: str = "Document01", *, patient: str = PATIENT, **changes: Any
) -> DocumentEntry:
    content = (changes.pop("content", None) or entry_uuid).encode()
    doc = DocumentEntry(
        entry_uuid=entry_uuid,
        mime_type="text/xml",
        title=LocalizedString("Compte rendu", lang="fr-FR"),
        unique_id=oid(),
        patient_id=patient,
        source_patient_id="P-001^^^&1.2.3.4.99&ISO",
        source_patient_info=("PID-5|DOE^JOHN^^^", "PID-7|19560527", "PID-8|M"),
        authors=(
            Author(
                person="801234567890^DUPONT^JEAN^^^Dr^^^&1.2.250.1.71.4.2.1&ISO",
                institutions=("Hopital^^^^^^^^^1.2.3.4.5.6.7",),
                roles=("Attending",),
                specialties=("G15_10/SM26^Medecine^1.2.250.1.213.1.1.4.5",),
            ),
        ),
        class_code=code("11488-4", "2.16.840.1.113883.6.1", "Consult note"),
        confidentiality_codes=(code("N", "2.16.840.1.113883.5.25", "Normal"),),
        event_codes=(code("E1"), code("E2")),
        format_code=code("urn:ihe:pcc:xphr:2007", "1.3.6.1.4.1.19376.1.2.3", "XPHR"),
        healthcare_facility_type_code=code("Outpatient"),
        practice_setting_code=code("General Medicine"),
        type_code=code("34108-1", "2.16.840.1.113883.6.1", "Outpatient Note"),
        creation_time="20240102030405",
        service_start_time="20240101",
        service_stop_time="202401020300",
        hash=hashlib.sha1(content).hexdigest(),
        size=str(len(content)),
        language_code="fr-FR",
        repository_unique_id=REPOSITORY,
        reference_ids=("ORD-1^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:order",),
    )
    return replace(doc, **changes)


def folder(entry_uuid: str = "Folder01", *, patient: str = PATIENT, **changes: Any) -> Folder:
    return replace(
        Folder(
            entry_uuid=entry_uuid,
            title=LocalizedString("Episode"),
            unique_id=oid(),
            patient_id=patient,
            codes=(code("Emergency"),),
        ),
        **changes,
    )


def association(kind: str, source: str, target: str, **changes: Any) -> Association:
    entry = changes.pop("entry_uuid", f"Assoc-{uuid.uuid4().hex[:12]}")
    return Association(
        entry_uuid=entry, association_type=kind, source=source, target=target, **changes
    )


@dataclass
class Submission:
    """Builds one submission: a submission set, its documents, folders and associations."""

    patient: str = PATIENT
    documents: list[DocumentEntry] = field(default_factory=list)
    folders: list[Folder] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)
    set_id: str = "SubmissionSet01"

    def add(self, doc: DocumentEntry | None = None, **changes: Any) -> DocumentEntry:
        """A new document, member (Original) of the submission set."""
        doc = doc or document(
            f"Document{len(self.documents) + 1:02d}", patient=self.patient, **changes
        )
        self.documents.append(doc)
        self.member(doc.entry_uuid, status="Original")
        return doc

    def member(self, target: str, *, status: str | None = None) -> Association:
        link = association(HAS_MEMBER, self.set_id, target, submission_set_status=status)
        self.associations.append(link)
        return link

    def add_folder(self, entry: Folder | None = None, **changes: Any) -> Folder:
        entry = entry or folder(
            f"Folder{len(self.folders) + 1:02d}", patient=self.patient, **changes
        )
        self.folders.append(entry)
        self.member(entry.entry_uuid)
        return entry

    def file(self, folder_id: str, document_id: str) -> Association:
        """Put a document in a folder; the submission set holds the new association."""
        link = association(HAS_MEMBER, folder_id, document_id)
        self.associations.append(link)
        self.member(link.entry_uuid)
        return link

    def relate(self, kind: AssociationType, source: str, target: str) -> Association:
        link = association(kind.value, source, target)
        self.associations.append(link)
        return link

    def build(self, **set_changes: Any) -> Metadata:
        submission_set = SubmissionSet(
            entry_uuid=self.set_id,
            title=LocalizedString("Soumission"),
            unique_id=oid(),
            source_id="1.3.6.1.4.1.21367.2010.1.2.1",
            patient_id=self.patient,
            submission_time="20240102040506",
            authors=(Author(person="^DUPONT^JEAN", institutions=("Hopital^^^^^^^^^1.2.3",)),),
            content_type_code=code("Consultation"),
        )
        return Metadata(
            submission_sets=(replace(submission_set, **set_changes),),
            documents=tuple(self.documents),
            folders=tuple(self.folders),
            associations=tuple(self.associations),
        )


# --- databases -------------------------------------------------------------------------------

BACKENDS = ["sqlite", "postgres"]


@contextmanager
def empty_engine(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on an empty database: a SQLite file, or a PostgreSQL schema of its own.

    A schema per test lets pytest-xdist workers share the PostgreSQL server.
    """
    if backend == "sqlite":
        engine = create_engine_for(f"sqlite:///{tmp_path / 'registry.sqlite'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"reg_{uuid.uuid4().hex[:16]}"
    admin = create_engine_for(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = create_engine_for(url, schema=schema)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def migrated_engine(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    with empty_engine(backend, tmp_path, request) as engine:
        migrate(engine)
        yield engine


def new_registry(engine: Engine, *patients: str) -> Registry:
    registry = Registry(
        engine, RegistrySettings(), clock=lambda: datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    )
    for patient in patients or (PATIENT, OTHER_PATIENT):
        registry.patients.feed(patient)
    return registry


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every registry table, in a stable order (to compare before and after).

    The audit trail is left out: a refused request leaves a failure event there, on purpose
    (tests/test_policy_audit.py checks it).
    """
    tables = [t for t in schema.metadata.sorted_tables if t.name != "audit_events"]
    out = {}
    with engine.connect() as conn:
        for table in tables:
            rows = conn.execute(select(table).order_by(*table.columns)).all()
            out[table.name] = [tuple(row) for row in rows]
        version = conn.exec_driver_sql("SELECT * FROM alembic_version")
        out["alembic_version"] = [tuple(row) for row in version]
    return out


def codes_of(response: RegistryResponse) -> list[str]:
    return [error.code.value for error in response.errors]


def recorded_express_strings(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every string PostgreSQL's express path sends from now on, in order (still sent)."""
    from registry import express_postgresql

    strings: list[bytes] = []
    send = express_postgresql._send

    def recorded(cursor: object, statement: bytes) -> None:
        strings.append(statement)
        send(cursor, statement)

    monkeypatch.setattr(express_postgresql, "_send", recorded)
    return strings
