"""Read a `Requester` out of the signed content of an assertion (never the original tree)."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from pki.assertion.errors import InvalidAttribute, MalformedAssertion, MissingAttribute
from pki.assertion.model import Code, Requester, Software
from pki.assertion.names import (
    NS,
    PURPOSE_OF_USE_SYSTEM,
    RESOURCE_URN_DMP,
    VIHF_REQUIRED,
    VIHF_VERSIONS,
    Attr,
    AuthenticationMode,
    PurposeOfUse,
    saml,
)

_MULTI_VALUED = {Attr.ROLE.value}


def parse_instant(value: str | None, what: str) -> datetime:
    """A SAML xs:dateTime, which must carry its time zone (SAML says UTC)."""
    if not value:
        raise MalformedAssertion(f"{what} is missing")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedAssertion(f"{what} {value!r} is not an xs:dateTime") from None
    if moment.tzinfo is None:
        raise MalformedAssertion(f"{what} {value!r} has no time zone")
    return moment


def attributes(signed: etree._Element) -> dict[str, list[etree._Element]]:
    """AttributeValue elements by Attribute Name, over every AttributeStatement."""
    found: dict[str, list[etree._Element]] = {}
    for attribute in signed.iterfind(f"{saml('AttributeStatement')}/{saml('Attribute')}"):
        name = attribute.get("Name") or ""
        if name in found and name not in _MULTI_VALUED:
            raise InvalidAttribute(f"attribute {name} appears more than once")
        found.setdefault(name, []).extend(attribute.iterfind(saml("AttributeValue")))
    return found


def read_requester(signed: etree._Element, *, signer: str, require_vihf: bool) -> Requester:
    """The requester named by a verified assertion; `require_vihf` enforces the DMP profile."""
    values = attributes(signed)
    if require_vihf:
        missing = sorted(a.value for a in VIHF_REQUIRED if not values.get(a.value))
        if missing:
            raise MissingAttribute(f"the VIHF lacks {', '.join(missing)}")
    name_id = signed.findtext(f"{saml('Subject')}/{saml('NameID')}")
    if not name_id or not name_id.strip():
        raise MissingAttribute("the assertion names no subject (Subject/NameID)")
    subject = _text(values, Attr.SUBJECT_ID)
    if subject is None:
        raise MissingAttribute(f"the assertion lacks {Attr.SUBJECT_ID.value}")
    purposes = [_code(v, Attr.PURPOSE_OF_USE) for v in values.get(Attr.PURPOSE_OF_USE, [])]
    if len(purposes) > 1:
        raise InvalidAttribute("purposeofuse has several values")
    requester = Requester(
        assertion_id=signed.get("ID") or "",
        issuer=(signed.findtext(saml("Issuer")) or "").strip(),
        signer=signer,
        professional_id=name_id.strip(),
        name=subject,
        roles=tuple(_code(v, Attr.ROLE) for v in values.get(Attr.ROLE, [])),
        structure_id=_text(values, Attr.STRUCTURE_ID),
        organisation=_text(values, Attr.ORGANIZATION),
        authentication_mode=_text(values, Attr.AUTHENTICATION_MODE),
        purpose_of_use=purposes[0] if purposes else None,
        patient_id=_text(values, Attr.RESOURCE_ID),
        sector=_text(values, Attr.SECTOR),
        software=_software(values),
        vihf_version=_text(values, Attr.VIHF_VERSION),
        issue_instant=parse_instant(signed.get("IssueInstant"), "IssueInstant"),
    )
    if require_vihf:
        _check_vihf_values(requester, _text(values, Attr.RESOURCE_URN))
    return requester


def _check_vihf_values(requester: Requester, resource_urn: str | None) -> None:
    if requester.vihf_version not in VIHF_VERSIONS:
        raise InvalidAttribute(f"VIHF_Version {requester.vihf_version!r} is not supported")
    if requester.authentication_mode not in {m.value for m in AuthenticationMode}:
        raise InvalidAttribute(f"Authentification_Mode {requester.authentication_mode!r}")
    if resource_urn != RESOURCE_URN_DMP:
        raise InvalidAttribute(f"Ressource_URN {resource_urn!r} is not {RESOURCE_URN_DMP}")
    purpose = requester.purpose_of_use
    if (
        purpose is None
        or purpose.code_system != PURPOSE_OF_USE_SYSTEM
        or purpose.code not in {p.value for p in PurposeOfUse}
    ):
        raise InvalidAttribute(f"purposeofuse {purpose} is not a VIHF purpose of use")
    if not requester.roles:
        raise MissingAttribute("the VIHF names no role")


def _text(values: dict[str, list[etree._Element]], name: Attr) -> str | None:
    found = values.get(name.value, [])
    if not found:
        return None
    if len(found) > 1:
        raise InvalidAttribute(f"attribute {name.value} has several values")
    if len(found[0]):
        raise InvalidAttribute(f"attribute {name.value} holds elements, expected text")
    text = (found[0].text or "").strip()
    return text or None


def _code(value: etree._Element, name: Attr) -> Code:
    """An AttributeValue holding one HL7 CE element (hl7:Role, hl7:PurposeOfUse)."""
    children = [c for c in value if isinstance(c.tag, str)]
    if len(children) != 1 or etree.QName(children[0]).namespace != NS.HL7.value:
        raise InvalidAttribute(f"attribute {name.value} must hold one HL7 CE element")
    ce = children[0]
    code, system = ce.get("code"), ce.get("codeSystem")
    if not code or not system:
        raise InvalidAttribute(f"attribute {name.value} has a CE without code or codeSystem")
    return Code(code, system, ce.get("displayName") or "", ce.get("codeSystemName") or "")


def _software(values: dict[str, list[etree._Element]]) -> Software | None:
    name = _text(values, Attr.LPS_NAME)
    if name is None:
        return None
    return Software(
        name, _text(values, Attr.LPS_VERSION) or "", _text(values, Attr.LPS_HOMOLOGATION) or ""
    )
