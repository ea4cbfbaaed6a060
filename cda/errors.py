"""The exceptions of the CDA reader: each names what is wrong with the document.

Exception tree::

    CdaError                  the bytes cannot be read as a CDA R2 document
    ├── CdaUnreadable         not well-formed XML, a DOCTYPE, an unknown encoding
    ├── CdaTooLarge           over the byte limit the caller set
    ├── NotCda                well-formed XML whose root is not ClinicalDocument
    │   └── WrongNamespace    a ClinicalDocument outside urn:hl7-org:v3
    └── IncompleteHeader      a CDA header without an element the metadata needs
                              (ClinicalDocument/id, recordTarget…)
"""

from __future__ import annotations


class CdaError(Exception):
    """Base of every refusal of the CDA reader."""


class CdaUnreadable(CdaError):
    pass


class CdaTooLarge(CdaError):
    pass


class NotCda(CdaError):
    pass


class WrongNamespace(NotCda):
    pass


class IncompleteHeader(CdaError):
    pass


__all__ = [
    "CdaError",
    "CdaTooLarge",
    "CdaUnreadable",
    "IncompleteHeader",
    "NotCda",
    "WrongNamespace",
]
