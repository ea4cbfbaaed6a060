"""ITI-42 and ITI-18 through the WSGI app against a real Registry on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_fixtures import PATIENT, Submission, migrated_engine, new_registry
from soap_support import NS, QUERY, REGISTER, call, envelope

from ebrim.render import render_submit_objects_request
from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest, render_adhoc_query_request
from ebrim.vocabulary import AvailabilityStatus, ReturnType
from registry import Registry
from soap import make_app

PATH = "/xds/registry"
EXAMPLE_PATIENT = "SELF-5^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"
QUERY_NS = {**NS, "query": "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"}


@pytest.fixture
def registry(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Registry]:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        yield new_registry(engine, PATIENT, EXAMPLE_PATIENT)


@pytest.fixture
def app(registry):
    return make_app(registry=registry)


def _register(app, submission: Submission):
    return call(app, PATH, envelope(REGISTER, render_submit_objects_request(submission.build())))


def _query(app, return_type: ReturnType = ReturnType.LEAF_CLASS, patient: str = PATIENT):
    query = FindDocumentsQuery(patient_id=patient, statuses=(AvailabilityStatus.APPROVED.value,))
    request = StoredQueryRequest(query=query, return_type=return_type)
    return call(app, PATH, envelope(QUERY, render_adhoc_query_request(request)))


def test_iti42_registers_and_answers_success(app, xsd_valid):
    submission = Submission()
    submission.add()
    answer = _register(app, submission)
    assert answer.status == 200
    assert answer.header("Action") == f"{REGISTER}Response"
    response = answer.payload()
    assert response.get("status").endswith(":Success")
    xsd_valid(response, "rs")


def test_iti42_official_example_gets_its_metadata_errors_as_an_answer(app, ihe_example):
    # The ITI example lacks hash, size and repositoryUniqueId and has a non-OID sourceId.
    answer = call(app, PATH, ihe_example("XDS.b_RegisterDocumentSet-bRequest_SOAP.xml"))
    assert answer.status == 200
    response = answer.payload()
    assert response.get("status").endswith(":Failure")
    codes = {e.get("errorCode") for e in response.iterfind(".//rs:RegistryError", NS)}
    assert codes == {"XDSRegistryMetadataError"}


def test_iti42_unknown_patient_is_a_registry_error_not_a_fault(app):
    submission = Submission(patient="1^^^&1.2.3.9&ISO")
    submission.add()
    answer = _register(app, submission)
    assert answer.status == 200
    codes = [e.get("errorCode") for e in answer.payload().iterfind(".//rs:RegistryError", NS)]
    assert "XDSUnknownPatientId" in codes


def test_iti42_unreadable_metadata_is_a_registry_metadata_error(app):
    body = b'<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"/>'
    answer = call(app, PATH, envelope(REGISTER, body))
    assert answer.payload().get("status").endswith(":Failure")
    codes = [e.get("errorCode") for e in answer.payload().iterfind(".//rs:RegistryError", NS)]
    assert codes == ["XDSRegistryMetadataError"]


def test_iti18_finds_registered_documents_leaf_class(app, xsd_valid):
    submission = Submission()
    doc = submission.add()
    _register(app, submission)
    answer = _query(app)
    assert answer.header("Action") == f"{QUERY}Response"
    response = answer.payload()
    assert response.tag == "{urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0}AdhocQueryResponse"
    assert response.get("status").endswith(":Success")
    ids = response.findall(".//{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}ExternalIdentifier")
    assert doc.unique_id in [i.get("value") for i in ids]
    xsd_valid(response, "query")


def test_iti18_object_ref_answer(app, xsd_valid):
    submission = Submission()
    submission.add()
    _register(app, submission)
    response = _query(app, ReturnType.OBJECT_REF).payload()
    refs = response.findall(".//{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}ObjectRef")
    assert len(refs) == 1
    xsd_valid(response, "query")


def test_iti18_rejected_query_is_a_failure_response_not_a_fault(app, xsd_valid):
    body = (
        b'<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"'
        b' xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">'
        b'<query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>'
        b'<rim:AdhocQuery id="urn:uuid:00000000-0000-0000-0000-000000000000"/>'
        b"</query:AdhocQueryRequest>"
    )
    answer = call(app, PATH, envelope(QUERY, body))
    assert answer.status == 200
    response = answer.payload()
    assert response.get("status").endswith(":Failure")
    codes = [e.get("errorCode") for e in response.iterfind(".//rs:RegistryError", NS)]
    assert codes == ["XDSUnknownStoredQuery"]
    xsd_valid(response, "query")


def test_iti18_official_example_gets_its_query_errors_as_an_answer(app, ihe_example):
    # The ITI example uses typographic quotes and a ResponseStatusType as a document status.
    answer = call(app, PATH, ihe_example("XDS.b_RegistryStoredQueryRequest_SOAP.xml"))
    assert answer.status == 200
    assert answer.payload().get("status").endswith(":Failure")
    codes = {e.get("errorCode") for e in answer.payload().iterfind(".//rs:RegistryError", NS)}
    assert codes == {"XDSRegistryError"}


def test_access_log_names_action_patient_and_status(app, caplog):
    submission = Submission()
    submission.add()
    with caplog.at_level("INFO", logger="soap.access"):
        _register(app, submission)
    record = next(r for r in caplog.records if r.name == "soap.access")
    assert record.action == REGISTER  # type: ignore[attr-defined]
    assert record.patient_id == PATIENT  # type: ignore[attr-defined]
    assert record.status == "Success"  # type: ignore[attr-defined]
    assert "duration_ms=" in record.getMessage()
