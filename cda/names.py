"""CDA ids (II), person names (PN) and organisations as the HL7 v2 strings of XDS metadata.

French conventions (CI-SIS "structuration minimale", DMP integration guide):
- the patient's INS is ``<NIR>^^^&<OID>&ISO^NH`` (DESIGN.md §5);
- a health professional's national id (RPPS/ADELI prefixed, root 1.2.250.1.71.4.2.1) is
  written with the name type code D and identifier type IDNPS in the XCN;
- an organisation's national id (FINESS/SIRET prefixed, root 1.2.250.1.71.4.2.2) is written
  with identifier type IDNST in the XON.
"""

from __future__ import annotations

import re
import uuid

from lxml import etree

from ebrim.validate.formats import oid_problem

HL7 = "urn:hl7-org:v3"
NS = {"h": HL7}
INS_ROOTS = frozenset(
    {
        "1.2.250.1.213.1.4.8",  # NIR
        "1.2.250.1.213.1.4.9",  # NIA
        "1.2.250.1.213.1.4.10",  # test NIR
        "1.2.250.1.213.1.4.11",  # demonstration NIR
    }
)
NATIONAL_PROFESSIONAL_ID = "1.2.250.1.71.4.2.1"
NATIONAL_STRUCTURE_ID = "1.2.250.1.71.4.2.2"

_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))


def hl7_escape(text: str) -> str:
    """Text made safe to place inside an HL7 v2 component (``^ & | ~ \\`` escaped)."""
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def str_text(element: etree._Element) -> str:
    """All the text under an element, as it is."""
    return "".join(str(part) for part in element.itertext())


def text_of(element: etree._Element | None) -> str:
    """The element's text content with whitespace runs collapsed ('' for None)."""
    if element is None:
        return ""
    return " ".join(str_text(element).split())


def unique_id(element: etree._Element) -> str:
    """A document uniqueId from an II: ``root`` or ``root^extension``.

    An XDS uniqueId is an OID; an II root may be a UUID (CDA R2 allows both), which becomes
    the OID ``2.25.<the UUID as an integer>`` (ISO/IEC 9834-8, as ITI TF-2x Appendix B does).
    """
    root = (element.get("root") or "").strip()
    extension = (element.get("extension") or "").strip()
    if _UUID.match(root):
        root = f"2.25.{uuid.UUID(root).int}"
    return f"{root}^{extension}" if extension else root


_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def is_ins(element: etree._Element) -> bool:
    return (element.get("root") or "").strip() in INS_ROOTS and bool(element.get("extension"))


def cx(element: etree._Element) -> str | None:
    """An II as a CX ``ext^^^&root&ISO`` (``^NH`` for an INS); None without an extension.

    An II with only a root is an identifier without a namespace: not a patient id.
    """
    root = (element.get("root") or "").strip()
    extension = (element.get("extension") or "").strip()
    if not root or not extension:
        return None
    value = f"{hl7_escape(extension)}^^^&{root}&ISO"
    return f"{value}^NH" if root in INS_ROOTS else value


def name_parts(name: etree._Element | None) -> tuple[str, str, str, str]:
    """(family, given, prefix, suffix) of a PN; the birth name (qualifier BR) is preferred."""
    if name is None:
        return "", "", "", ""

    def first(tag: str, qualifier: str | None = None) -> str:
        found = name.findall(f"h:{tag}", NS)
        preferred = [e for e in found if qualifier and qualifier in (e.get("qualifier") or "")]
        for element in preferred or found:
            value = text_of(element)
            if value:
                return value
        return ""

    family = first("family", "BR")
    given = first("given", "BR")
    if not family and not given:
        family = text_of(name)  # a name given as plain text
    return family, given, first("prefix"), first("suffix")


def xcn(id_element: etree._Element | None, name: etree._Element | None) -> str | None:
    """A person as XCN ``id^family^given^^suffix^prefix^^^&root&ISO[^D^^^IDNPS]``."""
    family, given, prefix, suffix = name_parts(name)
    id_number, authority, type_code = "", "", ""
    if id_element is not None:
        root = (id_element.get("root") or "").strip()
        id_number = (id_element.get("extension") or "").strip()
        if id_number and not oid_problem(root):
            authority = f"&{root}&ISO"
        elif not id_number:
            id_number = root if not oid_problem(root) else ""
        if authority and root == NATIONAL_PROFESSIONAL_ID:
            type_code = "IDNPS"
    if not id_number and not family:
        return None
    parts = [id_number, family, given, "", suffix, prefix, "", "", authority]
    parts = [hl7_escape(p) if i != 8 else p for i, p in enumerate(parts)]
    if type_code:
        parts += ["D", "", "", type_code]
    while parts and not parts[-1]:
        parts.pop()
    return "^".join(parts)


def xon(organization: etree._Element | None) -> str | None:
    """An organisation as XON ``name^^^^^&root&ISO^IDNST^^^ext``; None without a name."""
    if organization is None:
        return None
    name = text_of(organization.find("h:name", NS))
    if not name:
        return None
    id_element = organization.find("h:id", NS)
    if id_element is None:
        return hl7_escape(name)
    root = (id_element.get("root") or "").strip()
    extension = (id_element.get("extension") or "").strip()
    if oid_problem(root):
        return hl7_escape(name)
    if not extension:
        return f"{hl7_escape(name)}^^^^^^^^^{root}"
    type_code = "IDNST" if root == NATIONAL_STRUCTURE_ID else ""
    return f"{hl7_escape(name)}^^^^^&{root}&ISO^{type_code}^^^{hl7_escape(extension)}"


__all__ = [
    "HL7",
    "INS_ROOTS",
    "NS",
    "cx",
    "hl7_escape",
    "is_ins",
    "name_parts",
    "str_text",
    "text_of",
    "unique_id",
    "xcn",
    "xon",
]
