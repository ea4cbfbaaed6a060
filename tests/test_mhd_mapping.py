"""The XDS -> FHIR mapping of MHD (`mhd.resources`), the systems, times and search translation.

Each resource built is held against the FHIR R4B models of `fhir.resources`, and its
values against the XDS object it came from, field by field, as MHD's mapping tables say.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import replace
from typing import Any

import pytest
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.list import List as FhirList
from registry_fixtures import Submission, document, folder

from ebrim.model import Code
from ebrim.storedquery import FindDocumentsQuery, FindFoldersQuery, GetDocumentsQuery
from ebrim.vocabulary import AvailabilityStatus
from mhd.app import MhdApplication
from mhd.publish import publish_request, read_bundle
from mhd.resources import document_reference, list_of, unique_identifier
from mhd.search import SearchError, document_search, list_search
from mhd.systems import scheme_of, system_of
from mhd.times import BadDate, dtm_of, fhir_datetime
from soap.settings import SecurityMode, SoapSettings

UUID = "urn:uuid:0d6b1a9e-1c1e-4c7a-9d7e-1b2f6c0b0a01"
APPROVED = AvailabilityStatus.APPROVED.value
DEPRECATED = AvailabilityStatus.DEPRECATED.value
ARCHIVED = AvailabilityStatus.ARCHIVED.value


def entry(**changes: Any):
    fields: dict[str, Any] = {
        "entry_uuid": UUID,
        "status": APPROVED,
        "legal_authenticator": "123^MARTIN^PAUL^^^^^^&1.2.250.1.71.4.2.1&ISO",
        **changes,
    }
    return replace(document(), **fields)


def test_a_document_entry_maps_field_by_field() -> None:
    doc = entry()
    resource = document_reference(doc, "https://h/mhd/document/1.2/3.4")
    model = DocumentReference.model_validate(resource)

    assert model.id == UUID.removeprefix("urn:uuid:")
    assert resource["identifier"][0]["value"] == UUID
    assert resource["masterIdentifier"]["value"] == f"urn:oid:{doc.unique_id}"
    assert model.status == "current"
    assert resource["type"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "34108-1",
        "display": "Outpatient Note",
    }
    assert resource["category"][0]["coding"][0]["code"] == "11488-4"
    assert resource["securityLabel"][0]["coding"][0]["system"] == (
        "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
    )
    attachment = resource["content"][0]["attachment"]
    assert attachment["hash"] == base64.b64encode(bytes.fromhex(doc.hash or "")).decode()
    assert attachment["size"] == int(doc.size or 0)
    assert attachment["creation"] == "2024-01-02T03:04:05Z"
    assert attachment["url"] == "https://h/mhd/document/1.2/3.4"
    assert attachment["language"] == "fr-FR"
    assert resource["content"][0]["format"]["code"] == "urn:ihe:pcc:xphr:2007"
    context = resource["context"]
    assert context["period"] == {"start": "2024-01-01", "end": "2024-01-02T03:00:00Z"}
    assert [e["coding"][0]["code"] for e in context["event"]] == ["E1", "E2"]
    assert context["related"][0]["identifier"]["value"] == "ORD-1"
    assert resource["subject"]["identifier"]["system"].startswith("urn:oid:")
    contained = {r["id"]: r for r in resource["contained"]}
    assert contained["author1-person"]["name"][0]["family"] == "DUPONT"
    assert contained["authenticator"]["identifier"][0]["value"] == "123"
    assert contained["source-patient"]["gender"] == "male"
    assert contained["source-patient"]["birthDate"] == "1956-05-27"


def test_deprecated_is_superseded() -> None:
    resource = document_reference(entry(status=DEPRECATED), None)
    assert resource["status"] == "superseded"
    assert "url" not in resource["content"][0]["attachment"]


def test_a_uniqueid_with_an_extension_is_the_extension_in_the_root_system() -> None:
    assert unique_identifier("1.2.250.1.213.1.1.9^ABC-42") == {
        "use": "usual",
        "system": "urn:oid:1.2.250.1.213.1.1.9",
        "value": "ABC-42",
    }


def test_submission_set_and_folder_are_lists() -> None:
    built = Submission().build()
    submission_set = replace(built.submission_sets[0], entry_uuid=UUID)
    resource = list_of(submission_set, [("DocumentReference", UUID)])
    FhirList.model_validate(resource)
    assert resource["code"]["coding"][0]["code"] == "submissionset"
    assert resource["date"] == "2024-01-02T04:05:06Z"
    assert resource["entry"] == [
        {"item": {"reference": f"DocumentReference/{UUID.removeprefix('urn:uuid:')}"}}
    ]
    folder_list = list_of(replace(folder(), entry_uuid=UUID))
    FhirList.model_validate(folder_list)
    assert folder_list["code"]["coding"][0]["code"] == "folder"


@pytest.mark.parametrize(
    ("scheme", "system"),
    [
        ("2.16.840.1.113883.6.1", "http://loinc.org"),
        (
            "1.2.250.1.213.1.1.4.1",
            "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument",
        ),
        ("1.2.3.4", "urn:oid:1.2.3.4"),
        ("Connect-a-thon classCodes", "Connect-a-thon classCodes"),
    ],
)
def test_systems_both_ways(scheme: str, system: str) -> None:
    assert system_of(scheme) == system
    assert scheme_of(system) == scheme


@pytest.mark.parametrize(
    ("dtm", "fhir"),
    [
        ("2024", "2024"),
        ("202405", "2024-05"),
        ("20240506", "2024-05-06"),
        ("2024050607", "2024-05-06T07:00:00Z"),
        ("20240506070809", "2024-05-06T07:08:09Z"),
        ("2024-05", None),
        (None, None),
    ],
)
def test_dtm_to_fhir(dtm: str | None, fhir: str | None) -> None:
    assert fhir_datetime(dtm) == fhir


def test_fhir_dates_to_utc_dtm() -> None:
    assert dtm_of("2024-05-06") == "20240506"
    assert dtm_of("2024-05-06T10:00:00+02:00") == "20240506080000"
    assert dtm_of("2024-05-06T00:30:00-01:00") == "20240506013000"
    with pytest.raises(BadDate):
        dtm_of("2024-13-01")
    with pytest.raises(BadDate):
        dtm_of("yesterday")


PATIENT = "urn:oid:1.3.6.1.4.1.21367.13.20.1000|E2E-1"


def test_iti67_parameters_become_find_documents() -> None:
    search = document_search(
        {
            "patient.identifier": [PATIENT],
            "status": ["current,superseded"],
            "category": ["http://loinc.org|11488-4,urn:oid:1.2.3|X"],
            "event": ["E1", "urn:oid:1.2|E2"],
            "creation": ["ge2024-01-01", "lt2024-02-01T00:00:00+01:00"],
            "period": ["ge2023", "lt2025"],
            "author.family": ["DUPONT"],
            "unknown-to-mhd": ["ignored"],
            "_count": ["10"],
        }
    )
    query = search.query
    assert isinstance(query, FindDocumentsQuery)
    assert query.patient_id == "E2E-1^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"
    assert query.statuses == (APPROVED, DEPRECATED, ARCHIVED)  # archived: current too (PDSm)
    assert query.class_codes == (Code("11488-4", "2.16.840.1.113883.6.1"), Code("X", "1.2.3"))
    assert query.event_codes == ((Code("E1", ""),), (Code("E2", "1.2"),))
    assert (query.creation_time.from_, query.creation_time.to) == ("20240101", "20240131230000")
    assert query.service_stop_time.from_ == "2023" and query.service_start_time.to == "2025"
    assert query.author_persons == ("%^DUPONT^%",)
    assert "unknown-to-mhd" not in search.used
    assert search.page.count == 10


def test_identifier_becomes_get_documents() -> None:
    search = document_search(
        {
            "patient.identifier": [PATIENT],
            "status": ["current"],
            "identifier": ["urn:ietf:rfc:3986|urn:oid:1.2.3.4"],
        }
    )
    assert search.query == GetDocumentsQuery(unique_ids=("1.2.3.4",))
    assert search.statuses == (APPROVED, ARCHIVED)


def test_a_repeated_single_valued_token_is_refused() -> None:
    with pytest.raises(SearchError, match="commas"):
        document_search(
            {"patient.identifier": [PATIENT], "status": ["current"], "type": ["a", "b"]}
        )


def test_iti66_folder_search() -> None:
    search = list_search(
        {
            "patient.identifier": [PATIENT],
            "status": ["current"],
            "code": ["folder"],
            "designationType": ["urn:oid:1.2|F1"],
            "date": ["ge2024"],
        }
    )
    assert isinstance(search.query, FindFoldersQuery)
    assert search.query.codes == ((Code("F1", "1.2"),),)
    assert search.query.last_update_time.from_ == "2024"
    with pytest.raises(SearchError, match="code is required"):
        list_search({"patient.identifier": [PATIENT], "status": ["current"]})


def test_with_security_required_a_request_without_a_token_is_401() -> None:
    verifier = object()  # never reached: the token is missing
    settings = SoapSettings(security=SecurityMode.REQUIRED)
    app = MhdApplication(registry=None, settings=settings, verifier=verifier)  # type: ignore[arg-type]

    def call(path: str) -> tuple[str, bytes]:
        seen: dict[str, str] = {}

        def start(status: str, _headers: list[tuple[str, str]], _exc: object = None) -> None:
            seen["status"] = status

        environ = {
            "PATH_INFO": path,
            "REQUEST_METHOD": "GET",
            "QUERY_STRING": "",
            "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": "https",
            "HTTP_HOST": "registry.test",
        }
        body = b"".join(app(environ, start))
        return seen["status"], body

    status, body = call("/fhir/DocumentReference/00000000-0000-4000-8000-000000000000")
    assert status.startswith("401") and b"OperationOutcome" in body
    assert call("/mhd/document/1.2/3.4")[0].startswith("401")
    assert call("/fhir/metadata")[0].startswith("200")


def test_a_document_entry_survives_the_round_trip_through_fhir() -> None:
    """DocumentEntry -> DocumentReference (ITI-67) -> ITI-65 Bundle -> DocumentEntry."""
    doc = entry()
    content = b"content of the document"
    doc = replace(doc, hash=hashlib.sha1(content).hexdigest(), size=str(len(content)))
    built = Submission().build()
    submission_set = replace(built.submission_sets[0], entry_uuid=UUID.replace("01", "02"))
    reference = document_reference(doc, "urn:uuid:aaaaaaaa-0000-0000-0000-000000000003")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001",
                "resource": list_of(submission_set, []),
                "request": {"method": "POST", "url": "List"},
            },
            {
                "fullUrl": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000002",
                "resource": reference,
                "request": {"method": "POST", "url": "DocumentReference"},
            },
            {
                "fullUrl": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000003",
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "text/xml",
                    "data": base64.b64encode(content).decode(),
                },
                "request": {"method": "POST", "url": "Binary"},
            },
        ],
    }

    published = publish_request(read_bundle(json.dumps(bundle).encode(), "application/fhir+json"))

    (back,) = published.metadata.documents
    assert published.documents[back.entry_uuid] == content
    for name in (
        "unique_id", "patient_id", "source_patient_id", "source_patient_info", "authors",
        "class_code", "type_code", "format_code", "confidentiality_codes", "event_codes",
        "healthcare_facility_type_code", "practice_setting_code", "creation_time",
        "service_start_time", "hash", "size", "language_code", "legal_authenticator",
        "mime_type", "title", "reference_ids",
    ):  # fmt: skip
        assert getattr(back, name) == getattr(doc, name), name
    assert back.service_stop_time == "20240102030000"  # FHIR has no minute precision
    assert back.entry_uuid != doc.entry_uuid  # the recipient assigns entryUUIDs
    (ss,) = published.metadata.submission_sets
    assert (ss.unique_id, ss.source_id, ss.content_type_code) == (
        submission_set.unique_id,
        submission_set.source_id,
        submission_set.content_type_code,
    )
    assert [a.target for a in published.metadata.associations] == [back.entry_uuid]
