"""Every example document is structurally valid against the CI-SIS extended CDA schema."""

from __future__ import annotations

from functools import cache

import pytest
from conftest import CDA_EXAMPLES, CDA_SCHEMA
from lxml import etree

EXAMPLES = sorted(p.name for p in CDA_EXAMPLES.glob("*.xml"))


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(CDA_SCHEMA / "CDA_extended.xsd")))


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_valid_against_cda_extended_schema(name: str) -> None:
    document = etree.parse(str(CDA_EXAMPLES / name))
    valid = schema().validate(document)
    assert valid, [f"{e.line}: {e.message}" for e in schema().error_log]


def test_schema_rejects_a_header_out_of_order() -> None:
    bad = etree.fromstring(
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1.2.3"/>'
        b'<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/></ClinicalDocument>'
    )
    assert not schema().validate(bad)
