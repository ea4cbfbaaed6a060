"""A development PKI made by `pki` for the security tests, and signed VIHFs built from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lxml import etree

from pki import (
    CA,
    Establishment,
    ServerCertificate,
    init_ca,
    issue_establishment,
    issue_server,
    revoke,
)
from pki._files import read_cert
from pki.assertion import (
    Code,
    Software,
    VihfOptions,
    build_vihf,
    issuer_name,
    sign_assertion,
)
from pki.assertion.names import PROFESSION_SYSTEM, Attr, ds, saml

INS = "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"
OTHER_INS = "180012B12345678^^^&1.2.250.1.213.1.4.10&ISO^NH"
DOCTOR = Code("10", PROFESSION_SYSTEM, "Médecin")
CERT_HEADER = "X-SSL-Client-Cert"


@dataclass(frozen=True)
class DevPki:
    ca: CA
    hospital: Establishment
    stranger: Establishment  # from another CA, trusted by nobody
    expired: Establishment
    revoked: Establishment
    server: ServerCertificate
    rival: Establishment  # another establishment under the same CA


def make_pki(folder: Path) -> DevPki:
    ca = init_ca(folder / "pki")
    hospital = issue_establishment(ca, ca.folder, name="CH Test", finess="750712184")
    long_ago = datetime.now(UTC) - timedelta(days=30)
    expired = issue_establishment(
        ca, ca.folder, name="CH Old", finess="750000001", days=2, not_before=long_ago
    )
    revoked = issue_establishment(ca, ca.folder, name="CH Revoked", finess="750000002")
    revoke(ca, revoked.tls_cert)
    other = init_ca(folder / "other")
    stranger = issue_establishment(other, other.folder, name="CH Test", finess="750712184")
    server = issue_server(ca, ca.folder)
    rival = issue_establishment(ca, ca.folder, name="CH Rival", finess="690000011")
    return DevPki(ca, hospital, stranger, expired, revoked, server, rival)


def vihf(
    pki: DevPki,
    *,
    by: Establishment | None = None,
    sign: bool = True,
    now: datetime | None = None,
    **changes: Any,
) -> etree._Element:
    """A VIHF for `INS` by the hospital, signed with its SIGN certificate unless `sign=False`."""
    signer = by or pki.hospital
    fields: dict[str, Any] = {
        "professional_id": "899700218896",
        "professional_name": "DUPONT Jean",
        "roles": [DOCTOR],
        "structure_id": pki.hospital.structure_id,
        "sector": "SA01^1.2.250.1.71.4.2.4",
        "patient_id": INS,
        "software": Software("xds-registry-tests", "0.1.0"),
        **changes,
    }
    cert = read_cert(signer.sign_cert)
    assertion = build_vihf(VihfOptions(**fields), issuer=issuer_name(cert), now=now)
    if sign:
        sign_assertion(assertion, signer.sign_key, signer.sign_cert)
    return assertion


def attribute_value(assertion: etree._Element, name: Attr) -> etree._Element:
    path = f"{saml('AttributeStatement')}/{saml('Attribute')}[@Name='{name.value}']"
    found = assertion.find(f"{path}/{saml('AttributeValue')}")
    assert found is not None
    return found


def wrapped(signed: etree._Element, patient: str = OTHER_INS) -> etree._Element:
    """A forged assertion for `patient` carrying the genuine signed one (and its signature)."""
    from copy import deepcopy

    forged = deepcopy(signed)
    forged.remove(forged.find(ds("Signature")))
    attribute_value(forged, Attr.RESOURCE_ID).text = patient
    advice = etree.Element(saml("Advice"))
    advice.append(deepcopy(signed))
    forged.find(saml("Issuer")).addnext(advice)
    forged.find(saml("Issuer")).addnext(deepcopy(signed.find(ds("Signature"))))
    return forged


def proxy_header(cert: Path) -> str:
    """The client certificate as nginx passes it ($ssl_client_escaped_cert)."""
    return quote(cert.read_text())


def iua_token(
    pki: DevPki,
    *,
    by: Establishment | None = None,
    algorithm: str = "RS256",
    audience: str | list[str] | None = None,
    lifetime: int = 300,
    drop: tuple[str, ...] = (),
    **iua: Any,
) -> str:
    """An IUA JWT for `INS` by the hospital's doctor, signed with the SIGN key (x5c header)."""
    import base64
    import time
    import uuid

    import jwt
    from cryptography.hazmat.primitives import serialization

    signer = by or pki.hospital
    key = serialization.load_pem_private_key(signer.sign_key.read_bytes(), password=None)
    cert = read_cert(signer.sign_cert)
    der = cert.public_bytes(serialization.Encoding.DER)
    now = int(time.time())
    extension = {
        "subject_name": "DUPONT Jean",
        "subject_organization": "CH Test",
        "subject_organization_id": pki.hospital.structure_id,
        "subject_role": [{"system": DOCTOR.code_system, "code": DOCTOR.code}],
        "purpose_of_use": [{"system": "1.2.250.1.213.1.1.4.248", "code": "normal"}],
        "national_provider_identifier": "899700218896",
        "person_id": INS,
        **iua,
    }
    claims: dict[str, Any] = {
        "iss": "https://idp.ch-test.example",
        "sub": "899700218896",
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
        "acr": "DIRECTE",
        "extensions": {"ihe_iua": extension},
    }
    if audience is not None:
        claims["aud"] = audience
    for name in drop:
        claims.pop(name, None)
    headers = {"x5c": [base64.b64encode(der).decode()]}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)  # type: ignore[arg-type]
