"""SOAP 1.2 envelopes: read one (header blocks and the body's payload), write one.

SOAP 1.1 is refused with a VersionMismatch fault carrying env:Upgrade, as SOAP 1.2
part 1 section 5.4.7 asks; IHE ITI TF-2x Appendix V requires SOAP 1.2.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from lxml import etree

from soap.faults import SOAP11_ENV, SOAP_ENV, FaultCode, SoapFault, render_fault, sender

ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
HEADER = f"{{{SOAP_ENV}}}Header"
BODY = f"{{{SOAP_ENV}}}Body"
MUST_UNDERSTAND = f"{{{SOAP_ENV}}}mustUnderstand"
_TRUE = {"1", "true"}


@dataclass(frozen=True)
class Envelope:
    """The header blocks, and the one element in the body."""

    headers: tuple[etree._Element, ...]
    payload: etree._Element


def read_envelope(root: etree._Element, *, understood: Collection[str] = ()) -> Envelope:
    """Check that `root` is a SOAP 1.2 envelope and split it.

    `understood` are the namespaces of the header blocks some layer processes; a block
    outside them marked mustUnderstand gets a MustUnderstand fault.
    """
    if root.tag == f"{{{SOAP11_ENV}}}Envelope":
        raise SoapFault(
            FaultCode.VERSION_MISMATCH, "SOAP 1.1 envelope: this service speaks SOAP 1.2 only"
        )
    if root.tag != ENVELOPE:
        raise sender(f"not a SOAP 1.2 envelope: root element is {root.tag}")
    children = [child for child in root if isinstance(child.tag, str)]
    header = children[0] if children and children[0].tag == HEADER else None
    rest = children[1:] if header is not None else children
    if len(rest) != 1 or rest[0].tag != BODY:
        raise sender("a SOAP envelope holds an optional Header then exactly one Body")
    payload = [child for child in rest[0] if isinstance(child.tag, str)]
    if len(payload) != 1:
        raise sender(f"the SOAP Body must hold exactly one element, found {len(payload)}")
    blocks = tuple(b for b in header if isinstance(b.tag, str)) if header is not None else ()
    _check_understood(blocks, understood)
    return Envelope(blocks, payload[0])


def _check_understood(blocks: Sequence[etree._Element], understood: Collection[str]) -> None:
    for block in blocks:
        if (block.get(MUST_UNDERSTAND) or "").strip() not in _TRUE:
            continue
        if etree.QName(block).namespace not in understood:
            raise SoapFault(
                FaultCode.MUST_UNDERSTAND,
                f"header block {block.tag} is marked mustUnderstand and is not understood",
            )


def write_envelope(headers: Sequence[etree._Element], payload: etree._Element) -> bytes:
    """A SOAP 1.2 envelope around `payload`, serialised as UTF-8 with an XML declaration."""
    root = etree.Element(ENVELOPE, nsmap={"env": SOAP_ENV})
    if headers:
        header = etree.SubElement(root, HEADER)
        header.extend(headers)
    etree.SubElement(root, BODY).append(payload)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def write_reply(header_xml: bytes, payload: etree._Element) -> bytes:
    """`write_envelope` for header blocks given serialized (`addressing.reply_header_xml`).

    The same bytes, without building the envelope's elements: the payload is serialized
    alone, which is how it stands in the envelope when it is a tree of its own declaring
    its namespaces, as the operations render every payload. (One taken from inside
    another tree would carry that tree's namespaces in scope: more declarations, the
    same XML.)
    """
    return b"".join(
        [
            _ENVELOPE_OPEN,
            header_xml,
            _BODY_OPEN,
            etree.tostring(payload, encoding="UTF-8", with_tail=False),
            _BODY_CLOSE,
        ]
    )


_ENVELOPE_OPEN = (
    f"<?xml version='1.0' encoding='UTF-8'?>\n<env:Envelope xmlns:env=\"{SOAP_ENV}\"><env:Header>"
).encode()
_BODY_OPEN = b"</env:Header><env:Body>"
_BODY_CLOSE = b"</env:Body></env:Envelope>"


def write_fault(fault: SoapFault, headers: Sequence[etree._Element] = ()) -> bytes:
    """A SOAP 1.2 envelope carrying `fault`."""
    return write_envelope(headers, render_fault(fault))
