"""The one hardened XML parser of the project: every parse of outside XML goes through here.

No DTD is loaded or accepted, no entity is resolved, nothing is fetched from the network,
and the input is bounded in size; libxml2 bounds nesting depth (256 levels without
`huge_tree`). A refusal is a typed `XMLRejected`, never a crash.

A DOCTYPE is refused by reading the prolog ourselves, before libxml2 sees a byte: libxml2
2.14 reads an external subset even with `load_dtd=False`, so a SYSTEM id naming a file
would be opened (leaking which files exist, or hanging on a FIFO). As a second line, the
parser's resolver refuses every external resource libxml2 might still ask for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from ebrim.errors import ForbiddenXML, MalformedXML, XMLTooLarge

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
# A prolog (declaration, comments, processing instructions) longer than this is refused.
MAX_PROLOG_BYTES = 64 * 1024
DOCTYPE_REFUSED = "XML with a DOCTYPE declaration is not accepted"


@dataclass(frozen=True)
class XMLLimits:
    """What outside XML may be: its size in bytes, and whether text nodes may exceed 10 MB."""

    max_bytes: int = DEFAULT_MAX_BYTES
    huge_tree: bool = False


class _RefuseEverything(etree.Resolver):
    """Resolves no URI: libxml2 gets an error instead of a file or a network resource."""

    def resolve(self, system_url: str, public_id: str, context: object = None) -> None:
        raise ForbiddenXML(DOCTYPE_REFUSED)


def make_parser(limits: XMLLimits = XMLLimits(), *, blank_text: bool = True) -> etree.XMLParser:
    """A fresh hardened parser (lxml parsers must not be shared between threads).

    `blank_text=False` drops the whitespace between elements: a quarter less to build for a
    reader that only looks at elements and attributes (never for signed XML or mixed text).
    """
    parser = etree.XMLParser(
        remove_blank_text=not blank_text,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=limits.huge_tree,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    parser.resolvers.add(_RefuseEverything())
    return parser


def parse_xml(
    data: bytes, limits: XMLLimits = XMLLimits(), *, blank_text: bool = True
) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise a subclass of `XMLRejected`.

    `blank_text`: as `make_parser`'s."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse_xml takes bytes; decoding is the XML declaration's job")
    if len(data) > limits.max_bytes:
        raise XMLTooLarge(f"XML of {len(data)} bytes exceeds the limit of {limits.max_bytes}")
    if not data.strip():
        raise MalformedXML("empty XML document")
    refuse_doctype(bytes(data[: MAX_PROLOG_BYTES + 1024]))
    parser = make_parser(limits, blank_text=blank_text)
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
        raise ForbiddenXML(DOCTYPE_REFUSED)


_WHITESPACE = " \t\r\n"


def refuse_doctype(head: bytes) -> None:
    """Refuse a DOCTYPE in the prolog of a document starting with `head`, before any parse.

    The prolog is read as text: the byte-order mark or the first bytes tell UTF-16/32 from
    the ASCII-compatible encodings (UTF-8, Latin-1…), which is all that is needed to find
    the markup between the start and the root element. Anything the scan cannot read is
    left to libxml2, which then refuses it as malformed.
    """
    text = _prolog_text(head)
    if text is None:
        return
    position = 0
    end = len(text)
    while True:
        while position < end and text[position] in _WHITESPACE:
            position += 1
        if text.startswith("<?", position):
            close = text.find("?>", position + 2)
        elif text.startswith("<!--", position):
            close = text.find("-->", position + 4)
        elif text.startswith("<!", position) and text[position + 2 : position + 9].upper() == (
            "DOCTYPE"
        ):
            raise ForbiddenXML(DOCTYPE_REFUSED)
        else:
            return  # the root element, or something libxml2 will refuse as malformed
        if close < 0:
            if end > MAX_PROLOG_BYTES:
                raise MalformedXML(f"XML prolog longer than {MAX_PROLOG_BYTES} bytes")
            return  # unterminated: libxml2 refuses it as malformed
        position = close + 2


def _prolog_text(head: bytes) -> str | None:
    for marks, encoding in _WIDE_ENCODINGS:
        if any(head.startswith(mark) for mark in marks):
            usable = len(head) - len(head) % (4 if "32" in encoding else 2)
            return head[:usable].decode(encoding, errors="replace").lstrip("\ufeff")
    if head.startswith(b"\x4c\x6f\xa7\x94"):  # "<?xm" in EBCDIC: not read here, not accepted
        raise MalformedXML("unsupported XML encoding (EBCDIC)")
    return head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


# Byte-order marks, and the first bytes of "<" or "<?" without one (XML 1.0 appendix F).
_WIDE_ENCODINGS: tuple[tuple[tuple[bytes, ...], str], ...] = (
    ((b"\x00\x00\xfe\xff", b"\x00\x00\x00\x3c"), "utf-32-be"),
    ((b"\xff\xfe\x00\x00", b"\x3c\x00\x00\x00"), "utf-32-le"),
    ((b"\xfe\xff", b"\x00\x3c"), "utf-16-be"),
    ((b"\xff\xfe", b"\x3c\x00"), "utf-16-le"),
)


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
    start = stream.tell()
    refuse_doctype(stream.read(MAX_PROLOG_BYTES + 1024))
    stream.seek(start)
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
