"""MHD with mutual TLS and the DMP's signed VIHF: the same requester, policy and refusals as SOAP.

`xds serve --tls --security required`: the hospital's TLS certificate, and the doctor's
VIHF in ``Authorization: Bearer <base64>``, publish with ITI-65, find with ITI-67 and
read with ITI-68; a missing, untrusted or mismatched assertion is a 401, a professional
the patient did not authorise gets a 403, and the server keeps serving.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from e2e_support import TIMEOUT, feed, secure_server
from lxml import etree
from security_support import INS, OTHER_INS, DevPki, iua_token, make_pki, vihf

from pki.assertion import AuthenticationMode, Code
from soap.client import XdsClient
from xds_cli.server import ServerProcess

INS_OID = "1.2.250.1.213.1.4.10"
INS_TOKEN = f"urn:oid:{INS_OID}|279035121518989"
DIRECT = AuthenticationMode.DIRECT
CONTENT = b"<text>compte rendu</text>"
COLLEAGUE = "899700777777"  # another professional the patient authorised
MASKING = "urn:oid:1.2.250.1.213.1.1.4.13"  # TRE_A07-StatutVisibiliteDocument


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("mhd-tls"))


@pytest.fixture(scope="module")
def server(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with secure_server(pki, tmp_path_factory.mktemp("mhd-tls-server")) as running:
        feed(running, INS)
        feed(running, OTHER_INS)
        own = [Code("ONESELF", "2.16.840.1.113883.5.111")]
        patient = lambda _p: vihf(pki, roles=own, professional_id="PATIENT-1")  # noqa: E731
        hospital = (pki.hospital.tls_cert, pki.hospital.tls_key)
        records = XdsClient(running.url, cert=hospital, verify=pki.ca.chain, assertions=patient)
        assert records.records.open(INS).success
        assert records.records.grant(INS, "899700218896").success
        assert records.records.grant(INS, COLLEAGUE).success
        yield running


def token(assertion: etree._Element) -> str:
    return base64.b64encode(etree.tostring(assertion)).decode()


def call(
    server: ServerProcess,
    pki: DevPki,
    method: str,
    path: str,
    assertion: etree._Element | None,
    **kw: Any,
) -> requests.Response:
    headers = dict(kw.pop("headers", {}))
    if assertion is not None:
        headers["Authorization"] = f"Bearer {token(assertion)}"
    return requests.request(
        method,
        f"{server.url}{path}",
        headers=headers,
        cert=(str(pki.hospital.tls_cert), str(pki.hospital.tls_key)),
        verify=str(pki.ca.chain),
        timeout=TIMEOUT,
        **kw,
    )


def bundle(content: bytes = CONTENT, *, masked: bool = False) -> dict[str, Any]:
    patient = {"identifier": {"system": f"urn:oid:{INS_OID}", "value": "279035121518989"}}
    author = {
        "resourceType": "Practitioner",
        "id": "author",
        "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "899700218896"}],
        "name": [{"family": "DUPONT", "given": ["Jean"]}],
    }
    loinc = "http://loinc.org"
    reference = {
        "resourceType": "DocumentReference",
        "contained": [author],
        "masterIdentifier": {
            "system": "urn:ietf:rfc:3986",
            "value": f"urn:oid:2.25.{uuid.uuid4().int}",
        },
        "status": "current",
        "type": {"coding": [{"system": loinc, "code": "11488-4", "display": "Consult note"}]},
        "category": [
            {
                "coding": [
                    {
                        "system": "urn:oid:1.2.250.1.213.1.1.4.1",
                        "code": "10",
                        "display": "Compte rendu",
                    }
                ]
            }
        ],
        "subject": patient,
        "author": [{"reference": "#author"}],
        "securityLabel": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                        "code": "N",
                        "display": "Normal",
                    }
                ]
            },
            *([{"coding": [{"system": MASKING, "code": "MASQUE_PS"}]}] if masked else []),
        ],
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "language": "fr-FR",
                    "url": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000003",
                    "title": "Compte rendu",
                    "creation": "2026-06-12T10:00:00+02:00",
                },
                "format": {
                    "system": "urn:oid:1.2.250.1.213.1.1.4.2.282",
                    "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
                    "display": "mimeType Sufficient",
                },
            }
        ],
        "context": {
            "facilityType": {
                "coding": [
                    {
                        "system": "urn:oid:1.2.250.1.71.4.2.4",
                        "code": "SA01",
                        "display": "Etablissement public de santé",
                    }
                ]
            },
            "practiceSetting": {
                "coding": [
                    {
                        "system": "urn:oid:1.2.250.1.213.1.1.4.9",
                        "code": "ETABLISSEMENT",
                        "display": "Etablissement de santé",
                    }
                ]
            },
        },
    }
    submission_set = {
        "resourceType": "List",
        "contained": [author],
        "extension": [
            {
                "url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId",
                "valueIdentifier": {"value": "urn:oid:1.2.250.1.999.1"},
            },
            {
                "url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType",
                "valueCodeableConcept": {
                    "coding": [{"system": loinc, "code": "11488-4", "display": "Consult note"}]
                },
            },
        ],
        "identifier": [
            {
                "use": "usual",
                "system": "urn:ietf:rfc:3986",
                "value": f"urn:oid:2.25.{uuid.uuid4().int}",
            }
        ],
        "status": "current",
        "mode": "working",
        "code": {
            "coding": [
                {
                    "system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes",
                    "code": "submissionset",
                }
            ]
        },
        "subject": patient,
        "date": "2026-06-12T10:00:00+02:00",
        "source": {"reference": "#author"},
    }
    binary = {
        "resourceType": "Binary",
        "contentType": "text/plain",
        "data": base64.b64encode(content).decode(),
    }
    entries = [(submission_set, "List"), (reference, "DocumentReference"), (binary, "Binary")]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:aaaaaaaa-0000-0000-0000-00000000000{n}",
                "resource": resource,
                "request": {"method": "POST", "url": kind},
            }
            for n, (resource, kind) in enumerate(entries, 1)
        ],
    }


def publish_bundle(
    server: ServerProcess, pki: DevPki, assertion: etree._Element | None, content: dict[str, Any]
) -> requests.Response:
    return call(
        server,
        pki,
        "POST",
        "/fhir",
        assertion,
        data=json.dumps(content).encode(),
        headers={"Content-Type": "application/fhir+json"},
    )


def publish(
    server: ServerProcess, pki: DevPki, assertion: etree._Element | None
) -> requests.Response:
    return publish_bundle(server, pki, assertion, bundle())


def search(
    server: ServerProcess, pki: DevPki, assertion: etree._Element | None, patient: str = INS_TOKEN
) -> requests.Response:
    params = {"patient.identifier": patient, "status": "current"}
    return call(server, pki, "GET", "/fhir/DocumentReference", assertion, params=params)


def test_the_doctor_publishes_finds_and_reads_with_one_vihf(
    server: ServerProcess, pki: DevPki
) -> None:
    assertion = vihf(pki, authentication_mode=DIRECT)

    published = publish(server, pki, assertion)
    found = search(server, pki, assertion)  # the same token again: a bearer token is reusable

    assert published.status_code == 200, published.text
    assert found.status_code == 200, found.text
    assert found.json()["total"] >= 1
    url = found.json()["entry"][0]["resource"]["content"][0]["attachment"]["url"]
    read = call(server, pki, "GET", url.removeprefix(server.url), assertion)
    assert read.status_code == 200 and read.content == CONTENT
    access = [line for line in server.log().splitlines() if " mhd.access " in line]
    assert any(
        "professional=899700218896" in line
        and f"structure={pki.hospital.structure_id}" in line
        and "status=200" in line
        for line in access
    ), access[-3:]


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda pki: None, "required"),
        (
            lambda pki: vihf(pki, by=pki.stranger, authentication_mode=DIRECT),
            "UntrustedCertificate",
        ),
        (lambda pki: vihf(pki, sign=False, authentication_mode=DIRECT), "assertion refused"),
        (
            lambda pki: vihf(pki, patient_id=OTHER_INS, authentication_mode=DIRECT),
            "PatientMismatch",
        ),
    ],
)
def test_a_missing_or_refused_assertion_is_a_401(
    server: ServerProcess, pki: DevPki, make: Any, fragment: str
) -> None:
    answer = search(server, pki, make(pki))

    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert fragment in answer.json()["issue"][0]["diagnostics"]
    assert search(server, pki, vihf(pki, authentication_mode=DIRECT)).status_code == 200


def test_a_professional_the_patient_did_not_authorise_is_refused(
    server: ServerProcess, pki: DevPki
) -> None:
    outsider = vihf(
        pki,
        professional_id="899700999999",
        professional_name="MARTIN Paul",
        authentication_mode=DIRECT,
    )

    answer = search(server, pki, outsider)

    assert answer.status_code == 403, answer.text
    issue = answer.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "LocalPolicyRestrictionError"


def test_a_token_that_is_not_an_assertion_is_a_401(server: ServerProcess, pki: DevPki) -> None:
    for header in ("Bearer eyJhbGciOiJub25lIn0.e30.", "Basic dXNlcjpwYXNz", "Bearer %%%"):
        answer = call(
            server,
            pki,
            "GET",
            "/fhir/DocumentReference",
            None,
            headers={"Authorization": header},
            params={"patient.identifier": INS_TOKEN, "status": "current"},
        )
        assert answer.status_code == 401, (header, answer.text)


def test_the_hash_of_what_was_published_is_the_registered_one(
    server: ServerProcess, pki: DevPki
) -> None:
    content = b"the bytes whose hash is checked"
    author = vihf(pki, authentication_mode=DIRECT)
    assert publish_bundle(server, pki, author, bundle(content)).status_code == 200
    found = search(server, pki, author).json()
    hashes = {e["resource"]["content"][0]["attachment"].get("hash") for e in found["entry"]}
    assert base64.b64encode(hashlib.sha1(content).digest()).decode() in hashes


def test_an_iua_jwt_works_as_the_vihf_does(server: ServerProcess, pki: DevPki) -> None:
    token = iua_token(pki, audience=f"{server.url}/fhir")
    headers = {"Authorization": f"Bearer {token}"}
    params = {"patient.identifier": INS_TOKEN, "status": "current"}

    published = call(
        server,
        pki,
        "POST",
        "/fhir",
        None,
        data=json.dumps(bundle(b"published with a JWT")).encode(),
        headers={**headers, "Content-Type": "application/fhir+json"},
    )
    found = call(
        server, pki, "GET", "/fhir/DocumentReference", None, headers=headers, params=params
    )
    elsewhere = iua_token(pki, audience="https://another-server.example/fhir")
    refused = call(
        server,
        pki,
        "GET",
        "/fhir/DocumentReference",
        None,
        headers={"Authorization": f"Bearer {elsewhere}"},
        params=params,
    )

    assert published.status_code == 200, published.text
    assert found.status_code == 200, found.text
    hashes = {e["resource"]["content"][0]["attachment"].get("hash") for e in found.json()["entry"]}
    assert base64.b64encode(hashlib.sha1(b"published with a JWT").digest()).decode() in hashes
    assert refused.status_code == 401
    assert "audience" in refused.json()["issue"][0]["diagnostics"].lower()


def test_a_masked_document_shows_only_to_its_author(server: ServerProcess, pki: DevPki) -> None:
    """MASQUE_PS hides a document from professionals except its author: in ITI-67, in a
    read by id, and at its ITI-68 address."""
    author = vihf(pki, authentication_mode=DIRECT)
    colleague = vihf(
        pki, professional_id=COLLEAGUE, professional_name="MARTIN Paul", authentication_mode=DIRECT
    )
    masked = bundle(b"masked from professionals", masked=True)
    answer = call(
        server,
        pki,
        "POST",
        "/fhir",
        author,
        data=json.dumps(masked).encode(),
        headers={"Content-Type": "application/fhir+json"},
    )
    assert answer.status_code == 200, answer.text
    location = answer.json()["entry"][1]["response"]["location"]
    wanted = masked["entry"][1]["resource"]["masterIdentifier"]["value"]

    open_one = bundle(b"visible to every professional authorised")
    shown = open_one["entry"][1]["resource"]["masterIdentifier"]["value"]
    assert publish_bundle(server, pki, author, open_one).status_code == 200

    def seen_by(who: etree._Element) -> set[str]:
        found = search(server, pki, who)
        assert found.status_code == 200, found.text
        return {e["resource"]["masterIdentifier"]["value"] for e in found.json().get("entry", [])}

    assert {wanted, shown} <= seen_by(author)
    assert shown in seen_by(colleague)
    assert wanted not in seen_by(colleague)
    read = call(server, pki, "GET", f"/fhir/{location}", colleague)
    assert read.status_code == 404
    mine = call(server, pki, "GET", f"/fhir/{location}", author).json()
    url = mine["content"][0]["attachment"]["url"]
    assert call(server, pki, "GET", url.removeprefix(server.url), colleague).status_code == 404
    assert call(server, pki, "GET", url.removeprefix(server.url), author).status_code == 200
    set_at = answer.json()["entry"][0]["response"]["location"]
    held = call(server, pki, "GET", f"/fhir/{set_at}", author).json()
    assert [e["item"]["reference"] for e in held["entry"]] == [location]
    seen = call(server, pki, "GET", f"/fhir/{set_at}", colleague)
    assert seen.status_code == 200, seen.text
    assert "entry" not in seen.json()  # the List shows, its masked member does not


def test_the_author_masks_then_deletes_with_patch_the_colleague_may_not(
    server: ServerProcess, pki: DevPki
) -> None:
    """DMP TD3.3a over PDSm's PATCH: MASQUE_PS by a new version; then a status change by the
    author, which the colleague may not make. (This server runs the generic profile: the
    DMP's logical delete, entered-in-error, is refused there with XDSMetadataUpdateError.)"""
    author = vihf(pki, authentication_mode=DIRECT)
    colleague = vihf(
        pki, professional_id=COLLEAGUE, professional_name="MARTIN Paul", authentication_mode=DIRECT
    )
    content = bundle(b"to be masked, then deleted")
    wanted = content["entry"][1]["resource"]["masterIdentifier"]["value"]
    assert publish_bundle(server, pki, author, content).status_code == 200
    conditional = f"/fhir/DocumentReference?identifier=urn:ietf:rfc:3986%7C{wanted}"
    mask = [
        {
            "op": "add",
            "path": "/securityLabel/-",
            "value": {"coding": [{"system": MASKING, "code": "MASQUE_PS"}]},
        }
    ]

    def patch(who: etree._Element, body: Any) -> requests.Response:
        return call(
            server,
            pki,
            "PATCH",
            conditional,
            who,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json-patch+json"},
        )

    def seen_by(who: etree._Element) -> bool:
        found = search(server, pki, who)
        assert found.status_code == 200, found.text
        entries = found.json().get("entry", [])
        return wanted in {e["resource"]["masterIdentifier"]["value"] for e in entries}

    assert seen_by(colleague)
    masked = patch(author, mask)
    assert masked.status_code == 200, masked.text
    assert not seen_by(colleague) and seen_by(author)
    delete = [{"op": "replace", "path": "/status", "value": "entered-in-error"}]
    assert patch(author, delete).status_code == 422  # the generic profile has no Deleted
    supersede = [{"op": "replace", "path": "/status", "value": "superseded"}]
    refused = patch(colleague, supersede)
    assert refused.status_code == 404, refused.text  # the colleague cannot even see it
    superseded = patch(author, supersede)
    assert superseded.status_code == 200, superseded.text
    assert not seen_by(author)  # the search asks for status=current
