"""The ANS correspondence typeCode → classCode (ASS_X04), as a FHIR ConceptMap.

CI-SIS derives a document's classCode from its typeCode through the association table
ASS_X04-CorrespondanceType-Classe-CISIS, which the ANS publishes (among other formats) as a
FHIR R4 ConceptMap in JSON: groups whose source is a typeCode system (TRE_A04-Loinc,
TRE_A05-TypeDocComplementaire) and whose target is TRE_A03-ClasseDocument, each element
mapping one typeCode to one classCode. The table changes with the ANS's releases, so it is
not shipped: an operator loads the file they downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from ebrim.model import Code

# TRE_A03-ClasseDocument, the classCode system of the DMP.
CLASS_CODE_SYSTEM = "1.2.250.1.213.1.1.4.1"
_SYSTEMS_BY_NAME = {"TRE_A03-ClasseDocument": CLASS_CODE_SYSTEM}


class ClassCodeMapError(ValueError):
    """The file is not a usable typeCode → classCode ConceptMap."""


@dataclass(frozen=True)
class ClassCodeMap:
    """typeCode code → classCode."""

    classes: Mapping[str, Code]

    def class_of(self, type_code: Code) -> Code | None:
        return self.classes.get(type_code.code)


def parse_class_code_map(data: bytes) -> ClassCodeMap:
    """Read a FHIR ConceptMap (JSON) of typeCodes to classCodes; ClassCodeMapError if unusable."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClassCodeMapError(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("resourceType") != "ConceptMap":
        raise ClassCodeMapError("not a FHIR ConceptMap (resourceType)")
    classes: dict[str, Code] = {}
    for group in _list(document, "group"):
        system = _target_system(str(group.get("target", "")))
        for element in _list(group, "element"):
            targets = _list(element, "target")
            if len(targets) != 1 or not element.get("code") or not targets[0].get("code"):
                raise ClassCodeMapError(
                    f"element {element.get('code')!r}: one target code expected"
                )
            target = targets[0]
            code = str(target["code"])
            classes[str(element["code"])] = Code(code, system, str(target.get("display") or code))
    if not classes:
        raise ClassCodeMapError("the ConceptMap maps no typeCode")
    return ClassCodeMap(classes)


def _target_system(url: str) -> str:
    if url.startswith("urn:oid:"):
        return url.removeprefix("urn:oid:")
    for name, oid in _SYSTEMS_BY_NAME.items():
        if name in url:
            return oid
    raise ClassCodeMapError(f"group target {url!r} is not a known classCode system")


def _list(parent: dict, key: str) -> list[dict]:
    value = parent.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ClassCodeMapError(f"{key} is not a list of objects")
    return value


__all__ = ["CLASS_CODE_SYSTEM", "ClassCodeMap", "ClassCodeMapError", "parse_class_code_map"]
