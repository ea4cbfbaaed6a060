"""The one hardened XML parser of the project: every parse of outside XML goes through here.

No DTD is loaded or accepted, no entity is resolved, nothing is fetched from the network,
and the input is bounded in size; libxml2 bounds nesting depth (256 levels without
`huge_tree`). A refusal is a typed `XMLRejected`, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from ebrim.errors import ForbiddenXML, MalformedXML, XMLTooLarge

DEFAULT_MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class XMLLimits:
    """What outside XML may be: its size in bytes, and whether text nodes may exceed 10 MB."""

    max_bytes: int = DEFAULT_MAX_BYTES
    huge_tree: bool = False


def make_parser(limits: XMLLimits = XMLLimits()) -> etree.XMLParser:
    """A fresh hardened parser (lxml parsers must not be shared between threads)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=limits.huge_tree,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def parse_xml(data: bytes, limits: XMLLimits = XMLLimits()) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise a subclass of `XMLRejected`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse_xml takes bytes; decoding is the XML declaration's job")
    if len(data) > limits.max_bytes:
        raise XMLTooLarge(f"XML of {len(data)} bytes exceeds the limit of {limits.max_bytes}")
    if not data.strip():
        raise MalformedXML("empty XML document")
    parser = make_parser(limits)
    try:
        root = etree.fromstring(bytes(data), parser)
    except etree.XMLSyntaxError as exc:
        raise MalformedXML(f"malformed XML: {exc}") from None
    except (ValueError, LookupError) as exc:  # e.g. an unknown encoding name
        raise MalformedXML(f"unreadable XML: {exc}") from None
    if root is None:
        raise MalformedXML("XML document has no root element")
    reject_dtd(root)
    return root


def reject_dtd(root: etree._Element) -> None:
    """Refuse any document with a DOCTYPE: XDS messages never need one, attacks do."""
    docinfo = root.getroottree().docinfo
    doctype = docinfo.doctype  # type: ignore[attr-defined]  # missing from lxml-stubs
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ForbiddenXML("XML with a DOCTYPE declaration is not accepted")


def parse_xml_stream(
    stream: BinaryIO, size: int, limits: XMLLimits = XMLLimits()
) -> etree._Element:
    """Like `parse_xml`, from a seekable binary file of `size` bytes read incrementally.

    The caller spooled a large message to disk: parsing from the file keeps the raw bytes
    and the tree from sitting in memory together.
    """
    if size > limits.max_bytes:
        raise XMLTooLarge(f"XML of {size} bytes exceeds the limit of {limits.max_bytes}")
    if size == 0:
        raise MalformedXML("empty XML document")
    try:
        root = etree.parse(stream, make_parser(limits)).getroot()
    except etree.XMLSyntaxError as exc:
        raise MalformedXML(f"malformed XML: {exc}") from None
    except (ValueError, LookupError) as exc:
        raise MalformedXML(f"unreadable XML: {exc}") from None
    if root is None:
        raise MalformedXML("XML document has no root element")
    reject_dtd(root)
    return root
