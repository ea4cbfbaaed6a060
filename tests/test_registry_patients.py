"""Patient identities: feed, update, merge, and what registration makes of them."""

from __future__ import annotations

import pytest
from registry_fixtures import (
    OTHER_PATIENT,
    PATIENT,
    Submission,
    codes_of,
    new_registry,
)
from sqlalchemy import Engine

from ebrim.model import DocumentEntry
from ebrim.vocabulary import ResponseStatus
from registry import PatientError, Patients, Registry

SURVIVOR = "1111111111^^^&1.2.3.4.5&ISO"


@pytest.fixture
def patients(engine: Engine) -> Patients:
    return Patients(engine)


def test_fed_patient_is_known(patients: Patients) -> None:
    assert not patients.is_known(PATIENT)

    assert patients.feed(PATIENT, {"name": "DOE^JOHN"}) is True

    assert patients.is_known(PATIENT)
    assert patients.resolve(PATIENT) == PATIENT
    assert patients.demographics(PATIENT) == {"name": "DOE^JOHN"}


def test_feeding_a_known_patient_updates_it(patients: Patients) -> None:
    patients.feed(PATIENT, {"name": "DOE^JOHN"})

    assert patients.feed(PATIENT, {"name": "DOE^JOHNNY"}) is False

    assert patients.demographics(PATIENT) == {"name": "DOE^JOHNNY"}


def test_update_changes_demographics(patients: Patients) -> None:
    patients.feed(PATIENT)

    patients.update(PATIENT, {"sex": "M"})

    assert patients.demographics(PATIENT) == {"sex": "M"}


def test_update_of_an_unknown_patient_is_refused(patients: Patients) -> None:
    with pytest.raises(PatientError, match="unknown"):
        patients.update(PATIENT, {"sex": "M"})


def test_unknown_patient_resolves_to_none(patients: Patients) -> None:
    assert patients.resolve(PATIENT) is None


def test_merged_id_answers_under_the_surviving_id(patients: Patients) -> None:
    patients.feed(PATIENT)
    patients.feed(SURVIVOR)

    patients.merge(PATIENT, SURVIVOR)

    assert patients.resolve(PATIENT) == SURVIVOR
    assert not patients.is_known(PATIENT)
    assert patients.is_known(SURVIVOR)


def test_merge_follows_earlier_merges(patients: Patients) -> None:
    for pid in (PATIENT, OTHER_PATIENT, SURVIVOR):
        patients.feed(pid)
    patients.merge(PATIENT, OTHER_PATIENT)

    patients.merge(OTHER_PATIENT, SURVIVOR)

    assert patients.resolve(PATIENT) == SURVIVOR
    assert patients.resolve(OTHER_PATIENT) == SURVIVOR


def test_merge_into_an_unknown_patient_is_refused(patients: Patients) -> None:
    patients.feed(PATIENT)
    with pytest.raises(PatientError, match="unknown"):
        patients.merge(PATIENT, SURVIVOR)


def test_merge_moves_registered_objects_to_the_survivor(engine: Engine) -> None:
    registry = new_registry(engine, PATIENT, SURVIVOR)
    submission = Submission()
    doc = submission.add()
    ids = registry.submit(submission.build()).ids

    registry.patients.merge(PATIENT, SURVIVOR)

    stored = registry.get(ids[doc.entry_uuid])
    assert isinstance(stored, DocumentEntry)
    assert stored.patient_id == SURVIVOR
    assert registry.get(ids["SubmissionSet01"]).patient_id == SURVIVOR  # type: ignore[union-attr]


def test_register_refuses_a_merged_patient_id(engine: Engine) -> None:
    registry = new_registry(engine, PATIENT, SURVIVOR)
    registry.patients.merge(PATIENT, SURVIVOR)
    submission = Submission()
    submission.add()

    response = registry.register(submission.build())

    assert codes_of(response) == ["XDSUnknownPatientId"]
    assert SURVIVOR in response.errors[0].message


def test_register_accepts_the_surviving_id(engine: Engine) -> None:
    registry: Registry = new_registry(engine, PATIENT, SURVIVOR)
    registry.patients.merge(PATIENT, SURVIVOR)
    submission = Submission(patient=SURVIVOR)
    submission.add()

    assert registry.register(submission.build()).status is ResponseStatus.SUCCESS
