"""MHD over real HTTP: a document submitted with ITI-41 is found with ITI-67 by an FHIR
client nobody here wrote (fhirpy), and retrieved byte-identical with ITI-68.

Every resource returned is held against the FHIR R4B models of `fhir.resources`.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests
from dicom_audit import assert_dicom_audit_valid
from e2e_support import PATIENT, feed, submission
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.list import List as FhirList
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhirpy import SyncFHIRClient
from lxml import etree

from atna.message import AuditSource, render_audit_message
from ebrim.model import Association, Metadata
from ebrim.storedquery import GetDocumentsQuery, GetSubmissionSetsQuery, StoredQueryRequest
from ebrim.vocabulary import AssociationType, AvailabilityStatus
from ebrim.xdsb import DocumentLocator
from registry import create_engine_for
from registry.audit import AuditEvent, events_after
from soap.client import XdsClient
from xds_cli.server import ServerProcess

PATIENT_OID = "1.3.6.1.4.1.21367.13.20.1000"
PATIENT_TOKEN = f"urn:oid:{PATIENT_OID}|E2E-1"
TIMEOUT = 20


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    """`xds serve` on SQLite, and on PostgreSQL in a schema of its own."""
    args: list[str] = []
    schema = f"mhd_{uuid.uuid4().hex[:12]}"
    admin = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        admin = psycopg2.connect(url)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        args = ["--database", url, "--database-schema", schema]
    try:
        with ServerProcess(tmp_path_factory.mktemp("mhd-e2e"), args=args) as running:
            feed(running)
            yield running
    finally:
        if admin is not None:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
            admin.close()


@pytest.fixture(scope="module")
def published(server: ServerProcess) -> tuple[Metadata, bytes]:
    """One PDF and one CDA-like text document, registered over ITI-41."""
    content = b"%PDF-1.4 " + os.urandom(3000)
    metadata = submission(mime_type="application/pdf", title="Compte rendu MHD")
    client = XdsClient(server.url, timeout=(5, TIMEOUT))
    response = client.provide_and_register(metadata, {metadata.documents[0].entry_uuid: content})
    assert response.status.name == "SUCCESS", response.errors
    return metadata, content


@pytest.fixture(scope="module")
def fhir(server: ServerProcess) -> SyncFHIRClient:
    return SyncFHIRClient(f"{server.url}/fhir", extra_headers={"Accept": "application/fhir+json"})


def get(server: ServerProcess, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{server.url}{path}", params=params, timeout=TIMEOUT)


def test_iti67_finds_what_iti41_registered_and_iti68_returns_its_bytes(
    server: ServerProcess, fhir: SyncFHIRClient, published: tuple[Metadata, bytes]
) -> None:
    metadata, content = published
    unique_id = metadata.documents[0].unique_id

    found = (
        fhir.resources("DocumentReference")
        .search(**{"patient.identifier": PATIENT_TOKEN, "status": "current"})
        .fetch_all()
    )

    matching = [r for r in found if r["masterIdentifier"]["value"] == f"urn:oid:{unique_id}"]
    assert len(matching) == 1
    reference = DocumentReference.model_validate(matching[0].serialize())
    assert reference.status == "current"
    attachment = reference.content[0].attachment
    assert attachment.contentType == "application/pdf"
    assert attachment.size == len(content)
    wire_hash = matching[0]["content"][0]["attachment"]["hash"]  # base64 of the SHA-1
    assert wire_hash == base64.b64encode(hashlib.sha1(content).digest()).decode()
    assert attachment.title == "Compte rendu MHD"
    assert reference.subject.identifier.value == "E2E-1"
    assert reference.subject.identifier.system == f"urn:oid:{PATIENT_OID}"

    retrieved = requests.get(attachment.url, timeout=TIMEOUT)
    assert retrieved.status_code == 200
    assert retrieved.headers["Content-Type"] == "application/pdf"
    assert retrieved.content == content


def test_the_read_by_id_and_the_search_bundle_are_valid_fhir(
    server: ServerProcess, published: tuple[Metadata, bytes]
) -> None:
    answer = get(
        server,
        "/fhir/DocumentReference",
        **{"patient.identifier": PATIENT_TOKEN, "status": "current"},
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(answer.json())
    assert bundle.type == "searchset" and bundle.total >= 1
    first = bundle.entry[0]
    assert first.fullUrl.startswith(f"{server.url}/fhir/DocumentReference/")

    read = requests.get(first.fullUrl, timeout=TIMEOUT)
    assert read.status_code == 200
    assert DocumentReference.model_validate(read.json()).id == first.resource.id


def test_search_by_post_and_by_identifier(
    server: ServerProcess, published: tuple[Metadata, bytes]
) -> None:
    metadata, _ = published
    unique_id = metadata.documents[0].unique_id
    form = {
        "patient.identifier": PATIENT_TOKEN,
        "status": "current,superseded",
        "identifier": f"urn:ietf:rfc:3986|urn:oid:{unique_id}",
    }
    answer = requests.post(
        f"{server.url}/fhir/DocumentReference/_search", data=form, timeout=TIMEOUT
    )

    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["total"] == 1
    assert bundle["entry"][0]["resource"]["masterIdentifier"]["value"] == f"urn:oid:{unique_id}"


def test_codes_filter_by_system_and_code(
    server: ServerProcess, published: tuple[Metadata, bytes]
) -> None:
    base = {"patient.identifier": PATIENT_TOKEN, "status": "current"}
    loinc = get(server, "/fhir/DocumentReference", **base, category="http://loinc.org|11490-0")
    other = get(server, "/fhir/DocumentReference", **base, category="http://loinc.org|00000-0")
    any_system = get(server, "/fhir/DocumentReference", **base, type="34133-9")

    assert loinc.json()["total"] >= 1
    assert other.json()["total"] == 0
    assert any_system.json()["total"] >= 1


def test_paging_gives_next_links_until_the_end(
    server: ServerProcess, published: tuple[Metadata, bytes]
) -> None:
    client = XdsClient(server.url, timeout=(5, TIMEOUT))
    for n in range(2):
        metadata = submission(mime_type="text/plain", title=f"note {n}")
        client.provide_and_register(metadata, {metadata.documents[0].entry_uuid: b"note %d" % n})
    seen: list[str] = []
    url: str | None = f"{server.url}/fhir/DocumentReference"
    params: dict[str, str] | None = {
        "patient.identifier": PATIENT_TOKEN,
        "status": "current",
        "_count": "1",
    }
    total = None
    while url:
        page = requests.get(url, params=params, timeout=TIMEOUT).json()
        total = page["total"]
        seen += [entry["resource"]["id"] for entry in page.get("entry", [])]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
        params = None
    assert total is not None and total >= 3
    assert len(seen) == total == len(set(seen))


def test_iti66_finds_the_submission_set(
    server: ServerProcess, fhir: SyncFHIRClient, published: tuple[Metadata, bytes]
) -> None:
    metadata, _ = published
    sets = (
        fhir.resources("List")
        .search(
            **{"patient.identifier": PATIENT_TOKEN, "status": "current", "code": "submissionset"}
        )
        .fetch_all()
    )
    unique_ids = {i["value"] for s in sets for i in s["identifier"]}
    assert f"urn:oid:{metadata.submission_sets[0].unique_id}" in unique_ids
    for found in sets:
        FhirList.model_validate(found.serialize())


def test_xml_on_request(server: ServerProcess, published: tuple[Metadata, bytes]) -> None:
    answer = get(
        server,
        "/fhir/DocumentReference",
        **{"patient.identifier": PATIENT_TOKEN, "status": "current", "_format": "xml"},
    )
    assert answer.headers["Content-Type"].startswith("application/fhir+xml")
    root = etree.fromstring(answer.content)
    assert root.tag == "{http://hl7.org/fhir}Bundle"
    assert root.find("{http://hl7.org/fhir}entry") is not None


def test_capability_statement(server: ServerProcess) -> None:
    answer = get(server, "/fhir/metadata")
    statement = CapabilityStatement.model_validate(answer.json())
    served = {r.type for r in statement.rest[0].resource}
    assert served == {"DocumentReference", "List", "Patient"}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"status": "current"}, "patient.identifier is required"),
        ({"patient.identifier": PATIENT_TOKEN}, "status is required"),
        ({"patient.identifier": PATIENT_TOKEN, "status": "entered-in-error"}, "not one of"),
        (
            {"patient.identifier": PATIENT_TOKEN, "status": "current", "creation": "gt2024"},
            "ge and lt",
        ),
        ({"patient": "Patient/1", "status": "current"}, "serves no Patient"),
        ({"patient.identifier": PATIENT_TOKEN, "status": "current", "related": "x"}, "related"),
    ],
)
def test_a_refused_search_is_a_400_operation_outcome(
    server: ServerProcess, params: dict[str, str], fragment: str
) -> None:
    answer = get(server, "/fhir/DocumentReference", **params)

    assert answer.status_code == 400
    outcome = OperationOutcome.model_validate(answer.json())
    assert fragment in (outcome.issue[0].diagnostics or "")


def test_unknown_things_are_404(server: ServerProcess) -> None:
    assert get(server, "/fhir/Observation").status_code == 404
    assert (
        get(server, "/fhir/DocumentReference/00000000-0000-4000-8000-000000000000").status_code
        == 404
    )
    repository = (server.data / "repository-id").read_text().strip()
    missing = get(server, f"/mhd/document/{repository}/1.2.3.4.5.404")
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["details"]["coding"][0]["code"] == "XDSDocumentUniqueIdError"


def test_the_soap_endpoints_still_answer_beside_fhir(server: ServerProcess) -> None:
    assert get(server, "/xds/registry", wsdl="").status_code == 200
    assert PATIENT.startswith("E2E-1")


def test_searches_and_retrieves_are_audited_as_mhd_transactions(
    server: ServerProcess, published: tuple[Metadata, bytes], request: pytest.FixtureRequest
) -> None:
    answer = get(
        server,
        "/fhir/DocumentReference",
        **{"patient.identifier": PATIENT_TOKEN, "status": "current", "category": "11490-0"},
    )
    url = answer.json()["entry"][0]["resource"]["content"][0]["attachment"]["url"]
    assert requests.get(url, timeout=TIMEOUT).status_code == 200
    get(
        server,
        "/fhir/List",
        **{"patient.identifier": PATIENT_TOKEN, "status": "current", "code": "folder"},
    )

    bundle = publishable(content=b"audited as ITI-65")
    assert provide(server, bundle).status_code == 200

    events = audit_events(server, request)
    publication = next(e for e in reversed(events) if e.transaction == "ITI-65")
    assert publication.submission_set_id and publication.outcome.name == "SUCCESS"
    assert_dicom_audit_valid(render_audit_message(publication, SOURCE))

    search = next(e for e in reversed(events) if e.transaction == "ITI-67")
    assert "category=11490-0" in (search.query or "")
    assert search.patient_id == "E2E-1^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"
    assert any(e.transaction == "ITI-66" for e in events)
    retrieve = next(e for e in reversed(events) if e.transaction == "ITI-68")
    assert retrieve.document_ids and retrieve.outcome.name == "SUCCESS"
    for event in (search, retrieve):  # and each is a valid DICOM audit message
        assert_dicom_audit_valid(render_audit_message(event, SOURCE))


SOURCE = AuditSource(source_id="xds@test", base_url="http://127.0.0.1", repository_id="1.2.3")


def audit_events(server: ServerProcess, request: pytest.FixtureRequest) -> list[AuditEvent]:
    args = server.args
    if "--database" in args:
        url = args[args.index("--database") + 1]
        schema = args[args.index("--database-schema") + 1]
        engine = create_engine_for(url, schema=schema)
    else:
        engine = create_engine_for(f"sqlite:///{server.data / 'registry.sqlite'}")
    try:
        with engine.connect() as conn:
            return events_after(conn, 0, limit=10000)
    finally:
        engine.dispose()


# --- ITI-65 ------------------------------------------------------------------------------------

MHD_DATA = Path(__file__).parent / "data" / "mhd"
HELLO = b"Hello World"


def example(name: str) -> dict[str, Any]:
    return json.loads((MHD_DATA / name).read_text(encoding="utf-8"))


def publishable(*, content: bytes = HELLO) -> dict[str, Any]:
    """The MHD Comprehensive example (SubmissionSet, Folder, DocumentReference, Binary) made
    publishable here: our patient by identifier, fresh uniqueIds, no relatesTo to a
    document this registry does not hold."""
    bundle = example("Bundle-ex-comprehensiveProvideDocumentBundleComplete.json")
    subject = {"identifier": {"system": f"urn:oid:{PATIENT_OID}", "value": "E2E-1"}}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if "subject" in resource:
            resource["subject"] = subject
        for identifier in [resource.get("masterIdentifier"), *resource.get("identifier", [])]:
            if identifier and identifier.get("value", "").startswith("urn:oid:"):
                identifier["value"] = f"urn:oid:2.25.{uuid.uuid4().int}"
        resource.pop("relatesTo", None)
        if resource["resourceType"] == "Binary":
            resource["data"] = base64.b64encode(content).decode()
        if resource["resourceType"] == "DocumentReference":
            attachment = resource["content"][0]["attachment"]
            attachment["size"] = len(content)
            attachment["hash"] = base64.b64encode(hashlib.sha1(content).digest()).decode()
    return bundle


def provide(server: ServerProcess, bundle: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{server.url}/fhir",
        data=json.dumps(bundle).encode(),
        headers={"Content-Type": "application/fhir+json"},
        timeout=TIMEOUT,
    )


def master_id(bundle: dict[str, Any]) -> str:
    reference = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
    )
    return reference["masterIdentifier"]["value"].removeprefix("urn:oid:")


def test_iti65_publishes_what_iti18_finds_and_iti43_returns(server: ServerProcess) -> None:
    bundle = publishable()
    answer = provide(server, bundle)

    assert answer.status_code == 200, answer.text
    response = Bundle.model_validate(answer.json())
    assert response.type == "transaction-response"
    assert [e.response.status for e in response.entry] == ["201 Created"] * 4
    locations = [e.response.location for e in response.entry]
    assert locations[0].startswith("List/") and locations[2].startswith("DocumentReference/")

    unique_id = master_id(bundle)
    client = XdsClient(server.url, timeout=(5, TIMEOUT))
    found = client.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=(unique_id,))))
    (doc,) = found.metadata.documents
    assert doc.entry_uuid == "urn:uuid:" + locations[2].removeprefix("DocumentReference/")
    assert doc.class_code is not None and doc.class_code.code == "11369-6"
    assert doc.class_code.scheme == "2.16.840.1.113883.6.1"  # http://loinc.org as its OID
    assert doc.hash == hashlib.sha1(HELLO).hexdigest() and doc.size == str(len(HELLO))
    assert doc.creation_time == "20200202045050"  # 2020-02-01T23:50:50-05:00 in UTC
    repository = (server.data / "repository-id").read_text().strip()
    retrieved = client.retrieve(
        [DocumentLocator(repository, unique_id)], lambda _: server.data / "retrieved.bin"
    )
    assert retrieved.documents[0].path.read_bytes() == HELLO

    folders = get(
        server,
        "/fhir/List",
        **{"patient.identifier": PATIENT_TOKEN, "status": "current", "code": "folder"},
    ).json()
    assert any(e["resource"]["id"] == locations[1].removeprefix("List/") for e in folders["entry"])


def test_iti65_in_xml(server: ServerProcess) -> None:
    bundle = publishable(content=b"Hello in XML")
    xml = Bundle.model_validate(bundle).model_dump_xml()
    answer = requests.post(
        f"{server.url}/fhir",
        data=xml,
        headers={"Content-Type": "application/fhir+xml"},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 200, answer.text
    found = get(
        server,
        "/fhir/DocumentReference",
        **{
            "patient.identifier": PATIENT_TOKEN,
            "status": "current",
            "identifier": f"urn:ietf:rfc:3986|urn:oid:{master_id(bundle)}",
        },
    ).json()
    assert found["total"] == 1


def test_a_wrong_hash_is_refused_and_leaves_nothing(server: ServerProcess) -> None:
    bundle = publishable()
    reference = bundle["entry"][2]["resource"]
    reference["content"][0]["attachment"]["hash"] = base64.b64encode(b"\0" * 20).decode()

    answer = provide(server, bundle)

    assert answer.status_code == 400
    issue = OperationOutcome.model_validate(answer.json()).issue[0]
    assert issue.details.coding[0].code == "XDSRepositoryMetadataError"
    assert "hash" in issue.diagnostics
    client = XdsClient(server.url, timeout=(5, TIMEOUT))
    found = client.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=(master_id(bundle),))))
    assert found.metadata.documents == ()


def test_a_replacement_supersedes_the_replaced_document(server: ServerProcess) -> None:
    first = publishable(content=b"version 1")
    location = provide(server, first).json()["entry"][2]["response"]["location"]
    second = publishable(content=b"version 2")
    reference = second["entry"][2]["resource"]
    reference["relatesTo"] = [{"code": "replaces", "target": {"reference": location}}]
    second["entry"].append(
        {
            "fullUrl": "urn:uuid:aaaaaaaa-bbbb-cccc-dddd-e00555500009",
            "resource": {
                "resourceType": "Parameters",
                "parameter": [
                    {
                        "name": "operation",
                        "part": [
                            {"name": "type", "valueCode": "replace"},
                            {"name": "path", "valueString": "DocumentReference.status"},
                            {"name": "value", "valueCode": "superseded"},
                        ],
                    }
                ],
            },
            "request": {"method": "PATCH", "url": location},
        }
    )

    answer = provide(server, second)

    assert answer.status_code == 200, answer.text
    assert answer.json()["entry"][-1]["response"]["status"] == "200 OK"
    old = requests.get(f"{server.url}/fhir/{location}", timeout=TIMEOUT).json()
    assert old["status"] == "superseded"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        # subject Patient/ex-patient: a literal reference this server cannot resolve
        ("Bundle-ex-comprehensiveProvideDocumentBundleComplete.json", "XDSUnknownPatientId"),
        (
            "Bundle-ex-unContainedComprehensiveProvideDocumentBundleComplete.json",
            "XDSUnknownPatientId",
        ),
        # the in-Bundle Patient is identified in http://example.org/patients, not an OID
        ("Bundle-ex-minimalProvideDocumentBundleSimple.json", "XDSUnknownPatientId"),
        # the draft's SubmissionSet has no uniqueId (MHD Comprehensive requires one)
        ("Bundle-example-td2-iti65-lot-soumission.json", "XDSRepositoryMetadataError"),
    ],
)
def test_the_official_examples_are_refused_for_a_stated_reason(
    server: ServerProcess, name: str, reason: str
) -> None:
    answer = provide(server, example(name))

    assert answer.status_code == 400, answer.text
    codes = [i["details"]["coding"][0]["code"] for i in answer.json()["issue"] if "details" in i]
    assert reason in codes, answer.text


def test_a_bundle_that_is_not_fhir_is_a_400(server: ServerProcess) -> None:
    not_json = requests.post(
        f"{server.url}/fhir",
        data=b"{",
        headers={"Content-Type": "application/fhir+json"},
        timeout=TIMEOUT,
    )
    wrong_type = provide(server, {"resourceType": "Bundle", "type": "collection"})
    bad_field = provide(server, {"resourceType": "Bundle", "type": "transaction", "entry": "x"})

    assert not_json.status_code == wrong_type.status_code == bad_field.status_code == 400
    assert "transaction" in wrong_type.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [("not base64!", "is not base64"), (12, "not a valid FHIR Bundle"), (None, "has no data")],
)
def test_a_binary_whose_data_is_not_base64_is_refused(
    server: ServerProcess, data: Any, fragment: str
) -> None:
    """The model check sees a placeholder for the document (its cost is the bytes); the
    bytes themselves are decoded strictly where they are read."""
    bundle = publishable(content=b"never stored")
    bundle["entry"][3]["resource"]["data"] = data

    answer = provide(server, bundle)

    assert answer.status_code == 400, answer.text
    assert fragment in answer.text


def test_the_dmp_record_check_follows_the_record(server: ServerProcess) -> None:
    """PDSm4DMP TD0.2: Patient?identifier= answers nothing without a record, then `active`
    as the record is opened and closed."""
    patient = f"CHECK-{uuid.uuid4().hex[:8]}^^^&{PATIENT_OID}&ISO"
    feed(server, patient)
    identifier = f"urn:oid:{PATIENT_OID}|{patient.split('^')[0]}"
    records = XdsClient(server.url, timeout=(5, TIMEOUT)).records

    def check() -> dict[str, Any]:
        answer = get(server, "/fhir/Patient", identifier=identifier)
        assert answer.status_code == 200, answer.text
        return Bundle.model_validate(answer.json()).model_dump(mode="json")

    assert check()["total"] == 0
    assert records.open(patient).success
    opened = check()
    assert opened["total"] == 1
    assert opened["entry"][0]["resource"]["active"] is True
    assert records.close(patient).success
    assert check()["entry"][0]["resource"]["active"] is False
    assert get(server, "/fhir/Patient", identifier="no-system").status_code == 400


# --- the PDSm metadata update (PATCH) ------------------------------------------------------------


def patch(server: ServerProcess, path: str, body: Any, media: str) -> requests.Response:
    return requests.patch(
        f"{server.url}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": media},
        timeout=TIMEOUT,
    )


def published_reference(server: ServerProcess) -> tuple[str, str]:
    """A new document published with ITI-65: its DocumentReference path and uniqueId."""
    bundle = publishable(content=os.urandom(64))
    answer = provide(server, bundle)
    assert answer.status_code == 200, answer.text
    return answer.json()["entry"][2]["response"]["location"], master_id(bundle)


def test_a_json_patch_of_the_status_supersedes_the_document(server: ServerProcess) -> None:
    location, unique_id = published_reference(server)
    body = [{"op": "replace", "path": "/status", "value": "superseded"}]

    answer = patch(server, f"/fhir/{location}", body, "application/json-patch+json")

    assert answer.status_code == 200, answer.text
    assert DocumentReference.model_validate(answer.json()).status == "superseded"
    client = XdsClient(server.url, timeout=(5, TIMEOUT))
    found = client.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=(unique_id,))))
    assert found.metadata.documents[0].status.endswith(":Deprecated")
    back = [{"op": "replace", "path": "/status", "value": "current"}]
    assert (
        patch(server, f"/fhir/{location}", back, "application/json-patch+json").json()["status"]
        == "current"
    )


def test_a_conditional_fhirpath_patch_of_the_labels_makes_a_new_version(
    server: ServerProcess,
) -> None:
    _, unique_id = published_reference(server)
    label = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                "code": "V",
                "display": "very restricted",
            }
        ]
    }
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "add"},
                    {"name": "path", "valueString": "DocumentReference"},
                    {"name": "name", "valueString": "securityLabel"},
                    {"name": "value", "valueCodeableConcept": label},
                ],
            }
        ],
    }
    path = f"/fhir/DocumentReference?identifier=urn:ietf:rfc:3986%7Curn:oid:{unique_id}"
    unreadable = "/fhir/DocumentReference?identifier=not-an-identifier"

    answer = patch(server, path, body, "application/fhir+json")

    refused = patch(server, unreadable, body, "application/fhir+json")
    assert refused.status_code == 400 and "urn:oid:" in refused.text

    assert answer.status_code == 200, answer.text
    updated = answer.json()
    assert updated["meta"]["versionId"] == "2"
    assert {c["coding"][0]["code"] for c in updated["securityLabel"]} == {"R", "V"}
    client = XdsClient(server.url, timeout=(5, TIMEOUT))
    found = client.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=(unique_id,))))
    latest = max(found.metadata.documents, key=lambda d: int(d.version or "1"))
    assert {c.code for c in latest.confidentiality_codes} == {"R", "V"}


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ([{"op": "replace", "path": "/description", "value": "changed"}], 405, "description"),
        (
            [{"op": "replace", "path": "/status", "value": "entered-in-error"}],
            422,
            "XDSMetadataUpdateError",
        ),
        (
            [
                {
                    "op": "add",
                    "path": "/extension",
                    "value": [
                        {
                            "url": "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-ext-is-archived",
                            "valueBoolean": True,
                        }
                    ],
                }
            ],
            422,
            "XDSMetadataUpdateError",
        ),
        ([{"op": "replace", "path": "/status", "value": "current"}], 400, "changes nothing"),
        ([{"op": "move", "from": "/status", "path": "/x"}], 400, "not supported"),
        ({"not": "a patch"}, 415, "PATCH body"),
    ],
)
def test_refused_patches(server: ServerProcess, body: Any, status: int, fragment: str) -> None:
    location, _ = published_reference(server)

    answer = patch(
        server,
        f"/fhir/{location}",
        body,
        "application/json-patch+json" if isinstance(body, list) else "application/fhir+json",
    )

    assert answer.status_code == status, answer.text
    assert fragment in answer.text


def test_a_replacement_on_one_side_is_seen_on_the_other(server: ServerProcess) -> None:
    """ITI-41 RPLC shows over FHIR as superseded; an ITI-65 replaces shows over ITI-18 as
    Deprecated."""
    client = XdsClient(server.url, timeout=(5, TIMEOUT))
    first = submission(mime_type="text/plain", title="v1")
    assert (
        client.provide_and_register(first, {first.documents[0].entry_uuid: b"v1"}).status.name
        == "SUCCESS"
    )
    (old,) = client.query(
        StoredQueryRequest(GetDocumentsQuery(unique_ids=(first.documents[0].unique_id,)))
    ).metadata.documents
    second = submission(mime_type="text/plain", title="v2")
    replaces = Association(
        entry_uuid="Replaces01",
        association_type=AssociationType.REPLACE.value,
        source=second.documents[0].entry_uuid,
        target=old.entry_uuid,
    )
    second = dataclasses.replace(second, associations=(*second.associations, replaces))
    assert (
        client.provide_and_register(second, {second.documents[0].entry_uuid: b"v2"}).status.name
        == "SUCCESS"
    )

    over_fhir = requests.get(
        f"{server.url}/fhir/DocumentReference/{old.entry_uuid.removeprefix('urn:uuid:')}",
        timeout=TIMEOUT,
    )
    assert over_fhir.json()["status"] == "superseded"
    (new,) = client.query(
        StoredQueryRequest(GetDocumentsQuery(unique_ids=(second.documents[0].unique_id,)))
    ).metadata.documents
    by_identifier = get(
        server,
        "/fhir/DocumentReference",
        **{
            "patient.identifier": PATIENT_TOKEN,
            "status": "current",
            "identifier": f"urn:oid:{new.unique_id}",
        },
    ).json()
    assert by_identifier["entry"][0]["resource"]["relatesTo"] == [
        {
            "code": "replaces",
            "target": {
                "reference": f"DocumentReference/{old.entry_uuid.removeprefix('urn:uuid:')}"
            },
        }
    ]
    DocumentReference.model_validate(by_identifier["entry"][0]["resource"])

    bundle = publishable(content=b"v1 over FHIR")
    location = provide(server, bundle).json()["entry"][2]["response"]["location"]
    replacement = publishable(content=b"v2 over FHIR")
    replacement["entry"][2]["resource"]["relatesTo"] = [
        {"code": "replaces", "target": {"reference": location}}
    ]
    assert provide(server, replacement).status_code == 200
    found = client.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=(master_id(bundle),))))
    assert found.metadata.documents[0].status == AvailabilityStatus.DEPRECATED.value


def test_lists_name_their_members_and_related_finds_by_reference_id(
    server: ServerProcess,
) -> None:
    """ITI-66 answers carry List.entry (the SubmissionSet holds the document and the folder,
    the folder the document); ITI-67's related:identifier is FindDocumentsByReferenceId,
    whatever the identifier's CXi type."""
    bundle = publishable(content=b"an ordered report")
    order = f"ORD-{uuid.uuid4().hex[:8]}"
    bundle["entry"][2]["resource"]["context"]["related"] = [
        {
            "identifier": {
                "system": "urn:oid:1.2.250.1.213.1.1.9",
                "value": order,
                "type": {"coding": [{"code": "urn:ihe:iti:xds:2013:order"}]},
            }
        }
    ]
    answer = provide(server, bundle)
    assert answer.status_code == 200, answer.text
    set_at, folder_at, document_at = (e["response"]["location"] for e in answer.json()["entry"][:3])

    submission_set = requests.get(f"{server.url}/fhir/{set_at}", timeout=TIMEOUT).json()
    members = {e["item"]["reference"] for e in submission_set["entry"]}
    assert members == {document_at, folder_at}
    FhirList.model_validate(submission_set)
    folders = get(
        server,
        "/fhir/List",
        **{"patient.identifier": PATIENT_TOKEN, "status": "current", "code": "folder"},
    ).json()
    (folder,) = [
        e["resource"] for e in folders["entry"] if f"List/{e['resource']['id']}" == folder_at
    ]
    assert [e["item"]["reference"] for e in folder["entry"]] == [document_at]

    def related(value: str) -> list[str]:
        found = get(
            server,
            "/fhir/DocumentReference",
            **{
                "patient.identifier": PATIENT_TOKEN,
                "status": "current",
                "related:identifier": value,
            },
        )
        assert found.status_code == 200, found.text
        return [f"DocumentReference/{e['resource']['id']}" for e in found.json().get("entry", [])]

    assert related(f"urn:oid:1.2.250.1.213.1.1.9|{order}") == [document_at]
    assert related(f"urn:oid:1.2.250.1.213.1.1.9|ORD-X,urn:oid:1.2.250.1.213.1.1.9|{order}") == [
        document_at
    ]
    assert related(f"urn:oid:1.2.250.1.213.1.1.8|{order}") == []
    assert related(f"urn:oid:1.2.250.1.213.1.1.9|{order[:-1]}") == []  # not a prefix match
    refused = get(
        server,
        "/fhir/DocumentReference",
        **{"patient.identifier": PATIENT_TOKEN, "status": "current", "related:identifier": order},
    )
    assert refused.status_code == 400
    assert "related:identifier" in refused.json()["issue"][0]["diagnostics"]


# --- ITI-105 -----------------------------------------------------------------------------------


def simplified(content: bytes = HELLO) -> dict[str, Any]:
    """The Comprehensive example's DocumentReference as a Simplified Publish: the document
    inline, no entryUUID identifier."""
    reference = copy.deepcopy(publishable(content=content)["entry"][2]["resource"])
    reference.pop("id")
    reference["identifier"] = [
        i for i in reference.get("identifier", []) if "urn:uuid:" not in i.get("value", "")
    ]
    attachment = reference["content"][0]["attachment"]
    attachment.pop("url", None)
    attachment["data"] = base64.b64encode(content).decode()
    return reference


def simplified_publish(
    server: ServerProcess, reference: dict[str, Any] | bytes, media: str = "application/fhir+json"
) -> requests.Response:
    body = reference if isinstance(reference, bytes) else json.dumps(reference).encode()
    return requests.post(
        f"{server.url}/fhir/DocumentReference",
        data=body,
        headers={"Content-Type": media},
        timeout=TIMEOUT,
    )


def test_iti105_publishes_one_document_found_and_retrieved_on_both_sides(
    server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    content = b"published the simple way " + os.urandom(64)
    reference = simplified(content)

    answer = simplified_publish(server, reference)

    assert answer.status_code == 201, answer.text
    created = answer.json()
    DocumentReference.model_validate(created)
    assert answer.headers["Location"] == f"{server.url}/fhir/DocumentReference/{created['id']}"
    assert created["masterIdentifier"]["value"] == reference["masterIdentifier"]["value"]
    assert "data" not in created["content"][0]["attachment"]
    url = created["content"][0]["attachment"]["url"]
    assert requests.get(url, timeout=TIMEOUT).content == content  # ITI-68

    client = XdsClient(server.url, timeout=(5, TIMEOUT))
    unique_id = reference["masterIdentifier"]["value"].removeprefix("urn:oid:")
    (entry,) = client.query(
        StoredQueryRequest(GetDocumentsQuery(unique_ids=(unique_id,)))
    ).metadata.documents  # ITI-18
    assert entry.entry_uuid == f"urn:uuid:{created['id']}"
    locator = DocumentLocator(entry.repository_unique_id, unique_id)
    retrieved = client.retrieve([locator], lambda _: server.data / "iti105.bin")
    assert retrieved.documents[0].path.read_bytes() == content  # ITI-43
    sets = client.query(
        StoredQueryRequest(GetSubmissionSetsQuery(uuids=(entry.entry_uuid,)))
    ).metadata.submission_sets
    assert len(sets) == 1 and sets[0].unique_id.startswith("2.25.")
    assert sets[0].content_type_code is not None and sets[0].authors

    event = next(e for e in reversed(audit_events(server, request)) if e.transaction == "ITI-105")
    assert event.outcome.name == "SUCCESS" and event.submission_set_id == sets[0].unique_id
    assert_dicom_audit_valid(render_audit_message(event, SOURCE))


def _with(reference: dict[str, Any], change: Any) -> dict[str, Any]:
    changed = copy.deepcopy(reference)
    change(changed)
    return changed


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        (lambda r: r.update(status="superseded"), 422, "status current"),
        (lambda r: r.pop("masterIdentifier"), 422, "masterIdentifier"),
        (lambda r: r["content"][0]["attachment"].pop("data"), 422, "attachment.data"),
        (
            lambda r: r["content"][0]["attachment"].update(url="http://elsewhere/doc"),
            422,
            "no url",
        ),
        (
            lambda r: r["identifier"].append(
                {
                    "type": {"coding": [{"code": "entryUUID"}]},
                    "system": "urn:ietf:rfc:3986",
                    "value": f"urn:uuid:{uuid.uuid4()}",
                }
            ),
            422,
            "entryUUID",
        ),
        (lambda r: r["content"][0]["attachment"].update(size=1), 422, "XDSRepositoryMetadataError"),
        (lambda r: r.pop("category"), 422, "XDSRepositoryMetadataError"),
        (lambda r: r.update(status=7), 400, "not a valid FHIR DocumentReference"),
        (lambda r: r.update(resourceType="Bundle"), 400, "not a DocumentReference"),
    ],
)
def test_iti105_refusals_name_the_rule_and_leave_nothing(
    server: ServerProcess, change: Any, status: int, fragment: str
) -> None:
    reference = _with(simplified(b"refused " + os.urandom(16)), change)

    answer = simplified_publish(server, reference)

    assert answer.status_code == status, answer.text
    assert fragment in answer.text
    OperationOutcome.model_validate(answer.json())
    unique_id = (reference.get("masterIdentifier") or {}).get("value", "").removeprefix("urn:oid:")
    if unique_id:
        client = XdsClient(server.url, timeout=(5, TIMEOUT))
        found = client.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=(unique_id,))))
        assert not found.metadata.documents


def test_iti105_in_xml(server: ServerProcess) -> None:
    reference = simplified(b"in XML " + os.urandom(8))
    xml = DocumentReference.model_validate(reference).model_dump_xml()

    answer = simplified_publish(server, xml, media="application/fhir+xml")

    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        # subject Patient/fr-patient-123: a literal reference this server cannot resolve
        ("DocumentReference-PDSmSimplifiedExample.json", "XDSUnknownPatientId"),
        # no category, securityLabel, format, facility, setting, language: codes XDS requires
        (
            "DocumentReference-example-td2-iti105-publication-simplifiee.json",
            "XDSRepositoryMetadataError",
        ),
    ],
)
def test_the_official_iti105_examples_are_refused_for_a_stated_reason(
    server: ServerProcess, name: str, reason: str
) -> None:
    answer = simplified_publish(server, example(name))

    assert answer.status_code == 422, answer.text
    codes = [i["details"]["coding"][0]["code"] for i in answer.json()["issue"] if "details" in i]
    assert reason in codes, answer.text
