"""A CDA document as inert HTML for people: the header, then the narrative of each section.

Safety comes from construction, not from filtering: the output is built from a fixed set
of tags written here, every piece of document text goes through `html.escape`, and no
attribute of the document is ever copied. So a ``<script>``, an ``onload=`` or a
``javascript:`` link in the narrative can only come out as text. Nothing is loaded: no
image, no stylesheet, no link to another site (a linkHtml shows its text and its address
as text). A strict Content-Security-Policy forbids every load and script anyway, as a
second wall. A level 1 document's embedded PDF is offered as a download of a ``data:``
URI (re-encoded here, PDF only), never displayed inline.
"""

from __future__ import annotations

import base64
import binascii
from html import escape

from lxml import etree

from cda.errors import CdaError
from cda.header import CdaHeader, header_of, parse_cda
from cda.names import HL7, NS, name_parts, str_text, text_of
from ebrim.safexml import DEFAULT_MAX_BYTES

CSP = "default-src 'none'; base-uri 'none'; form-action 'none'"
_EMBEDDABLE = frozenset({"application/pdf"})
_SIMPLE = {"sub": "sub", "sup": "sup", "caption": "caption", "thead": "thead",
           "tbody": "tbody", "tfoot": "tfoot", "tr": "tr", "th": "th", "td": "td",
           "item": "li"}  # fmt: skip
_STYLES = (("bold", "strong"), ("italics", "em"), ("underline", "u"))


def render_html(document_bytes: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """A complete, self-contained HTML page showing the document; `CdaError` if it is not CDA."""
    root = parse_cda(document_bytes, max_bytes=max_bytes)
    try:
        header = header_of(root, hash="", size=len(document_bytes))
    except CdaError:
        header = None  # still show what can be shown
    title = text_of(root.find("h:title", NS)) or "Document"
    out = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{escape(title)}</title></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    out += _header(root, header)
    out.append("<main>")
    out += _body(root)
    out.append("</main></body></html>")
    return "\n".join(out)


def _header(root: etree._Element, header: CdaHeader | None) -> list[str]:
    rows: list[tuple[str, str]] = []
    person = root.find("h:recordTarget/h:patientRole/h:patient", NS)
    if person is not None:
        family, given, _, _ = name_parts(person.find("h:name", NS))
        rows.append(("Patient", f"{family} {given}".strip()))
        birth = person.find("h:birthTime", NS)
        if birth is not None and birth.get("value"):
            rows.append(("Birth date", _date(birth.get("value", ""))))
        gender = person.find("h:administrativeGenderCode", NS)
        if gender is not None and gender.get("code"):
            rows.append(("Gender", gender.get("displayName") or gender.get("code") or ""))
    if header is not None:
        rows.append(("Patient id", ", ".join(header.patient.ids)))
    for author in root.findall("h:author/h:assignedAuthor", NS):
        family, given, prefix, _ = name_parts(author.find("h:assignedPerson/h:name", NS))
        organization = text_of(author.find("h:representedOrganization/h:name", NS))
        who = " ".join(p for p in (prefix, given, family) if p)
        rows.append(("Author", ", ".join(p for p in (who, organization) if p)))
    effective = root.find("h:effectiveTime", NS)
    if effective is not None and effective.get("value"):
        rows.append(("Date", _date(effective.get("value", ""))))
    period = root.find("h:documentationOf/h:serviceEvent/h:effectiveTime", NS)
    if period is not None:
        for edge, label in (("low", "Service start"), ("high", "Service end")):
            element = period.find(f"h:{edge}", NS)
            if element is not None and element.get("value"):
                rows.append((label, _date(element.get("value", ""))))
    lines = ["<header><dl>"]
    for label, value in rows:
        lines.append(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>")
    lines.append("</dl></header>")
    return lines


def _date(value: str) -> str:
    """A TS shown as written by its author: ``2021-05-03 11:45 +0100``."""
    digits, zone = value[:14], value[14:].lstrip(".0123456789")
    parts = [digits[0:4], digits[4:6], digits[6:8]]
    day = "-".join(p for p in parts if p)
    time = ":".join(p for p in (digits[8:10], digits[10:12]) if p)
    return " ".join(p for p in (day, time, zone) if p)


def _body(root: etree._Element) -> list[str]:
    non_xml = root.find("h:component/h:nonXMLBody/h:text", NS)
    if non_xml is not None:
        return _embedded(non_xml)
    out: list[str] = []
    for section in root.findall("h:component/h:structuredBody/h:component/h:section", NS):
        out += _section(section, level=2)
    return out


def _section(section: etree._Element, level: int) -> list[str]:
    tag = f"h{min(level, 6)}"
    out = ["<section>"]
    title = text_of(section.find("h:title", NS))
    if title:
        out.append(f"<{tag}>{escape(title)}</{tag}>")
    text = section.find("h:text", NS)
    if text is not None:
        out.append(f"<div>{_narrative_children(text)}</div>")
    for child in section.findall("h:component/h:section", NS):
        out += _section(child, level + 1)
    out.append("</section>")
    return out


def _narrative_children(element: etree._Element) -> str:
    parts = [escape(element.text or "")]
    for child in element:
        parts.append(_narrative(child))
        parts.append(escape(child.tail or ""))
    return "".join(parts)


def _narrative(element: etree._Element) -> str:
    """One element of the CDA narrative block as HTML (tags from this module only)."""
    if not isinstance(element.tag, str):
        return ""  # comments and processing instructions (the parser drops them anyway)
    name = etree.QName(element)
    if name.namespace != HL7:
        return escape(text_of(element))
    local = name.localname
    inner = _narrative_children(element)
    if local == "paragraph":
        return f"<p>{inner}</p>"
    if local == "br":
        return "<br>"
    if local == "list":
        tag = "ol" if (element.get("listType") or "").lower() == "ordered" else "ul"
        return f"<{tag}>{inner}</{tag}>"
    if local == "table":
        return f"<table>{inner}</table>"
    if local in _SIMPLE:
        return f"<{_SIMPLE[local]}>{inner}</{_SIMPLE[local]}>"
    if local == "content":
        styles = (element.get("styleCode") or "").lower()
        for style, tag in _STYLES:
            if style in styles:
                inner = f"<{tag}>{inner}</{tag}>"
        return f"<span>{inner}</span>"
    if local == "linkHtml":
        href = element.get("href") or ""
        shown = f" ({escape(href)})" if href else ""
        return f"<span>{inner}{shown}</span>"
    if local == "renderMultiMedia":
        return "<span>[multimedia content not shown]</span>"
    if local in ("col", "colgroup"):
        return ""
    return f"<span>{inner}</span>"  # footnote, footnoteRef and anything unknown: text only


def _embedded(text: etree._Element) -> list[str]:
    media_type = (text.get("mediaType") or "text/plain").strip().lower()
    raw = str_text(text)
    if (text.get("representation") or "TXT").upper() != "B64":
        return [f"<pre>{escape(raw)}</pre>"]
    try:
        content = base64.b64decode("".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        return ["<p>The embedded document is not valid base64 and cannot be offered.</p>"]
    note = f"Embedded document ({escape(media_type)}, {len(content)} bytes)"
    if media_type not in _EMBEDDABLE:
        return [f"<p>{note}: not shown.</p>"]
    uri = f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"
    return [f'<p>{note}: <a download="document.pdf" href="{uri}">download the PDF</a></p>']


__all__ = ["CSP", "render_html"]
