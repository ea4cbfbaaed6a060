"""The access rules as data: who is a patient or a legal representative, and which
typeCodes each profession may read (`access_rules.json`, shipped; an operator's file
replaces it through `RegistrySettings.access_rules`).

File format (JSON, UTF-8)::

    {
      "format": "xds-registry/access-rules/1",
      "profession_system": "1.2.250.1.71.1.2.7",
      "requester_kinds": {"patient": ["ONESELF^^2.16.840.1.113883.5.111"],
                          "legal_representative": ["GUARD^^2.16.840.1.113883.5.111"]},
      "type_code_groups": {"biology": ["11502-2^^2.16.840.1.113883.6.1", ...]},
      "professions": {"10": {"name": "Médecin", "read": ["*"]},
                      "21": {"name": "Pharmacien",
                             "read": ["@biology", "60593-1^^2.16.840.1.113883.6.1"]}},
      "other_professions": {"read": []}
    }

A code is ``code^^codeSystem`` (the stored-query notation); ``@name`` stands for a group,
``*`` for every typeCode. A requester role listed under `requester_kinds` makes the
requester a patient or a legal representative; anyone else is a professional, whose
profession codes (roles in `profession_system`) select the rows of the matrix; a
profession the file does not list reads what `other_professions` says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

FORMAT = "xds-registry/access-rules/1"
EVERYTHING = "*"

CodeKey = tuple[str, str]  # (code, code system)


class RulesError(ValueError):
    """An access-rules file that does not follow the format."""


@dataclass(frozen=True)
class AccessRules:
    """The loaded rules. `readable[profession]` is None when that profession reads every type."""

    profession_system: str
    patient_roles: frozenset[CodeKey] = frozenset()
    legal_representative_roles: frozenset[CodeKey] = frozenset()
    readable: Mapping[str, frozenset[CodeKey] | None] = field(default_factory=dict)
    other_professions: frozenset[CodeKey] | None = frozenset()

    def readable_types(self, professions: Iterable[str]) -> frozenset[CodeKey] | None:
        """The typeCodes someone with these professions may read (None: all of them)."""
        union: set[CodeKey] = set()
        for profession in professions:
            allowed = self.readable.get(profession, self.other_professions)
            if allowed is None:
                return None
            union |= allowed
        return frozenset(union)


def parse_code(text: str) -> CodeKey:
    code, sep, system = text.partition("^^")
    if not sep or not code or not system:
        raise RulesError(f"{text!r} is not code^^codeSystem")
    return code, system


def _expand(
    items: Any, groups: Mapping[str, frozenset[CodeKey]], where: str
) -> frozenset[CodeKey] | None:
    if not isinstance(items, list):
        raise RulesError(f"{where}: 'read' must be a list")
    out: set[CodeKey] = set()
    for item in items:
        if item == EVERYTHING:
            return None
        if not isinstance(item, str):
            raise RulesError(f"{where}: {item!r} is not a string")
        if item.startswith("@"):
            if item[1:] not in groups:
                raise RulesError(f"{where}: unknown group {item}")
            out |= groups[item[1:]]
        else:
            out.add(parse_code(item))
    return frozenset(out)


def rules_from(data: Mapping[str, Any]) -> AccessRules:
    """Check and load a parsed rules document."""
    if data.get("format") != FORMAT:
        raise RulesError(f"format must be {FORMAT!r}, not {data.get('format')!r}")
    kinds = data.get("requester_kinds", {})
    groups = {
        name: frozenset(parse_code(c) for c in codes)
        for name, codes in data.get("type_code_groups", {}).items()
    }
    readable = {
        str(profession): _expand(row.get("read", []), groups, f"profession {profession}")
        for profession, row in data.get("professions", {}).items()
    }
    return AccessRules(
        profession_system=str(data.get("profession_system", "1.2.250.1.71.1.2.7")),
        patient_roles=frozenset(parse_code(c) for c in kinds.get("patient", [])),
        legal_representative_roles=frozenset(
            parse_code(c) for c in kinds.get("legal_representative", [])
        ),
        readable=readable,
        other_professions=_expand(
            data.get("other_professions", {}).get("read", []), groups, "other_professions"
        ),
    )


def load_rules(path: Path | None = None) -> AccessRules:
    """The rules in `path`, or the shipped defaults."""
    if path is None:
        text = resources.files("registry.policy").joinpath("access_rules.json").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RulesError(f"access rules {path or '(shipped)'}: {exc}") from exc
    if not isinstance(data, dict):
        raise RulesError("the access rules must be a JSON object")
    return rules_from(data)


__all__ = ["AccessRules", "RulesError", "load_rules", "parse_code", "rules_from"]
