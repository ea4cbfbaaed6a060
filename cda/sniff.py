"""Is this file a CDA document? Decided from its first bytes, without reading it all.

The repository receives documents of any size and type; only a CDA R2 document (root
ClinicalDocument in urn:hl7-org:v3) is worth a full parse, so the start is read with a
hardened pull parser until the root element shows up.
"""

from __future__ import annotations

from typing import BinaryIO

from lxml import etree

from cda.header import CI_SIS, CLINICAL_DOCUMENT, SELF_PRESENTED_ROOT
from cda.names import HL7

_CDA = f"{{{HL7}}}{CLINICAL_DOCUMENT}"
# The start tags that open a self-presented document, down to its ClinicalDocument.
_SELF_PRESENTED = (SELF_PRESENTED_ROOT, f"{{{CI_SIS}}}Contenu", _CDA)

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
        for depth, (_, element) in enumerate(parser.read_events()):
            tag = getattr(element, "tag", None)
            if depth == 0 and tag == _CDA:
                return True
            if depth >= len(_SELF_PRESENTED) or tag != _SELF_PRESENTED[depth]:
                return False
            if depth == len(_SELF_PRESENTED) - 1:
                return True
    except (etree.XMLSyntaxError, ValueError, LookupError):
        return False
    return False


def is_cda_stream(stream: BinaryIO, limit: int = SNIFF_BYTES) -> bool:
    """`is_cda_start` on the first `limit` bytes of a binary file (read from where it stands)."""
    return is_cda_start(stream.read(limit))


__all__ = ["SNIFF_BYTES", "is_cda_start", "is_cda_stream"]
