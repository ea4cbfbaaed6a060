"""Does the assertion name who signed it, and the patient the request is about?"""

from __future__ import annotations

import re

from cryptography import x509
from lxml import etree

from pki.assertion.errors import IssuerMismatch
from pki.assertion.names import X509_SUBJECT_NAME, saml


def check_issuer(signed: etree._Element, leaf: x509.Certificate, *, dn_required: bool) -> None:
    """saml:Issuer must name the signing certificate: its subject DN.

    Outside the DMP profile, an Issuer without the X509SubjectName format may instead be the
    certificate's CN or one of its SAN URI/DNS names (an XUA entity id).
    """
    issuer = signed.find(saml("Issuer"))
    if issuer is None or not (issuer.text or "").strip():
        raise IssuerMismatch("the assertion has no saml:Issuer")
    value = (issuer.text or "").strip()
    if issuer.get("Format") == X509_SUBJECT_NAME or dn_required:
        if not same_name(value, leaf.subject):
            raise IssuerMismatch(
                f"Issuer {value!r} is not the signing certificate {leaf.subject.rfc4514_string()}"
            )
        return
    if value not in _certificate_names(leaf):
        raise IssuerMismatch(f"Issuer {value!r} is not a name of the signing certificate")


def same_name(dn: str, name: x509.Name) -> bool:
    """Whether an RFC 4514/2253 DN string names `name`; RDN order and spaces after commas aside."""
    try:
        parsed = x509.Name.from_rfc4514_string(re.sub(r"(?<!\\),\s+", ",", dn.strip()))
    except ValueError:
        return False
    return sorted(_pairs(parsed)) == sorted(_pairs(name))


def _pairs(name: x509.Name) -> list[tuple[str, str]]:
    return [(a.oid.dotted_string, str(a.value)) for a in name]


def _certificate_names(cert: x509.Certificate) -> set[str]:
    names = {str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return names
    names.update(san.get_values_for_type(x509.UniformResourceIdentifier))
    names.update(san.get_values_for_type(x509.DNSName))
    return names


def same_patient(asserted: str, body: str) -> bool:
    """Compare two CX patient ids on id and assigning authority (type code aside)."""
    if asserted == body:
        return True
    a, b = _cx_key(asserted), _cx_key(body)
    return a is not None and a == b


def _cx_key(cx: str) -> tuple[str, str] | None:
    parts = cx.strip().split("^")
    if len(parts) < 4 or not parts[0]:
        return None
    authority = parts[3].split("&")
    if len(authority) < 2 or not authority[1]:
        return None
    return parts[0], authority[1]
