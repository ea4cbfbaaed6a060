"""IUA JSON Web Tokens (ITI-72, JWT option) verified into the same `Requester` as a VIHF.

Trust is the assertions' trust: the ``x5c`` signing certificate chains to the dev CA, is
bound to the TLS client's structure in the DMP profile, and the claims must be complete,
fresh and short-lived. Each refusal is the same `AssertionRejected` family.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import jwt
import pytest
from security_support import INS, OTHER_INS, DevPki, iua_token, make_pki

from ebrim.profile import Profile
from pki import revoke
from pki._files import read_cert
from pki.assertion import AssertionVerifier
from pki.assertion.errors import (
    AssertionRejected,
    ExpiredAssertion,
    InvalidAttribute,
    InvalidSignature,
    MalformedAssertion,
    MissingAttribute,
    PatientMismatch,
    StructureMismatch,
    UntrustedCertificate,
)

FHIR = "https://xds.example.org/fhir"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    made = make_pki(tmp_path_factory.mktemp("iua"))
    revoke(made.ca, made.revoked.sign_cert)  # make_pki revokes its TLS certificate only
    return made


@pytest.fixture(scope="module")
def verifier(pki: DevPki) -> AssertionVerifier:
    import cryptography.x509 as x509

    roots = x509.load_pem_x509_certificates(Path(pki.ca.chain).read_bytes())
    crl = x509.load_pem_x509_crl(Path(pki.ca.crl).read_bytes())
    return AssertionVerifier(roots, profile=Profile.DMP, crls=[crl])


def verify(verifier: AssertionVerifier, pki: DevPki, token: str, **kw: object):
    options = {
        "tls_structure_id": pki.hospital.structure_id,
        "body_patient_id": INS,
        "audience": [FHIR],
        **kw,
    }
    return verifier.verify_token(token, **options)  # type: ignore[arg-type]


def test_a_hospital_token_gives_the_vihf_requester(
    verifier: AssertionVerifier, pki: DevPki
) -> None:
    requester = verify(verifier, pki, iua_token(pki, audience=FHIR))

    assert requester.professional_id == "899700218896"
    assert requester.name == "DUPONT Jean"
    assert requester.structure_id == pki.hospital.structure_id
    assert requester.patient_id == INS
    assert requester.authentication_mode == "DIRECTE"
    assert requester.purpose_of_use is not None and requester.purpose_of_use.code == "normal"
    assert requester.professions and requester.professions[0].code == "10"
    assert requester.signer == read_cert(pki.hospital.sign_cert).subject.rfc4514_string()


@pytest.mark.parametrize(
    ("make", "refusal"),
    [
        (lambda pki: iua_token(pki, by=pki.stranger, audience=FHIR), UntrustedCertificate),
        (lambda pki: iua_token(pki, by=pki.expired, audience=FHIR), UntrustedCertificate),
        (lambda pki: iua_token(pki, by=pki.revoked, audience=FHIR), UntrustedCertificate),
        (
            lambda pki: iua_token(
                pki, by=pki.rival, audience=FHIR, subject_organization_id=pki.rival.structure_id
            ),
            StructureMismatch,
        ),
        (lambda pki: iua_token(pki, by=pki.rival, audience=FHIR), StructureMismatch),
        (lambda pki: iua_token(pki, audience=FHIR, person_id=OTHER_INS), PatientMismatch),
        (lambda pki: iua_token(pki, audience="https://elsewhere.example/fhir"), InvalidAttribute),
        (lambda pki: iua_token(pki), MissingAttribute),  # no aud
        (lambda pki: iua_token(pki, audience=FHIR, drop=("jti",)), MissingAttribute),
        (lambda pki: iua_token(pki, audience=FHIR, lifetime=-120), ExpiredAssertion),
        (lambda pki: iua_token(pki, audience=FHIR, lifetime=7200), InvalidAttribute),
        (lambda pki: iua_token(pki, audience=FHIR, subject_role="doctor"), InvalidAttribute),
        (lambda pki: "eyJhbGciOiJub25lIn0.e30.", InvalidSignature),
        (lambda pki: "not.a.token", MalformedAssertion),
    ],
)
def test_refusals(
    verifier: AssertionVerifier, pki: DevPki, make, refusal: type[AssertionRejected]
) -> None:
    with pytest.raises(refusal):
        verify(verifier, pki, make(pki))


def test_an_hmac_token_signed_with_the_public_certificate_is_refused(
    verifier: AssertionVerifier, pki: DevPki
) -> None:
    """The classic confusion: HS256 keyed with the (public) certificate named in x5c."""
    good = iua_token(pki, audience=FHIR)
    header = jwt.get_unverified_header(good)
    _, body, _ = good.split(".")
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "x5c": header["x5c"]}).encode())
    key = pki.hospital.sign_cert.read_bytes()
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidSignature):
        verify(verifier, pki, f"{head}.{body}.{_b64(mac)}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_tampered_token_does_not_verify(verifier: AssertionVerifier, pki: DevPki) -> None:
    head, body, signature = iua_token(pki, audience=FHIR).split(".")
    claims = jwt.decode(f"{head}.{body}.{signature}", options={"verify_signature": False})
    claims["extensions"]["ihe_iua"]["national_provider_identifier"] = "MARTIN"
    forged_body = _b64(json.dumps(claims).encode())
    with pytest.raises(InvalidSignature):
        verify(verifier, pki, f"{head}.{forged_body}.{signature}")
