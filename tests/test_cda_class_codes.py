"""classCode derived from typeCode with the ANS table ASS_X04 (a FHIR ConceptMap), issue 14."""

from __future__ import annotations

import json

import pytest
from conftest import DATA

from cda.class_codes import CLASS_CODE_SYSTEM, ClassCodeMapError, parse_class_code_map
from ebrim.model import Code

LOINC = "2.16.840.1.113883.6.1"


def test_the_ans_concept_map_gives_each_type_its_class() -> None:
    table = parse_class_code_map((DATA / "class-code-map.json").read_bytes())
    assert table.class_of(Code("11488-4", LOINC)) == Code("10", CLASS_CODE_SYSTEM, "Compte rendu")
    # Without a display in the map, the Name is the code itself.
    assert table.class_of(Code("87273-9", LOINC)) == Code("52", CLASS_CODE_SYSTEM, "52")
    assert table.class_of(Code("00000-0", LOINC)) is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"resourceType": "ValueSet"}', "not a FHIR ConceptMap"),
        (b'{"resourceType": "ConceptMap", "group": []}', "maps no typeCode"),
        (
            json.dumps(
                {
                    "resourceType": "ConceptMap",
                    "group": [{"target": "http://example.org/other", "element": []}],
                }
            ).encode(),
            "not a known classCode system",
        ),
        (
            json.dumps(
                {
                    "resourceType": "ConceptMap",
                    "group": [
                        {
                            "target": "urn:oid:1.2.250.1.213.1.1.4.1",
                            "element": [{"code": "11488-4", "target": []}],
                        }
                    ],
                }
            ).encode(),
            "one target code expected",
        ),
    ],
)
def test_an_unusable_map_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ClassCodeMapError, match=reason):
        parse_class_code_map(data)
