"""CDA R2 documents: XDS metadata from the header, consistency checks, a safe rendering.

Public API::

    header = read_header(data)                       # CdaHeader, or a CdaError subclass
    entry = header.document_entry("Document01", class_code=...)
    metadata = submission_for(header, class_code=..., source_id=..., submission_time=...)
    mismatches = compare(entry, header)              # submitted metadata vs the document
    is_cda_start(first_bytes)                        # cheap sniffing before a full parse
    html = render_html(data)                         # inert HTML for people
"""

from cda.consistency import Mismatch, compare
from cda.errors import (
    CdaError,
    CdaTooLarge,
    CdaUnreadable,
    IncompleteHeader,
    NotCda,
    WrongNamespace,
)
from cda.header import (
    CDA_MIME_TYPE,
    CdaHeader,
    CheckedFields,
    Patient,
    RelatedDocument,
    checked_fields,
    clinical_document_in,
    header_of,
    parse_cda,
    read_header,
)
from cda.render import CSP, render_html
from cda.sniff import SNIFF_BYTES, is_cda_start, is_cda_stream
from cda.submission import submission_for
from cda.times import ts_to_utc_dtm

__all__ = [
    "CDA_MIME_TYPE",
    "CSP",
    "SNIFF_BYTES",
    "CdaError",
    "CdaHeader",
    "CdaTooLarge",
    "CdaUnreadable",
    "CheckedFields",
    "IncompleteHeader",
    "Mismatch",
    "NotCda",
    "Patient",
    "RelatedDocument",
    "WrongNamespace",
    "checked_fields",
    "clinical_document_in",
    "compare",
    "header_of",
    "is_cda_start",
    "is_cda_stream",
    "parse_cda",
    "read_header",
    "render_html",
    "submission_for",
    "ts_to_utc_dtm",
]
