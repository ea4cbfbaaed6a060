"""The hardened parser refuses every hostile input with a typed error and never reaches out."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebrim.errors import ForbiddenXML, MalformedXML, XMLRejected, XMLTooLarge
from ebrim.safexml import XMLLimits, parse_xml

HOSTILE = Path(__file__).parent / "data" / "hostile"


@pytest.mark.parametrize("blank_text", [True, False], ids=["as sent", "without blanks"])
@pytest.mark.parametrize("path", sorted(HOSTILE.glob("*.xml")), ids=lambda p: p.stem)
def test_hostile_corpus_rejected_with_typed_error(path: Path, blank_text: bool) -> None:
    with pytest.raises(XMLRejected):
        parse_xml(path.read_bytes(), blank_text=blank_text)


def test_blank_text_is_kept_unless_asked() -> None:
    """Kept by default (a signature's digest covers it); dropped on request between
    elements only: an element whose content is blank keeps it."""
    data = b"<a>\n  <b> </b>\n  <c>x</c>\n</a>"
    kept = parse_xml(data)
    assert kept.text == "\n  " and kept[0].tail == "\n  "
    dropped = parse_xml(data, blank_text=False)
    assert dropped.text is None and dropped[0].tail is None
    assert dropped[0].text == " " and dropped[1].text == "x"


def test_internal_dtd_rejected_as_forbidden() -> None:
    with pytest.raises(ForbiddenXML, match="DOCTYPE"):
        parse_xml(b'<!DOCTYPE r [<!ENTITY a "x">]><r>&a;</r>')


def test_quadratic_blowup_rejected_without_expansion() -> None:
    # libxml2's amplification guard or our DOCTYPE refusal stops it: either is a typed rejection.
    entity = "x" * 50_000
    body = "&a;" * 50_000
    data = f'<!DOCTYPE r [<!ENTITY a "{entity}">]><r>{body}</r>'.encode()
    with pytest.raises(XMLRejected):
        parse_xml(data)


def test_external_entity_never_read() -> None:
    with pytest.raises(XMLRejected) as caught:
        parse_xml((HOSTILE / "external_entity_file.xml").read_bytes())
    assert "root:" not in str(caught.value)


def test_deep_nesting_rejected_as_malformed() -> None:
    data = b"<a>" * 10_000 + b"</a>" * 10_000
    with pytest.raises(MalformedXML, match="depth"):
        parse_xml(data)


def test_input_over_byte_limit_rejected_before_parsing() -> None:
    with pytest.raises(XMLTooLarge, match="limit of 100"):
        parse_xml(b"<a>" + b"x" * 200 + b"</a>", XMLLimits(max_bytes=100))


def test_text_node_over_10mb_needs_huge_tree() -> None:
    data = b"<a>" + b"x" * (11 * 1024 * 1024) + b"</a>"
    with pytest.raises(MalformedXML):
        parse_xml(data)
    assert len(parse_xml(data, XMLLimits(huge_tree=True)).text) == 11 * 1024 * 1024


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"<a>", b"<a></b>", b"not xml", b"\xff\xfe\x00", b"<a>\x00</a>"],
    ids=["empty", "blank", "unclosed", "mismatched", "text", "bad-bytes", "nul"],
)
def test_malformed_input_rejected_as_malformed(data: bytes) -> None:
    with pytest.raises(MalformedXML):
        parse_xml(data)


def test_unknown_encoding_rejected_as_malformed() -> None:
    with pytest.raises(MalformedXML, match="encoding"):
        parse_xml(b'<?xml version="1.0" encoding="x-bogus"?><a/>')


def test_utf16_document_parsed() -> None:
    assert parse_xml("<a>é</a>".encode("utf-16")).text == "é"


def test_xinclude_left_unprocessed() -> None:
    data = (
        b'<r xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="/etc/passwd" parse="text"/></r>'
    )
    root = parse_xml(data)
    assert len(root) == 1 and root.text is None


def test_comments_and_processing_instructions_dropped() -> None:
    root = parse_xml(b"<r><!-- c --><?pi x?><s/></r>")
    assert [child.tag for child in root] == ["s"]


def test_str_input_refused() -> None:
    with pytest.raises(TypeError):
        parse_xml("<a/>")  # type: ignore[arg-type]
