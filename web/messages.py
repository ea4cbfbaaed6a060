"""A captured message as people read it: parts, pretty-printed, key material left out.

An MTOM message is split into its parts: the SOAP envelope shown, each attachment
summarised (content type, size, SHA-256) and offered as a download. XML is re-indented
(through the hardened parser: captured bodies come from outside); JSON re-indented; an
HL7 v2 message one segment per line. In a WS-Security header, signature values, keys and
certificates are replaced by a note saying what was there and how long it was.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass

from lxml import etree

from ebrim.errors import XMLRejected
from ebrim.safexml import XMLLimits, parse_xml
from soap.mtom import parse_content_type

DS = "http://www.w3.org/2000/09/xmldsig#"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XENC = "http://www.w3.org/2001/04/xmlenc#"
# Elements whose text is key material or a signature: shown as a length, never as bytes.
_HIDDEN = {
    f"{{{DS}}}SignatureValue": "signature value",
    f"{{{DS}}}X509Certificate": "certificate",
    f"{{{DS}}}Modulus": "public key",
    f"{{{DS}}}Exponent": "public key",
    f"{{{WSSE}}}BinarySecurityToken": "security token",
    f"{{{XENC}}}CipherValue": "encrypted value",
}


@dataclass(frozen=True)
class Part:
    """One part of a message: shown as text when it is text, else summarised."""

    index: int
    content_type: str
    content_id: str
    size: int
    sha256: str
    text: str | None  # None for a binary part (a document): download it


def parts_of(body: bytes, content_type: str | None) -> list[Part]:
    """The parts of a captured body (one part unless it is multipart)."""
    media, params = parse_content_type(content_type or "application/octet-stream")
    if media.startswith("multipart/") and params.get("boundary"):
        raw = _split(body, params["boundary"])
        if raw is not None:
            return [
                _part(n, data, headers.get("content-type", ""), headers.get("content-id", ""))
                for n, (headers, data) in enumerate(raw)
            ]
    return [_part(0, body, content_type or "", "")]


def part_bytes(body: bytes, content_type: str | None, index: int) -> tuple[bytes, str] | None:
    """The bytes and media type of part `index` (a download)."""
    media, params = parse_content_type(content_type or "application/octet-stream")
    if media.startswith("multipart/") and params.get("boundary"):
        raw = _split(body, params["boundary"])
        if raw is not None and 0 <= index < len(raw):
            headers, data = raw[index]
            return data, headers.get("content-type", "application/octet-stream")
        return None
    return (body, content_type or "application/octet-stream") if index == 0 else None


def _split(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]] | None:
    from soap.multipart import split_multipart

    try:
        parts = split_multipart(io.BytesIO(body), boundary)
    except Exception:  # a truncated capture, or a malformed message: shown whole
        return None
    out = []
    for part in parts:
        out.append((part.headers, part.body.read()))
        part.close()
    return out


def _part(index: int, data: bytes, content_type: str, content_id: str) -> Part:
    return Part(
        index=index,
        content_type=content_type,
        content_id=content_id.strip("<>"),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        text=readable(data, content_type),
    )


def readable(data: bytes, content_type: str) -> str | None:
    """`data` as text for people: XML and JSON indented, HL7 v2 by segment; None if binary."""
    media = parse_content_type(content_type or "text/plain")[0]
    stripped = data.lstrip()
    if "xml" in media or stripped.startswith(b"<"):
        shown = pretty_xml(data)
        if shown is not None:
            return shown
    if "json" in media or stripped.startswith(b"{"):
        try:
            return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    if "hl7" in media or stripped.startswith(b"MSH|"):
        return data.decode("utf-8", "replace").replace("\r", "\n").strip()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(c.isprintable() or c in "\r\n\t" for c in text[:4096])
    return text if printable >= 0.95 * min(len(text), 4096) else None


def pretty_xml(data: bytes) -> str | None:
    """Indented XML with key material replaced by a note; None when it does not parse."""
    try:
        root = parse_xml(data, XMLLimits(huge_tree=True))
    except XMLRejected:
        return None
    for element in root.iter(*_HIDDEN):
        text = (element.text or "").strip()
        if text:
            element.text = f"[{_HIDDEN[str(element.tag)]} not shown: {len(text)} characters]"
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode")


__all__ = ["Part", "part_bytes", "parts_of", "pretty_xml", "readable"]
