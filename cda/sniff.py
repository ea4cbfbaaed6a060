"""Is this file a CDA document? Decided from its first bytes, without reading it all.

The repository receives documents of any size and type; only a CDA R2 document (root
ClinicalDocument in urn:hl7-org:v3) is worth a full parse, so the start is read with a
hardened pull parser until the root element shows up.
"""

from __future__ import annotations

from typing import BinaryIO

from lxml import etree

from cda.header import CLINICAL_DOCUMENT
from cda.names import HL7

SNIFF_BYTES = 64 * 1024  # generous: CI-SIS examples open with a few KB of comments


def is_cda_start(prefix: bytes) -> bool:
    """Whether `prefix` (the first bytes of a file) opens a ClinicalDocument in urn:hl7-org:v3."""
    parser = etree.XMLPullParser(
        events=("start",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    try:
        parser.feed(prefix)
        for _, element in parser.read_events():
            tag = getattr(element, "tag", None)
            return bool(tag == f"{{{HL7}}}{CLINICAL_DOCUMENT}")
    except (etree.XMLSyntaxError, ValueError, LookupError):
        return False
    return False


def is_cda_stream(stream: BinaryIO, limit: int = SNIFF_BYTES) -> bool:
    """`is_cda_start` on the first `limit` bytes of a binary file (read from where it stands)."""
    return is_cda_start(stream.read(limit))


__all__ = ["SNIFF_BYTES", "is_cda_start", "is_cda_stream"]
