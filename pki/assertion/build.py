"""Build unsigned SAML 2.0 assertions: the French VIHF and a generic IHE XUA one."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from lxml import etree

from pki.assertion.model import Code, VihfOptions, XuaOptions
from pki.assertion.names import (
    AUTHN_TLS_CLIENT,
    NAMEID_UNSPECIFIED,
    NS,
    RESOURCE_URN_DMP,
    X509_SUBJECT_NAME,
    Attr,
    saml,
)

DEFAULT_LIFETIME = timedelta(minutes=5)
_NSMAP = {"saml2": NS.SAML.value, "xsi": NS.XSI.value}


def issuer_name(cert: x509.Certificate) -> str:
    """The saml:Issuer value for an assertion sealed with `cert`: its subject DN (RFC 4514)."""
    return cert.subject.rfc4514_string()


def saml_instant(moment: datetime) -> str:
    """xs:dateTime in UTC with a Z, as SAML 2.0 requires (seconds precision)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_vihf(
    options: VihfOptions,
    *,
    issuer: str,
    now: datetime | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
    assertion_id: str | None = None,
) -> etree._Element:
    """An unsigned VIHF assertion; seal it with `sign_assertion`.

    `issuer` is the signing certificate's subject DN (see `issuer_name`).
    """
    root = _skeleton(issuer, options.professional_id, now, lifetime, assertion_id)
    statement = etree.SubElement(root, saml("AttributeStatement"))
    simple = [
        (Attr.VIHF_VERSION, options.vihf_version),
        (Attr.AUTHENTICATION_MODE, options.authentication_mode.value),
        (Attr.STRUCTURE_ID, options.structure_id),
        (Attr.SECTOR, options.sector),
        (Attr.SUBJECT_ID, options.professional_name),
        (Attr.RESOURCE_ID, options.patient_id),
        (Attr.RESOURCE_URN, RESOURCE_URN_DMP),
        (Attr.LPS_NAME, options.software.name),
        (Attr.LPS_VERSION, options.software.version),
        (Attr.LPS_HOMOLOGATION, options.software.homologation),
    ]
    for name, value in simple:
        _text_attribute(statement, name, value)
    _code_attribute(statement, Attr.ROLE, "Role", options.roles)
    _code_attribute(statement, Attr.PURPOSE_OF_USE, "PurposeOfUse", [options.purpose_code()])
    return root


def build_xua(
    options: XuaOptions,
    *,
    issuer: str,
    issuer_format: str = X509_SUBJECT_NAME,
    now: datetime | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
    assertion_id: str | None = None,
) -> etree._Element:
    """An unsigned generic IHE XUA assertion (XSPA attributes only)."""
    root = _skeleton(issuer, options.subject_name_id, now, lifetime, assertion_id, issuer_format)
    statement = etree.SubElement(root, saml("AttributeStatement"))
    _text_attribute(statement, Attr.SUBJECT_ID, options.subject_id)
    for name, value in (
        (Attr.ORGANIZATION, options.organisation),
        (Attr.ORGANIZATION_ID, options.organisation_id),
        (Attr.RESOURCE_ID, options.patient_id),
    ):
        if value is not None:
            _text_attribute(statement, name, value)
    for extra_name, extra_value in options.extra.items():
        _text_attribute(statement, extra_name, extra_value)
    if options.roles:
        _code_attribute(statement, Attr.ROLE, "Role", options.roles)
    if options.purpose_of_use is not None:
        _code_attribute(statement, Attr.PURPOSE_OF_USE, "PurposeOfUse", [options.purpose_of_use])
    return root


def _skeleton(
    issuer: str,
    name_id: str,
    now: datetime | None,
    lifetime: timedelta,
    assertion_id: str | None,
    issuer_format: str = X509_SUBJECT_NAME,
) -> etree._Element:
    instant = now or datetime.now(UTC)
    root = etree.Element(saml("Assertion"), nsmap=_NSMAP)
    root.set("ID", assertion_id or f"_{uuid.uuid4().hex}")  # an NCName: never starts with a digit
    root.set("IssueInstant", saml_instant(instant))
    root.set("Version", "2.0")
    issuer_element = etree.SubElement(root, saml("Issuer"), Format=issuer_format)
    issuer_element.text = issuer
    subject = etree.SubElement(root, saml("Subject"))
    etree.SubElement(subject, saml("NameID"), Format=NAMEID_UNSPECIFIED).text = name_id
    etree.SubElement(
        root,
        saml("Conditions"),
        NotBefore=saml_instant(instant),
        NotOnOrAfter=saml_instant(instant + lifetime),
    )
    authn = etree.SubElement(root, saml("AuthnStatement"), AuthnInstant=saml_instant(instant))
    context = etree.SubElement(authn, saml("AuthnContext"))
    etree.SubElement(context, saml("AuthnContextClassRef")).text = AUTHN_TLS_CLIENT
    return root


def _text_attribute(statement: etree._Element, name: str, value: str) -> None:
    attribute = etree.SubElement(statement, saml("Attribute"), Name=name)
    etree.SubElement(attribute, saml("AttributeValue")).text = value


def _code_attribute(
    statement: etree._Element, name: str, element: str, codes: Iterable[Code]
) -> None:
    """An attribute whose values are HL7 CE elements (<hl7:Role xsi:type="CE" code=.../>)."""
    attribute = etree.SubElement(statement, saml("Attribute"), Name=name)
    for code in codes:
        value = etree.SubElement(attribute, saml("AttributeValue"))
        ce = etree.SubElement(value, f"{{{NS.HL7}}}{element}", nsmap={"hl7": NS.HL7.value})
        ce.set(f"{{{NS.XSI}}}type", "CE")
        ce.set("code", code.code)
        ce.set("codeSystem", code.code_system)
        if code.code_system_name:
            ce.set("codeSystemName", code.code_system_name)
        if code.display_name:
            ce.set("displayName", code.display_name)
