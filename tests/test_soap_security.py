"""The WS-Security layer in process: the assertion in the header, the patient of each
transaction, each refusal mapped to its WSS 1.0 fault, the modes, the proxy identity."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from registry_fixtures import Submission, migrated_engine, new_registry
from security_support import (
    CERT_HEADER,
    INS,
    OTHER_INS,
    DevPki,
    make_pki,
    proxy_header,
    vihf,
)
from soap_support import NS, QUERY, REGISTER, call, envelope

from ebrim.peek import query_patient_id, submission_patient_id
from ebrim.profile import Profile
from ebrim.render import render_submit_objects_request
from ebrim.storedquery import (
    FindDocumentsQuery,
    GetAllQuery,
    GetDocumentsQuery,
    StoredQueryRequest,
    render_adhoc_query_request,
)
from ebrim.vocabulary import AvailabilityStatus
from ebrim.xdsb import render_provide_and_register_request
from pki._files import read_cert
from pki.assertion import (
    AssertionVerifier,
    AuthenticationMode,
    ReplayCache,
    ReplayCacheFull,
    Requester,
)
from pki.assertion import errors as rejected
from registry import Registry
from soap import make_app
from soap.client.security import security_header
from soap.faults import WSSE, FaultCode, SoapFault
from soap.security import SecurityFault, fault_for, find_assertion, read_security
from soap.settings import SecurityMode, SoapSettings

PATH = "/xds/registry"
APPROVED = (AvailabilityStatus.APPROVED.value,)
PROXY = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("wss"))


@pytest.fixture
def registry(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Registry]:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        yield new_registry(engine, INS, OTHER_INS)


def verifier(pki: DevPki, **kwargs: Any) -> AssertionVerifier:
    return AssertionVerifier(
        [read_cert(pki.ca.root_cert)],
        intermediates=[read_cert(pki.ca.intermediate_cert)],
        replay_cache=kwargs.pop("replay_cache", ReplayCache()),
        **kwargs,
    )


def secured_app(
    registry: Registry, pki: DevPki, mode: SecurityMode = SecurityMode.REQUIRED, **kwargs: Any
):
    settings = SoapSettings(
        security=mode, client_cert_header=CERT_HEADER, trusted_proxies=("127.0.0.1",)
    )
    kwargs.setdefault("profile", Profile.DMP)
    return make_app(registry=registry, settings=settings, verifier=verifier(pki, **kwargs))


def as_hospital(pki: DevPki, address: str = "127.0.0.1") -> dict[str, str]:
    """The environ a trusted proxy gives: the hospital's TLS certificate in the header."""
    return {"REMOTE_ADDR": address, "HTTP_X_SSL_CLIENT_CERT": proxy_header(pki.hospital.tls_cert)}


def query_request(patient: str = INS) -> etree._Element:
    return render_adhoc_query_request(
        StoredQueryRequest(FindDocumentsQuery(patient_id=patient, statuses=APPROVED))
    )


def secured_query(assertion: etree._Element | None, patient: str = INS) -> bytes:
    extra = "" if assertion is None else etree.tostring(security_header(assertion)).decode()
    return envelope(QUERY, query_request(patient), extra=extra)


def wsse_subcodes(answer) -> list[str]:
    return answer.fault_codes()[1:]


# --- the header ---------------------------------------------------------------------------


def test_assertion_found_in_the_security_header(pki: DevPki) -> None:
    assertion = vihf(pki)
    assert find_assertion([security_header(assertion)]) is assertion


def test_no_security_header_means_no_assertion() -> None:
    assert find_assertion([etree.Element("{urn:other}Header")]) is None


def test_two_security_headers_refused(pki: DevPki) -> None:
    blocks = [security_header(vihf(pki)), security_header(vihf(pki))]
    with pytest.raises(SoapFault) as caught:
        find_assertion(blocks)
    assert caught.value.subcodes == (f"{{{WSSE}}}InvalidSecurity",)


def test_two_assertions_in_one_security_header_refused(pki: DevPki) -> None:
    block = security_header(vihf(pki))
    block.append(vihf(pki))
    with pytest.raises(SoapFault):
        find_assertion([block])


def test_verified_requester_is_returned(pki: DevPki) -> None:
    requester = read_security(
        [security_header(vihf(pki))],
        mode=SecurityMode.REQUIRED,
        verifier=verifier(pki, profile=Profile.GENERIC),
        client=None,
        payload=query_request(),
        patient_of=query_patient_id,
    )
    assert isinstance(requester, Requester)
    assert requester.professional_id == "899700218896"


# --- the patient of each transaction --------------------------------------------------------


def _submission() -> Submission:
    submission = Submission(patient=INS)
    submission.add()
    return submission


def test_patient_of_iti42_is_the_submission_set_patient() -> None:
    element = render_submit_objects_request(_submission().build())
    assert submission_patient_id(element) == INS


def test_patient_of_iti41_is_the_submission_set_patient() -> None:
    metadata = _submission().build()
    element = render_provide_and_register_request(
        metadata, {metadata.documents[0].entry_uuid: "doc@test"}
    )
    assert submission_patient_id(element) == INS


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (FindDocumentsQuery(patient_id=INS, statuses=APPROVED), INS),
        (
            GetAllQuery(
                patient_id=INS,
                document_statuses=APPROVED,
                submission_set_statuses=APPROVED,
                folder_statuses=APPROVED,
            ),
            INS,
        ),
        (GetDocumentsQuery(unique_ids=("1.2.3",)), None),
    ],
    ids=["FindDocuments", "GetAll", "GetDocuments"],
)
def test_patient_of_iti18_is_the_query_patient_parameter(query: Any, expected: str | None) -> None:
    assert query_patient_id(render_adhoc_query_request(StoredQueryRequest(query))) == expected


def test_patient_of_something_else_is_none() -> None:
    assert submission_patient_id(etree.Element("{urn:other}Request")) is None
    assert query_patient_id(etree.Element("{urn:other}Request")) is None


# --- fault mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (rejected.MalformedAssertion, SecurityFault.INVALID_SECURITY_TOKEN),
        (rejected.UnsignedAssertion, SecurityFault.INVALID_SECURITY_TOKEN),
        (rejected.WrappedAssertion, SecurityFault.FAILED_CHECK),
        (rejected.InvalidSignature, SecurityFault.FAILED_CHECK),
        (rejected.DisallowedAlgorithm, SecurityFault.UNSUPPORTED_ALGORITHM),
        (rejected.UntrustedCertificate, SecurityFault.FAILED_AUTHENTICATION),
        (rejected.IssuerMismatch, SecurityFault.FAILED_AUTHENTICATION),
        (rejected.ExpiredAssertion, SecurityFault.MESSAGE_EXPIRED),
        (rejected.NotYetValid, SecurityFault.MESSAGE_EXPIRED),
        (rejected.StaleAssertion, SecurityFault.MESSAGE_EXPIRED),
        (rejected.ReplayedAssertion, SecurityFault.FAILED_AUTHENTICATION),
        (rejected.InvalidAttribute, SecurityFault.INVALID_SECURITY_TOKEN),
        (rejected.MissingAttribute, SecurityFault.INVALID_SECURITY_TOKEN),
        (rejected.StructureMismatch, SecurityFault.FAILED_AUTHENTICATION),
        (rejected.PatientMismatch, SecurityFault.FAILED_AUTHENTICATION),
    ],
)
def test_each_refusal_is_a_sender_fault_with_its_wss_code(
    exception: type[rejected.AssertionRejected], code: SecurityFault
) -> None:
    fault = fault_for(exception("why"))
    assert fault.code is FaultCode.SENDER
    assert fault.subcodes == (f"{{{WSSE}}}{code.value}",)
    assert exception.__name__ in fault.reason and "why" in fault.reason
    assert fault.http_status == 400


def test_full_replay_cache_is_a_receiver_fault() -> None:
    fault = fault_for(ReplayCacheFull("full"))
    assert fault.code is FaultCode.RECEIVER
    assert fault.subcodes == ()


def test_every_refusal_class_has_a_mapping() -> None:
    def leaves(kind: type) -> list[type]:
        return [kind, *(sub for child in kind.__subclasses__() for sub in leaves(child))]

    for kind in leaves(rejected.AssertionRejected)[1:]:
        assert fault_for(kind("x")).subcodes != (f"{{{WSSE}}}InvalidSecurity",), kind


# --- through the application ------------------------------------------------------------


def test_valid_assertion_is_served_and_logged(registry, pki, caplog) -> None:
    registry.records.open(INS, consent_by="the patient")
    registry.records.grant(INS, "899700218896", by="the patient")
    app = secured_app(registry, pki)
    assertion = vihf(pki, authentication_mode=AuthenticationMode.DIRECT)
    with caplog.at_level(logging.INFO, logger="soap.access"):
        answer = call(app, PATH, secured_query(assertion), environ=as_hospital(pki))
    assert answer.status == 200, answer.body
    assert answer.payload().get("status").endswith(":Success")
    line = next(r.getMessage() for r in caplog.records if r.name == "soap.access")
    assert "professional=899700218896" in line and f"structure={pki.hospital.structure_id}" in line


def test_valid_assertion_without_authorisation_is_refused_by_the_policy(registry, pki) -> None:
    registry.records.open(INS, consent_by="the patient")
    assertion = vihf(pki, authentication_mode=AuthenticationMode.DIRECT)
    answer = call(
        secured_app(registry, pki), PATH, secured_query(assertion), environ=as_hospital(pki)
    )
    assert answer.payload().get("status").endswith(":Failure")
    assert b"LocalPolicyRestrictionError" in answer.body


def test_required_without_assertion_is_refused(registry, pki) -> None:
    answer = call(secured_app(registry, pki), PATH, secured_query(None), environ=as_hospital(pki))
    assert answer.status == 400
    assert wsse_subcodes(answer) == ["wsse:InvalidSecurity"]
    assert "required" in answer.xml.findtext(".//env:Reason/env:Text", namespaces=NS)


def test_optional_without_assertion_is_served(registry, pki) -> None:
    app = secured_app(registry, pki, SecurityMode.OPTIONAL)
    answer = call(app, PATH, secured_query(None), environ=as_hospital(pki))
    assert answer.status == 200
    assert answer.payload().get("status").endswith(":Success")


def test_optional_with_a_bad_assertion_is_still_refused(registry, pki) -> None:
    app = secured_app(registry, pki, SecurityMode.OPTIONAL)
    answer = call(app, PATH, secured_query(vihf(pki, sign=False)), environ=as_hospital(pki))
    assert wsse_subcodes(answer) == ["wsse:InvalidSecurityToken"]


def test_patient_not_matching_the_query_is_refused(registry, pki) -> None:
    answer = call(
        secured_app(registry, pki),
        PATH,
        secured_query(vihf(pki), patient=OTHER_INS),
        environ=as_hospital(pki),
    )
    assert wsse_subcodes(answer) == ["wsse:FailedAuthentication"]


def test_patient_not_matching_the_submission_is_refused(registry, pki) -> None:
    header = etree.tostring(security_header(vihf(pki, patient_id=OTHER_INS))).decode()
    body = render_submit_objects_request(_submission().build())
    answer = call(
        secured_app(registry, pki),
        PATH,
        envelope(REGISTER, body, extra=header),
        environ=as_hospital(pki),
    )
    assert wsse_subcodes(answer) == ["wsse:FailedAuthentication"]
    assert "PatientMismatch" in answer.xml.findtext(".//env:Reason/env:Text", namespaces=NS)


def test_proxy_header_from_an_untrusted_address_is_ignored(registry, pki) -> None:
    # In the DMP profile a VIHF needs a TLS structure to be held against: none here.
    answer = call(
        secured_app(registry, pki),
        PATH,
        secured_query(vihf(pki)),
        environ=as_hospital(pki, address="10.9.8.7"),
    )
    assert wsse_subcodes(answer) == ["wsse:FailedAuthentication"]
    assert "StructureMismatch" in answer.xml.findtext(".//env:Reason/env:Text", namespaces=NS)


def test_proxy_header_of_another_structure_is_refused(registry, pki) -> None:
    environ = {**PROXY, "HTTP_X_SSL_CLIENT_CERT": proxy_header(pki.revoked.tls_cert)}
    answer = call(secured_app(registry, pki), PATH, secured_query(vihf(pki)), environ=environ)
    assert "StructureMismatch" in answer.xml.findtext(".//env:Reason/env:Text", namespaces=NS)


def test_full_replay_cache_answers_a_receiver_fault(registry, pki) -> None:
    app = secured_app(registry, pki, replay_cache=ReplayCache(capacity=0))
    answer = call(app, PATH, secured_query(vihf(pki)), environ=as_hospital(pki))
    assert answer.status == 500
    assert answer.fault_codes() == ["env:Receiver"]


def test_security_off_does_not_understand_a_mandatory_security_header(registry, pki) -> None:
    answer = call(make_app(registry=registry), PATH, secured_query(vihf(pki)))
    assert answer.fault_codes() == ["env:MustUnderstand"]


def test_security_mode_needs_a_verifier(registry) -> None:
    with pytest.raises(ValueError, match="verifier"):
        make_app(registry=registry, settings=SoapSettings(security=SecurityMode.OPTIONAL))
