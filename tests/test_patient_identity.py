"""A patient is its id and assigning authority (CX.1 + CX.4), whatever its type code (issue 14).

`ID^^^&OID&ISO^NH` and `ID^^^&OID&ISO` were two patients: fed with one spelling, a submission
with the other was XDSUnknownPatientId and a query with it found nothing. ITI TF-3 4.2.3.1.9
(patientId is CX.1 and CX.4); CX.5 (the DMP's NH) does not change who the patient is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from registry_fixtures import Submission, document, empty_engine
from sqlalchemy import Engine, text

from ebrim.hl7 import patient_key
from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from ebrim.vocabulary import AvailabilityStatus, ResponseStatus
from registry import Registry, RegistrySettings, migrate

INS = "279035121518989^^^&1.2.250.1.213.1.4.10&ISO"
APPROVED = (AvailabilityStatus.APPROVED.value,)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (INS + "^NH", INS),
        (INS, INS),
        ("279035121518989^^^ASIP&1.2.250.1.213.1.4.10&iso^NH", INS),
        ("P1^^^LOCAL", "P1^^^LOCAL"),
        ("P1", "P1"),
    ],
)
def test_patient_key_is_the_id_and_its_authority(value: str, key: str) -> None:
    assert patient_key(value) == key


def registry_for(engine: Engine) -> Registry:
    return Registry(engine, RegistrySettings(), clock=lambda: datetime(2024, 5, 6, tzinfo=UTC))


def submission(patient: str) -> Submission:
    built = Submission(patient=patient)
    built.add(document("Doc", patient=patient))
    return built


@pytest.mark.parametrize(("fed", "submitted"), [(INS + "^NH", INS), (INS, INS + "^NH")])
def test_a_patient_fed_with_one_spelling_is_found_with_the_other(
    engine: Engine, fed: str, submitted: str
) -> None:
    registry = registry_for(engine)
    registry.patients.feed(fed)

    result = registry.submit(submission(submitted).build())

    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors
    for spelling in (fed, submitted):
        found = registry.query(
            StoredQueryRequest(FindDocumentsQuery(patient_id=spelling, statuses=APPROVED))
        )
        # The metadata comes back as it was submitted.
        assert [d.patient_id for d in found.metadata.documents] == [submitted]


def test_a_submission_mixing_the_two_spellings_is_one_patient(engine: Engine) -> None:
    registry = registry_for(engine)
    registry.patients.feed(INS)
    built = Submission(patient=INS + "^NH")
    built.add(document("Doc", patient=INS))

    result = registry.submit(built.build())

    assert result.response.status is ResponseStatus.SUCCESS, result.response.errors


def test_another_authority_is_another_patient(engine: Engine) -> None:
    registry = registry_for(engine)
    registry.patients.feed(INS)

    result = registry.submit(submission("279035121518989^^^&1.2.3.4&ISO").build())

    assert [e.code.value for e in result.response.errors] == ["XDSUnknownPatientId"]


def test_a_record_opened_with_one_spelling_admits_the_other(engine: Engine) -> None:
    registry = registry_for(engine)
    registry.patients.feed(INS + "^NH")
    registry.records.open(INS, consent_by="test")
    assert registry.records.state(INS + "^NH").is_open


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migration_0006_keys_stored_patients_and_merges_two_spellings(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with empty_engine(backend, tmp_path, request) as engine:
        migrate(engine, "0005")
        now = datetime(2024, 1, 1, tzinfo=UTC)
        with engine.begin() as conn:
            for patient in (INS + "^NH", INS, "OLD^^^&1.2.3&ISO^PI"):
                conn.execute(
                    text(
                        "INSERT INTO patients (patient_id, created_at, updated_at) "
                        "VALUES (:p, :t, :t)"
                    ),
                    {"p": patient, "t": now},
                )
            conn.execute(
                text("UPDATE patients SET merged_into = :s WHERE patient_id = :m"),
                {"s": INS + "^NH", "m": "OLD^^^&1.2.3&ISO^PI"},
            )
            conn.execute(
                text(
                    "INSERT INTO records (patient_id, status, consent_by, consent_at, "
                    "emergency_opposition, updated_at) VALUES (:p, 'open', 'x', :t, false, :t)"
                ),
                {"p": INS + "^NH", "t": now},
            )
        migrate(engine)
        with engine.connect() as conn:
            patients = conn.execute(
                text("SELECT patient_id, merged_into FROM patients ORDER BY patient_id")
            ).all()
            records = conn.execute(text("SELECT patient_id FROM records")).all()
        assert [tuple(row) for row in patients] == [
            (INS, None),
            ("OLD^^^&1.2.3&ISO", INS),
        ]
        assert [row[0] for row in records] == [INS]
        registry = registry_for(engine)
        assert registry.patients.is_known(INS + "^NH")
        assert registry.patients.resolve("OLD^^^&1.2.3&ISO") == INS
