"""VIHF / XUA assertions: what our signer and an independent one produce verifies; each
forgery, expiry, replay, wrapping or mismatch is refused with its own exception."""

from __future__ import annotations

import base64
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import signxml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from ebrim.profile import Profile
from ebrim.safexml import parse_xml
from pki import CA, Establishment, init_ca, issue_establishment, revoke
from pki._files import read_cert, read_key
from pki.assertion import (
    AssertionVerifier,
    AuthenticationMode,
    Code,
    DisallowedAlgorithm,
    ExpiredAssertion,
    InvalidSignature,
    IssuerMismatch,
    MalformedAssertion,
    MissingAttribute,
    NotYetValid,
    PatientMismatch,
    PurposeOfUse,
    ReplayCache,
    ReplayCacheFull,
    ReplayedAssertion,
    SignatureAlgorithm,
    Software,
    StaleAssertion,
    StructureMismatch,
    UnsignedAssertion,
    UntrustedCertificate,
    VihfOptions,
    WrappedAssertion,
    XuaOptions,
    build_vihf,
    build_xua,
    issuer_name,
    sign_assertion,
)
from pki.assertion.names import PROFESSION_SYSTEM, Attr, ds, saml

# The verifier's "now", fixed when the module is collected. The module's certificates are
# made later, when its first test runs (valid from 5 minutes before that): a moment half an
# hour ahead stays inside their validity however long the tests before them take.
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
PATIENT = "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"
OTHER_PATIENT = "180012B12345678^^^&1.2.250.1.213.1.4.10&ISO^NH"
DOCTOR = Code("10", PROFESSION_SYSTEM, "Médecin")


@dataclass(frozen=True)
class Pki:
    ca: CA
    hospital: Establishment
    stranger: Establishment  # issued by another, untrusted CA
    rival: Establishment  # another establishment under the same CA

    def verifier(self, **kwargs: Any) -> AssertionVerifier:
        kwargs.setdefault("clock", lambda: NOW)
        return AssertionVerifier(
            [read_cert(self.ca.root_cert)],
            intermediates=[read_cert(self.ca.intermediate_cert)],
            **kwargs,
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder, elsewhere = tmp_path_factory.mktemp("pki"), tmp_path_factory.mktemp("other")
    ca = init_ca(folder)
    hospital = issue_establishment(ca, folder, name="CH Test", finess="750712184")
    other = init_ca(elsewhere)
    stranger = issue_establishment(other, elsewhere, name="CH Test", finess="750712184")
    rival = issue_establishment(ca, folder, name="CH Rival", finess="690000011")
    return Pki(ca, hospital, stranger, rival)


def vihf_options(pki: Pki, **changes: Any) -> VihfOptions:
    options = VihfOptions(
        professional_id="899700218896",
        professional_name="DUPONT Jean",
        roles=[DOCTOR],
        structure_id=pki.hospital.structure_id,
        sector="SA01^1.2.250.1.71.4.2.4",
        patient_id=PATIENT,
        software=Software("xds-registry", "0.1.0", "HOMOLOGATION-TEST"),
    )
    return replace(options, **changes)


def signed_vihf(
    pki: Pki,
    *,
    by: Establishment | None = None,
    now: datetime = NOW,
    lifetime: timedelta = timedelta(minutes=5),
    algorithm: SignatureAlgorithm = SignatureAlgorithm.RSA_SHA256,
    **changes: Any,
) -> etree._Element:
    signer = by or pki.hospital
    cert = read_cert(signer.sign_cert)
    assertion = build_vihf(
        vihf_options(pki, **changes), issuer=issuer_name(cert), now=now, lifetime=lifetime
    )
    return sign_assertion(assertion, signer.sign_key, signer.sign_cert, algorithm=algorithm)


def check(pki: Pki, assertion: etree._Element, **kwargs: Any) -> Any:
    """Verify in the DMP profile with the hospital's TLS identity and the right patient."""
    verifier_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k not in _VERIFY_ARGS}
    call = {"tls_structure_id": pki.hospital.structure_id, "body_patient_id": PATIENT, **kwargs}
    return pki.verifier(**verifier_kwargs).verify(assertion, **call)


_VERIFY_ARGS = {"tls_structure_id", "body_patient_id"}


def attribute_value(assertion: etree._Element, name: Attr) -> etree._Element:
    path = f"{saml('AttributeStatement')}/{saml('Attribute')}[@Name='{name.value}']"
    found = assertion.find(f"{path}/{saml('AttributeValue')}")
    assert found is not None
    return found


# --- accepted -----------------------------------------------------------------------------


def test_vihf_signed_by_our_builder_verifies(pki: Pki) -> None:
    requester = check(pki, signed_vihf(pki))
    assert requester.professional_id == "899700218896"
    assert requester.name == "DUPONT Jean"
    assert requester.professions == (DOCTOR,)
    assert requester.structure_id == "1750712184"
    assert requester.authentication_mode == AuthenticationMode.INDIRECT.value
    assert requester.purpose_of_use.code == "normal"
    assert requester.patient_id == PATIENT
    assert requester.software == Software("xds-registry", "0.1.0", "HOMOLOGATION-TEST")
    assert requester.vihf_version == "3.0"
    assert not requester.is_emergency


def test_vihf_signed_by_signxml_verifies(pki: Pki) -> None:
    cert = read_cert(pki.hospital.sign_cert)
    assertion = build_vihf(vihf_options(pki), issuer=issuer_name(cert), now=NOW)
    signer = signxml.XMLSigner(
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    signed = signer.sign(
        assertion,
        key=read_key(pki.hospital.sign_key),
        cert=[cert],
        reference_uri=assertion.get("ID"),
    )
    assert check(pki, signed).professional_id == "899700218896"


def test_vihf_taken_from_a_soap_header_verifies(pki: Pki) -> None:
    envelope = etree.Element("{http://www.w3.org/2003/05/soap-envelope}Envelope")
    header = etree.SubElement(envelope, "{http://www.w3.org/2003/05/soap-envelope}Header")
    header.append(signed_vihf(pki))
    parsed = parse_xml(etree.tostring(envelope))
    assertion = parsed.find(f".//{saml('Assertion')}")
    assert assertion is not None
    assert check(pki, assertion).structure_id == pki.hospital.structure_id


def test_break_the_glass_is_an_emergency(pki: Pki) -> None:
    assertion = signed_vihf(
        pki,
        purpose_of_use=PurposeOfUse.BREAK_THE_GLASS,
        authentication_mode=AuthenticationMode.DIRECT,
    )
    assert check(pki, assertion).is_emergency


def test_rsa_sha1_accepted_when_legacy_algorithms_allowed(pki: Pki) -> None:
    assertion = signed_vihf(pki, algorithm=SignatureAlgorithm.RSA_SHA1)
    assert check(pki, assertion, allow_legacy_algorithms=True).name == "DUPONT Jean"


def test_issuer_dn_written_with_spaces_accepted(pki: Pki) -> None:
    cert = read_cert(pki.hospital.sign_cert)
    spaced = ", ".join(reversed([f"{a.rfc4514_attribute_name}={a.value}" for a in cert.subject]))
    assertion = build_vihf(vihf_options(pki), issuer=spaced, now=NOW)
    sign_assertion(assertion, pki.hospital.sign_key, pki.hospital.sign_cert)
    assert check(pki, assertion).issuer == spaced


def xua(pki: Pki, **changes: Any) -> etree._Element:
    cert = read_cert(pki.hospital.sign_cert)
    options = XuaOptions(
        subject_name_id="jdupont",
        subject_id="Jean Dupont",
        roles=[Code("46255001", "2.16.840.1.113883.6.96", "Pharmacist")],
        organisation="CH Test",
        purpose_of_use=Code("TREATMENT", "2.16.840.1.113883.3.18.7.1"),
        patient_id=PATIENT,
    )
    assertion = build_xua(replace(options, **changes), issuer=issuer_name(cert), now=NOW)
    return sign_assertion(assertion, pki.hospital.sign_key, pki.hospital.sign_cert)


def test_generic_xua_accepted_in_generic_profile(pki: Pki) -> None:
    requester = check(pki, xua(pki), profile=Profile.GENERIC, tls_structure_id=None)
    assert requester.name == "Jean Dupont"
    assert requester.organisation == "CH Test"
    assert requester.structure_id is None
    assert requester.software is None


def test_generic_xua_refused_in_dmp_profile(pki: Pki) -> None:
    with pytest.raises(MissingAttribute, match="Identifiant_Structure"):
        check(pki, xua(pki))


# --- refused ------------------------------------------------------------------------------


def test_unsigned_assertion_refused(pki: Pki) -> None:
    cert = read_cert(pki.hospital.sign_cert)
    with pytest.raises(UnsignedAssertion):
        check(pki, build_vihf(vihf_options(pki), issuer=issuer_name(cert), now=NOW))


def test_tampered_attribute_refused(pki: Pki) -> None:
    assertion = signed_vihf(pki)
    attribute_value(assertion, Attr.SUBJECT_ID).text = "MARTIN Paul"
    with pytest.raises(InvalidSignature):
        check(pki, assertion)


def test_tampered_signature_value_refused(pki: Pki) -> None:
    assertion = signed_vihf(pki)
    value = assertion.find(f"{ds('Signature')}/{ds('SignatureValue')}")
    assert value is not None and value.text
    value.text = ("A" if value.text[0] != "A" else "B") + value.text[1:]
    with pytest.raises(InvalidSignature):
        check(pki, assertion)


def test_signature_by_another_key_refused(pki: Pki) -> None:
    # Signed with the stranger's key, but presenting the hospital's (trusted) certificate.
    assertion = signed_vihf(pki, by=pki.stranger)
    trusted = read_cert(pki.hospital.sign_cert)
    assertion.find(f"{saml('Issuer')}").text = issuer_name(trusted)
    certificate = assertion.find(f".//{ds('X509Certificate')}")
    assert certificate is not None
    certificate.text = base64.b64encode(trusted.public_bytes(Encoding.DER)).decode()
    with pytest.raises(InvalidSignature):
        check(pki, assertion)


def test_certificate_from_untrusted_ca_refused(pki: Pki) -> None:
    with pytest.raises(UntrustedCertificate, match="not trusted"):
        check(pki, signed_vihf(pki, by=pki.stranger))


def test_revoked_signing_certificate_refused(tmp_path: Path) -> None:
    ca = init_ca(tmp_path)
    hospital = issue_establishment(ca, tmp_path, name="CH Test", finess="750712184")
    crl = x509.load_pem_x509_crl(revoke(ca, hospital.sign_cert).read_bytes())
    local = Pki(ca, hospital, hospital, hospital)
    with pytest.raises(UntrustedCertificate, match="revoked"):
        check(local, signed_vihf(local), crls=[crl])


def test_issuer_not_naming_the_certificate_refused(pki: Pki) -> None:
    assertion = build_vihf(vihf_options(pki), issuer="CN=Someone Else,O=Elsewhere,C=FR", now=NOW)
    sign_assertion(assertion, pki.hospital.sign_key, pki.hospital.sign_cert)
    with pytest.raises(IssuerMismatch):
        check(pki, assertion)


def test_expired_assertion_refused(pki: Pki) -> None:
    with pytest.raises(ExpiredAssertion) as refused:
        check(pki, signed_vihf(pki), clock=lambda: NOW + timedelta(minutes=7))
    assert type(refused.value) is ExpiredAssertion


def test_not_yet_valid_assertion_refused(pki: Pki) -> None:
    with pytest.raises(NotYetValid):
        check(pki, signed_vihf(pki, now=NOW + timedelta(minutes=10)))


def test_assertion_issued_too_long_ago_refused(pki: Pki) -> None:
    assertion = signed_vihf(pki, now=NOW - timedelta(minutes=20), lifetime=timedelta(hours=1))
    with pytest.raises(StaleAssertion):
        check(pki, assertion, max_age=timedelta(minutes=5))


def test_replayed_assertion_refused(pki: Pki) -> None:
    verifier = pki.verifier()
    assertion = signed_vihf(pki)
    ids = {"tls_structure_id": pki.hospital.structure_id, "body_patient_id": PATIENT}
    verifier.verify(assertion, **ids)
    with pytest.raises(ReplayedAssertion):
        verifier.verify(assertion, **ids)


def test_rsa_sha1_refused_by_default(pki: Pki) -> None:
    with pytest.raises(DisallowedAlgorithm, match="legacy"):
        check(pki, signed_vihf(pki, algorithm=SignatureAlgorithm.RSA_SHA1))


def test_structure_not_matching_tls_certificate_refused(pki: Pki) -> None:
    with pytest.raises(StructureMismatch):
        check(pki, signed_vihf(pki), tls_structure_id="1130000001")


@pytest.mark.parametrize("profile", [Profile.DMP, Profile.GENERIC])
def test_vihf_sealed_by_another_establishment_of_the_same_ca_refused(
    pki: Pki, profile: Profile
) -> None:
    # Issue 13: B's SIGN certificate, A's Identifiant_Structure, A's TLS connection.
    assertion = signed_vihf(pki, by=pki.rival)
    with pytest.raises(StructureMismatch, match="signed by structure '1690000011'"):
        check(pki, assertion, profile=profile)


def test_vihf_sealed_by_the_tls_establishment_claiming_another_structure_refused(
    pki: Pki,
) -> None:
    assertion = signed_vihf(pki, structure_id=pki.rival.structure_id)
    with pytest.raises(StructureMismatch):
        check(pki, assertion)


def test_plain_xua_signed_by_an_identity_provider_is_not_bound(pki: Pki) -> None:
    # The generic profile: no structure claimed, the signer is an IdP, not the establishment.
    assertion = signed_vihf(pki, by=pki.rival, structure_id=None)
    requester = check(pki, assertion, profile=Profile.GENERIC)
    assert requester.structure_id is None


def test_dmp_profile_without_tls_structure_refused(pki: Pki) -> None:
    with pytest.raises(StructureMismatch):
        check(pki, signed_vihf(pki), tls_structure_id=None)


def test_patient_not_matching_body_refused(pki: Pki) -> None:
    with pytest.raises(PatientMismatch):
        check(pki, signed_vihf(pki), body_patient_id=OTHER_PATIENT)


def test_patient_type_code_aside_matches(pki: Pki) -> None:
    body = PATIENT.removesuffix("^NH")
    assert check(pki, signed_vihf(pki), body_patient_id=body).patient_id == PATIENT


def test_vihf_missing_an_attribute_refused(pki: Pki) -> None:
    cert = read_cert(pki.hospital.sign_cert)
    assertion = build_vihf(vihf_options(pki), issuer=issuer_name(cert), now=NOW)
    value = attribute_value(assertion, Attr.LPS_NAME)
    attribute = value.getparent()
    attribute.getparent().remove(attribute)
    sign_assertion(assertion, pki.hospital.sign_key, pki.hospital.sign_cert)
    with pytest.raises(MissingAttribute, match="LPS_Nom"):
        check(pki, assertion)


def test_assertion_with_doctype_refused(pki: Pki) -> None:
    data = b'<!DOCTYPE a [<!ENTITY x "y">]>' + etree.tostring(signed_vihf(pki))
    with pytest.raises(MalformedAssertion):
        check(pki, data)


# --- signature wrapping ---------------------------------------------------------------------


def _forged_copy(signed: etree._Element) -> etree._Element:
    """The signed assertion with another patient and without its signature."""
    forged = deepcopy(signed)
    forged.remove(forged.find(ds("Signature")))
    attribute_value(forged, Attr.RESOURCE_ID).text = OTHER_PATIENT
    return forged


def wrapped_in_advice(signed: etree._Element) -> etree._Element:
    forged = _forged_copy(signed)
    advice = etree.Element(saml("Advice"))
    advice.append(deepcopy(signed))
    forged.find(saml("Issuer")).addnext(advice)
    return forged


def wrapped_with_copied_signature(signed: etree._Element) -> etree._Element:
    forged = wrapped_in_advice(signed)
    forged.find(saml("Issuer")).addnext(deepcopy(signed.find(ds("Signature"))))
    return forged


def wrapped_with_duplicate_id(signed: etree._Element) -> etree._Element:
    # Forged assertion and the genuine (unsigned) content share one ID: which one is meant?
    forged = _forged_copy(signed)
    genuine = deepcopy(signed)
    forged.find(saml("Issuer")).addnext(genuine.find(ds("Signature")))
    advice = etree.SubElement(forged, saml("Advice"))
    advice.append(genuine)
    return forged


def forged_with_reference_elsewhere(signed: etree._Element) -> etree._Element:
    # The genuine assertion moved elsewhere in the envelope; a forged one with a new ID in
    # the header keeps the genuine signature, still pointing at the genuine ID.
    forged = _forged_copy(signed)
    forged.set("ID", "_forged")
    forged.find(saml("Issuer")).addnext(deepcopy(signed.find(ds("Signature"))))
    envelope = etree.Element("{http://www.w3.org/2003/05/soap-envelope}Envelope")
    etree.SubElement(envelope, "Header").append(forged)
    etree.SubElement(envelope, "Body").append(deepcopy(signed))
    return forged


def with_second_reference(signed: etree._Element) -> etree._Element:
    reference = signed.find(f"{ds('Signature')}/{ds('SignedInfo')}/{ds('Reference')}")
    assert reference is not None
    reference.addnext(deepcopy(reference))
    return signed


def with_reference_to_another_id(signed: etree._Element) -> etree._Element:
    reference = signed.find(f"{ds('Signature')}/{ds('SignedInfo')}/{ds('Reference')}")
    assert reference is not None
    subject = signed.find(saml("Subject"))
    assert subject is not None
    subject.set("ID", "_subject")
    reference.set("URI", "#_subject")
    return signed


def with_signature_moved_into_subject(signed: etree._Element) -> etree._Element:
    signed.find(saml("Subject")).append(signed.find(ds("Signature")))
    return signed


def with_extra_transform(signed: etree._Element) -> etree._Element:
    transforms = signed.find(f".//{ds('Transforms')}")
    assert transforms is not None
    etree.SubElement(
        transforms, ds("Transform"), Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"
    )
    return signed


@pytest.mark.parametrize(
    "wrap",
    [
        wrapped_in_advice,
        wrapped_with_copied_signature,
        wrapped_with_duplicate_id,
        forged_with_reference_elsewhere,
        with_second_reference,
        with_reference_to_another_id,
        with_signature_moved_into_subject,
        with_extra_transform,
    ],
)
def test_wrapped_assertion_refused(
    pki: Pki, wrap: Callable[[etree._Element], etree._Element]
) -> None:
    with pytest.raises(WrappedAssertion):
        check(pki, wrap(signed_vihf(pki)), body_patient_id=OTHER_PATIENT)


# --- replay cache -------------------------------------------------------------------------


def test_replay_cache_forgets_expired_entries() -> None:
    cache = ReplayCache(capacity=1)
    cache.check_and_remember("a", expires=NOW + timedelta(minutes=1), now=NOW)
    cache.check_and_remember(
        "b", expires=NOW + timedelta(minutes=3), now=NOW + timedelta(minutes=2)
    )
    assert len(cache) == 1


def test_full_replay_cache_refuses_rather_than_forgets() -> None:
    cache = ReplayCache(capacity=1)
    cache.check_and_remember("a", expires=NOW + timedelta(minutes=1), now=NOW)
    with pytest.raises(ReplayCacheFull):
        cache.check_and_remember("b", expires=NOW + timedelta(minutes=1), now=NOW)
