"""ITI-8 Patient Identity Feed applied to the registry's patients (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from feed_messages import (
    INS_PATIENT,
    NIR_DOMAIN,
    NIST_DOMAIN,
    NIST_PATIENT,
    NIST_SURVIVOR,
    adt,
    fields,
    message,
    patients_on,
)
from registry_fixtures import BACKENDS

from registry import Patients, RegistrySettings
from registry.feed import handle_message

NIST = RegistrySettings(patient_id_domains=(NIST_DOMAIN,))
DMP = RegistrySettings(patient_id_domains=(NIR_DOMAIN, "1.2.250.1.213.1.4.9"))
ANY_DOMAIN = RegistrySettings()
OTHER = f"99999^^^&{NIST_DOMAIN}&ISO"


@pytest.fixture(params=BACKENDS)
def patients(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Patients]:
    with patients_on(request.param, tmp_path, request) as patients:
        yield patients


def ack_code(ack: str) -> str:
    return fields(ack, "MSA")[1]


def error_code(ack: str) -> str:
    return fields(ack, "ERR")[1].split("^")[3].split("&")[0]


@pytest.mark.parametrize("event", ["A01", "A04", "A05"])
def test_admit_register_and_preadmit_create_the_patient(patients: Patients, event: str) -> None:
    ack = handle_message(patients, adt(event, NIST_PATIENT), NIST)

    assert ack_code(ack) == "AA"
    assert patients.is_known(NIST_PATIENT)
    assert patients.demographics(NIST_PATIENT) == {
        "name": "ALPHA^ALAN",
        "birth_date": "19561208",
        "sex": "M",
    }


def test_nist_a01_feed_creates_the_patient(patients: Patients) -> None:
    ack = handle_message(patients, message("nist_adt_a01.hl7"), NIST)

    assert ack_code(ack) == "AA"
    assert patients.is_known(NIST_PATIENT)


def test_a01_of_a_known_patient_refreshes_its_demographics(patients: Patients) -> None:
    handle_message(patients, adt("A01", NIST_PATIENT), NIST)

    ack = handle_message(patients, adt("A01", NIST_PATIENT, name="ALPHA^ALLAN"), NIST)

    assert ack_code(ack) == "AA"
    assert patients.demographics(NIST_PATIENT) == {
        "name": "ALPHA^ALLAN",
        "birth_date": "19561208",
        "sex": "M",
    }


def test_ins_feed_stores_the_nir_with_its_type_code(patients: Patients) -> None:
    raw = message("ins_adt_a04.hl7").encode("latin-1")

    ack = handle_message(patients, raw, DMP)

    assert ack_code(ack) == "AA"
    assert patients.is_known(INS_PATIENT)
    assert patients.demographics(INS_PATIENT) == {
        "name": "DUPONT^HÉLÈNE",
        "birth_date": "19790315",
        "sex": "F",
    }


def test_local_identifier_outside_the_domain_is_ignored(patients: Patients) -> None:
    handle_message(patients, message("ins_adt_a04.hl7"), DMP)

    assert not patients.is_known("123456^^^&1.2.250.1.71.4.2.7.999999&ISO^PI")


def test_the_identifier_of_the_domain_is_taken_among_repetitions(patients: Patients) -> None:
    pid3 = f"LOCAL1^^^HOSP&1.2.3.99&ISO^PI~778899^^^&{NIST_DOMAIN}&ISO~X^^^&1.2.3.98&ISO"

    ack = handle_message(patients, adt("A01", pid3), NIST)

    assert ack_code(ack) == "AA"
    assert patients.is_known(f"778899^^^&{NIST_DOMAIN}&ISO")
    assert not patients.is_known("LOCAL1^^^&1.2.3.99&ISO^PI")


def test_without_configured_domains_the_first_iso_identifier_is_taken(
    patients: Patients,
) -> None:
    pid3 = "LOCAL1^^^HOSP~555^^^HOSP&1.2.3.99&ISO^PI~666^^^&1.2.3.98&ISO"

    ack = handle_message(patients, adt("A04", pid3), ANY_DOMAIN)

    assert ack_code(ack) == "AA"
    assert patients.is_known("555^^^&1.2.3.99&ISO^PI")
    assert not patients.is_known("666^^^&1.2.3.98&ISO")


@pytest.mark.parametrize(
    "pid3",
    [
        "12345^^^&1.2.3.99&ISO",  # another domain
        f"12345^^^&{NIST_DOMAIN}&L",  # authority not an ISO OID
        "12345^^^HOSP",  # namespace only
        f"^^^&{NIST_DOMAIN}&ISO",  # no id number
    ],
)
def test_no_identifier_in_the_domain_is_an_application_error(patients: Patients, pid3: str) -> None:
    ack = handle_message(patients, adt("A01", pid3), NIST)

    assert ack_code(ack) == "AE"
    assert error_code(ack) == "204"
    assert fields(ack, "ERR")[1].startswith("PID^1^3^")
    assert not patients.is_known(f"12345^^^&{NIST_DOMAIN}&ISO")


def test_empty_pid3_is_a_required_field_error(patients: Patients) -> None:
    ack = handle_message(patients, adt("A01", ""), NIST)

    assert (ack_code(ack), error_code(ack)) == ("AE", "101")


def test_a08_updates_a_known_patient(patients: Patients) -> None:
    handle_message(patients, adt("A01", NIST_PATIENT), NIST)

    ack = handle_message(patients, adt("A08", NIST_PATIENT, name="ALPHA^ALAN^B"), NIST)

    assert ack_code(ack) == "AA"
    assert patients.demographics(NIST_PATIENT) == {
        "name": "ALPHA^ALAN^B",
        "birth_date": "19561208",
        "sex": "M",
    }


def test_a08_of_an_unknown_patient_is_an_application_error(patients: Patients) -> None:
    ack = handle_message(patients, adt("A08", NIST_PATIENT), NIST)

    assert (ack_code(ack), error_code(ack)) == ("AE", "204")
    assert not patients.is_known(NIST_PATIENT)


def test_a40_merges_the_mrg_id_into_the_pid_id(patients: Patients) -> None:
    handle_message(patients, message("nist_adt_a01.hl7"), NIST)
    handle_message(patients, adt("A01", NIST_SURVIVOR, control_id="MSG-2"), NIST)

    ack = handle_message(patients, message("nist_adt_a40.hl7"), NIST)

    assert ack_code(ack) == "AA"
    assert patients.resolve(NIST_PATIENT) == NIST_SURVIVOR
    assert not patients.is_known(NIST_PATIENT)
    assert patients.is_known(NIST_SURVIVOR)


def test_a40_of_an_unknown_merged_id_records_it_as_merged(patients: Patients) -> None:
    handle_message(patients, adt("A01", NIST_SURVIVOR), NIST)

    ack = handle_message(patients, adt("A40", NIST_SURVIVOR, mrg1=NIST_PATIENT), NIST)

    assert ack_code(ack) == "AA"
    assert patients.resolve(NIST_PATIENT) == NIST_SURVIVOR


def test_a40_into_an_unknown_surviving_id_is_an_application_error(patients: Patients) -> None:
    handle_message(patients, adt("A01", NIST_PATIENT), NIST)

    ack = handle_message(patients, adt("A40", NIST_SURVIVOR, mrg1=NIST_PATIENT), NIST)

    assert (ack_code(ack), error_code(ack)) == ("AE", "204")
    assert patients.is_known(NIST_PATIENT)


def test_a40_takes_the_domain_identifier_of_mrg1(patients: Patients) -> None:
    handle_message(patients, adt("A01", NIST_SURVIVOR), NIST)
    mrg1 = f"L-1^^^HOSP&1.2.3.99&ISO~a8ec5d7c4e1f44f^^^&{NIST_DOMAIN}&ISO"

    ack = handle_message(patients, adt("A40", NIST_SURVIVOR, mrg1=mrg1), NIST)

    assert ack_code(ack) == "AA"
    assert patients.resolve(NIST_PATIENT) == NIST_SURVIVOR


def test_a40_without_mrg_is_an_application_error(patients: Patients) -> None:
    handle_message(patients, adt("A01", NIST_SURVIVOR), NIST)

    ack = handle_message(patients, adt("A40", NIST_SURVIVOR), NIST)

    assert (ack_code(ack), error_code(ack)) == ("AE", "100")


def test_a40_with_mrg1_outside_the_domain_is_an_application_error(patients: Patients) -> None:
    handle_message(patients, adt("A01", NIST_SURVIVOR), NIST)

    ack = handle_message(patients, adt("A40", NIST_SURVIVOR, mrg1="L-1^^^&1.2.3.99&ISO"), NIST)

    assert (ack_code(ack), error_code(ack)) == ("AE", "204")
    assert fields(ack, "ERR")[1].startswith("MRG^1^1^")


def test_a40_of_an_id_into_itself_is_an_application_error(patients: Patients) -> None:
    handle_message(patients, adt("A01", NIST_SURVIVOR), NIST)

    ack = handle_message(patients, adt("A40", NIST_SURVIVOR, mrg1=NIST_SURVIVOR), NIST)

    assert ack_code(ack) == "AE"
    assert patients.is_known(NIST_SURVIVOR)


def test_merged_id_fed_again_still_answers_under_the_survivor(patients: Patients) -> None:
    handle_message(patients, adt("A01", NIST_PATIENT), NIST)
    handle_message(patients, adt("A01", NIST_SURVIVOR), NIST)
    handle_message(patients, adt("A40", NIST_SURVIVOR, mrg1=NIST_PATIENT), NIST)

    handle_message(patients, adt("A01", NIST_PATIENT), NIST)

    assert patients.resolve(NIST_PATIENT) == NIST_SURVIVOR


def test_rejected_messages_change_nothing(patients: Patients) -> None:
    for raw in (adt("A03", OTHER), adt("A01", OTHER, message_type="ORU"), "garbage"):
        handle_message(patients, raw, NIST)

    assert patients.resolve(OTHER) is None
