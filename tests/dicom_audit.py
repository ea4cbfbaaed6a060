"""Validation of DICOM audit messages against the PS3.15 A.5.1 schema (tests/data/atna)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

RNG = Path(__file__).resolve().parent / "data" / "atna" / "dicom-audit-message.rng"


@cache
def dicom_audit_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(RNG)))


def assert_dicom_audit_valid(message: bytes) -> etree._Element:
    """The parsed message; fails with the schema's own messages when it does not validate."""
    root = etree.fromstring(message)
    schema = dicom_audit_schema()
    if not schema.validate(root):
        errors = "\n".join(str(e) for e in schema.error_log)
        raise AssertionError(f"not a valid DICOM audit message:\n{errors}")
    return root
