"""The access policy through the real SOAP endpoints: `xds serve --tls --security required`.

The patient opens the record and authorises professionals over `/xds/records`; documents
of several typeCodes and confidentiality flags are fed by ITI-41; then each signed VIHF
(profession, authentication mode, purpose of use, authorisation state) sees, through
ITI-18 FindDocuments, exactly what the rules say, or is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import feed, secure_server, submission
from security_support import INS, OTHER_INS, DevPki, make_pki, vihf

from ebrim.storedquery import FindDocumentsQuery, GetAllQuery, StoredQueryRequest
from ebrim.vocabulary import AvailabilityStatus, ResponseStatus, ReturnType
from ebrim.xdsb import DocumentLocator
from pki.assertion import AuthenticationMode, Code, PurposeOfUse
from pki.assertion.names import PROFESSION_SYSTEM
from soap.client import XdsClient
from xds_cli.server import ServerProcess

APPROVED = (AvailabilityStatus.APPROVED.value,)
FLAGS = "1.2.250.1.213.1.1.4.13"
ROLES = "2.16.840.1.113883.5.111"
DOCTOR, PHARMACIST, STRANGER, BLOCKED = (
    "810000000001",
    "820000000001",
    "810000000002",
    "810000000003",
)
PATIENT_ROLE = Code("ONESELF", ROLES)
GUARDIAN_ROLE = Code("GUARD", ROLES)

DOCUMENTS: dict[str, dict[str, Any]] = {
    "summary": {"type_code": "34133-9^Summary^2.16.840.1.113883.6.1"},
    "biology": {"type_code": "11502-2^CR biologie^2.16.840.1.113883.6.1"},
    "dental": {"type_code": "28617-9^Bilan dentaire^2.16.840.1.113883.6.1"},
    "masked": {"extra_confidentiality": (f"MASQUE_PS^MASQUE_PS^{FLAGS}",)},
    "hidden_from_patient": {
        "extra_confidentiality": (f"INVISIBLE_PATIENT^INVISIBLE_PATIENT^{FLAGS}",)
    },
    "secret": {
        "extra_confidentiality": (
            f"INVISIBLE_REPRESENTANTS_LEGAUX^INVISIBLE_REPRESENTANTS_LEGAUX^{FLAGS}",
        )
    },
}
ALL = set(DOCUMENTS)
PROFESSIONAL_VIEW = ALL - {"masked"}


def profession(code: str) -> list[Code]:
    return [Code(code, PROFESSION_SYSTEM)]


def client(server: ServerProcess, pki: DevPki, **fields: Any) -> XdsClient:
    """A client whose every request carries a fresh VIHF with these fields."""
    fields["authentication_mode"] = AuthenticationMode(fields.get("authentication_mode", "DIRECTE"))
    fields["purpose_of_use"] = PurposeOfUse(fields.get("purpose_of_use", "normal"))

    def source(patient: str | None) -> Any:
        return vihf(pki, **{"patient_id": patient or fields.get("patient_id", INS), **fields})

    hospital = pki.hospital
    return XdsClient(
        server.url,
        cert=(hospital.tls_cert, hospital.tls_key),
        verify=pki.ca.chain,
        assertions=source,
        use_zeep=False,
    )


def patient(server: ServerProcess, pki: DevPki, ins: str = INS) -> XdsClient:
    return client(server, pki, professional_id="PATIENT-1", roles=[PATIENT_ROLE], patient_id=ins)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("policy-pki"))


@pytest.fixture(scope="module")
def server(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with secure_server(pki, tmp_path_factory.mktemp("policy-server")) as running:
        feed(running, INS)
        feed(running, OTHER_INS)
        yield running


@pytest.fixture(scope="module")
def world(server: ServerProcess, pki: DevPki) -> dict[str, str]:
    """The record of INS, open, with its documents: name -> uniqueId."""
    records = patient(server, pki).records
    assert records.open(INS).success
    for professional in (DOCTOR, PHARMACIST, BLOCKED):
        assert records.grant(INS, professional).success
    assert records.block(INS, BLOCKED).success
    feeder = client(server, pki, professional_id=DOCTOR, authentication_mode="INDIRECTE")
    unique_ids = {}
    for name, facts in DOCUMENTS.items():
        metadata = submission(INS, **facts)
        entry = metadata.documents[0]
        response = feeder.provide_and_register(metadata, {entry.entry_uuid: b"<doc/>"})
        assert response.status is ResponseStatus.SUCCESS, response
        unique_ids[name] = entry.unique_id
    return unique_ids


def visible(world: dict[str, str], xds: XdsClient, query: Any = None) -> set[str] | str:
    """The names of the documents an ITI-18 answer holds, or the error code it answers."""
    query = query or FindDocumentsQuery(patient_id=INS, statuses=APPROVED)
    answer = xds.query(StoredQueryRequest(query, ReturnType.LEAF_CLASS))
    if answer.response.status is not ResponseStatus.SUCCESS:
        return answer.response.errors[0].code.value
    names = {uid: name for name, uid in world.items()}
    return {names[doc.unique_id] for doc in answer.metadata.documents}


REFUSED = "LocalPolicyRestrictionError"
CASES: dict[str, tuple[dict[str, Any], set[str] | str]] = {
    "authorised doctor, direct": ({"professional_id": DOCTOR}, PROFESSIONAL_VIEW),
    "authorised doctor, indirect": (
        {"professional_id": DOCTOR, "authentication_mode": "INDIRECTE"},
        REFUSED,
    ),
    "authorised doctor, indirect reinforced": (
        {"professional_id": DOCTOR, "authentication_mode": "INDIRECTE_RENFORCEE"},
        PROFESSIONAL_VIEW,
    ),
    "authorised pharmacist: no dental report": (
        {"professional_id": PHARMACIST, "roles": profession("21")},
        PROFESSIONAL_VIEW - {"dental"},
    ),
    "unauthorised doctor": ({"professional_id": STRANGER}, REFUSED),
    "unauthorised doctor, break the glass": (
        {"professional_id": STRANGER, "purpose_of_use": "bris_de_glace"},
        PROFESSIONAL_VIEW,
    ),
    "break the glass needs direct authentication": (
        {
            "professional_id": STRANGER,
            "purpose_of_use": "bris_de_glace",
            "authentication_mode": "INDIRECTE_RENFORCEE",
        },
        REFUSED,
    ),
    "centre 15 needs no authorisation": (
        {"professional_id": STRANGER, "purpose_of_use": "centre_15"},
        PROFESSIONAL_VIEW,
    ),
    "centre 15, indirect": (
        {
            "professional_id": STRANGER,
            "purpose_of_use": "centre_15",
            "authentication_mode": "INDIRECTE",
        },
        REFUSED,
    ),
    "blocked professional": ({"professional_id": BLOCKED}, REFUSED),
    "blocked professional, break the glass": (
        {"professional_id": BLOCKED, "purpose_of_use": "bris_de_glace"},
        REFUSED,
    ),
    "unknown profession reads nothing": (
        {"professional_id": DOCTOR, "roles": profession("99")},
        set(),
    ),
    "patient": (
        {"professional_id": "PATIENT-1", "roles": [PATIENT_ROLE]},
        ALL - {"hidden_from_patient"},
    ),
    "legal representative": (
        {"professional_id": "GUARDIAN-1", "roles": [GUARDIAN_ROLE]},
        ALL - {"secret", "hidden_from_patient"},  # they act for the patient
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_consultation_rule_over_soap(server, pki, world, case: str) -> None:
    fields, expected = CASES[case]
    assert visible(world, client(server, pki, **fields)) == expected


def _retrieve(xds: XdsClient, unique_id: str, repository: str, folder: Path):
    locator = DocumentLocator(repository, unique_id)
    return xds.retrieve([locator], lambda loc: folder / "doc.bin")


def test_masked_document_leaks_nowhere_over_soap(server, pki, world, tmp_path: Path) -> None:
    doctor = client(server, pki, professional_id=DOCTOR)
    assert "masked" not in visible(world, doctor)  # type: ignore[operator]
    everything = visible(
        world,
        doctor,
        GetAllQuery(
            patient_id=INS,
            document_statuses=APPROVED,
            submission_set_statuses=APPROVED,
            folder_statuses=APPROVED,
        ),
    )
    assert everything == PROFESSIONAL_VIEW
    owner = patient(server, pki).query(
        StoredQueryRequest(FindDocumentsQuery(patient_id=INS, statuses=APPROVED))
    )
    repository = owner.metadata.documents[0].repository_unique_id
    masked = _retrieve(doctor, world["masked"], repository, tmp_path)
    unknown = _retrieve(doctor, "1.2.3.4.404", repository, tmp_path)
    assert masked.documents == unknown.documents == ()

    def shape(answer: Any, uid: str) -> list[tuple[str, str, str]]:
        return [
            (e.code.value, e.message.replace(uid, "?"), e.location.replace(uid, "?"))
            for e in answer.response.errors
        ]

    assert masked.response.status == unknown.response.status
    assert shape(masked, world["masked"]) == shape(unknown, "1.2.3.4.404")
    seen = _retrieve(doctor, world["summary"], repository, tmp_path)
    assert seen.response.status is ResponseStatus.SUCCESS and len(seen.documents) == 1


def test_refused_consultation_refuses_the_retrieve(server, pki, world, tmp_path: Path) -> None:
    stranger = client(server, pki, professional_id=STRANGER)
    answer = _retrieve(stranger, world["summary"], "1.2.3", tmp_path)
    assert answer.response.status is ResponseStatus.FAILURE
    assert [e.code.value for e in answer.response.errors] == [REFUSED]


def test_record_management_over_soap_decides_consultation(server, pki, world) -> None:
    owner = patient(server, pki, OTHER_INS).records
    who = {"professional_id": STRANGER, "patient_id": OTHER_INS}
    query = FindDocumentsQuery(patient_id=OTHER_INS, statuses=APPROVED)
    assert owner.open(OTHER_INS).success
    assert visible(world, client(server, pki, **who), query) == REFUSED
    granted = owner.grant(OTHER_INS, STRANGER)
    assert granted.success and [a.grantee_id for a in granted.authorisations] == [STRANGER]
    assert visible(world, client(server, pki, **who), query) == set()
    assert owner.revoke(OTHER_INS, STRANGER).success
    assert visible(world, client(server, pki, **who), query) == REFUSED
    owner.grant(OTHER_INS, STRANGER)
    blocked = owner.block(OTHER_INS, STRANGER)
    assert blocked.record is not None and blocked.record.blocked == {STRANGER}
    emergency = {**who, "purpose_of_use": "bris_de_glace"}
    assert visible(world, client(server, pki, **emergency), query) == REFUSED
    assert owner.unblock(OTHER_INS, STRANGER).success
    assert visible(world, client(server, pki, **who), query) == set()
    assert owner.oppose_emergency_access(OTHER_INS).record.emergency_opposition  # type: ignore[union-attr]
    assert owner.close(OTHER_INS).success
    assert visible(world, client(server, pki, **who), query) == REFUSED


def test_professional_cannot_manage_the_record(server, pki, world) -> None:
    answer = client(server, pki, professional_id=DOCTOR).records.grant(INS, STRANGER)
    assert not answer.success and answer.error_code == REFUSED
    assert "only the patient" in (answer.error or "")


def test_access_history_over_soap_flags_the_emergency_access(server, pki, world) -> None:
    emergency = client(server, pki, professional_id=STRANGER, purpose_of_use="bris_de_glace")
    assert visible(world, emergency) == PROFESSIONAL_VIEW
    history = patient(server, pki).records.history(INS)
    assert history.success
    flagged = [e for e in history.events if e.emergency and e.professional_id == STRANGER]
    assert flagged and flagged[-1].transaction == "ITI-18"
    assert flagged[-1].purpose_of_use == "bris_de_glace"
    assert any(e.transaction == "records:Grant" for e in history.events)


def test_access_history_hides_secret_accesses_from_legal_representatives(
    server, pki, world, tmp_path: Path
) -> None:
    doctor = client(server, pki, professional_id=DOCTOR)
    assert "secret" in visible(world, doctor)  # type: ignore[operator]
    guardian = client(server, pki, professional_id="GUARDIAN-1", roles=[GUARDIAN_ROLE])
    shown = guardian.records.history(INS)
    full = patient(server, pki).records.history(INS)
    assert shown.success and len(shown.events) < len(full.events)
    assert not any(world["secret"] in e.document_ids for e in shown.events)
    assert any(world["secret"] in e.document_ids for e in full.events)


def test_records_endpoint_serves_no_wsdl(server, pki) -> None:
    import requests

    hospital = pki.hospital
    answer = requests.get(
        f"{server.url}/xds/records?wsdl",
        cert=(str(hospital.tls_cert), str(hospital.tls_key)),
        verify=str(pki.ca.chain),
        timeout=20,
    )
    assert answer.status_code == 404 and re.search("README", answer.text)
