"""Coded values of the header (CE/CD elements) and the formatCode lookup."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from cda.format_codes import (
    FORMAT_CODE_BY_MEDIA_TYPE,
    FORMAT_CODE_BY_TEMPLATE_ID,
    TRE_A06_FORMAT_CODE_COMPLEMENTAIRE,
    TRE_A11_IHE_FORMAT_CODE,
)
from cda.names import hl7_escape
from ebrim.model import Code


def code_of(element: etree._Element | None) -> Code | None:
    """The Code of a CE/CD element, or None when it has no code or no codeSystem."""
    if element is None:
        return None
    value, system = element.get("code"), element.get("codeSystem")
    if not value or not system:
        return None
    return Code(value.strip(), system.strip(), element.get("displayName"))


def code_string(code: Code) -> str:
    """``code^displayName^codeSystem``: the CI-SIS writing of authorRole and authorSpecialty."""
    return "^".join(hl7_escape(part) for part in (code.code, code.display_name or "", code.scheme))


def format_code(template_ids: Iterable[str], media_type: str | None) -> Code | None:
    """The CI-SIS formatCode of a document from its templateIds, or its nonXMLBody mediaType.

    A level 1 document is known by its body (ASS_A12). For a structured body, when several
    templateIds are in the table (a profile and its French refinement), the longest, most
    specific one wins; they agree in the published table.
    """
    if media_type is not None:
        value = FORMAT_CODE_BY_MEDIA_TYPE.get(media_type.strip().lower())
        return Code(value, TRE_A11_IHE_FORMAT_CODE, value) if value else None
    known = [t for t in template_ids if t in FORMAT_CODE_BY_TEMPLATE_ID]
    if not known:
        return None
    template = max(known, key=lambda t: (t.count("."), len(t)))
    value = FORMAT_CODE_BY_TEMPLATE_ID[template]
    scheme = (
        TRE_A11_IHE_FORMAT_CODE
        if value.startswith("urn:ihe:")
        else (TRE_A06_FORMAT_CODE_COMPLEMENTAIRE)
    )
    return Code(value, scheme, value)


__all__ = ["code_of", "code_string", "format_code"]
