"""The PDSm metadata update (ANS PDSm ``st_maj``; DMP TD3.3a to d): a PATCH of a DocumentReference
read into the ITI-57 request the registry already knows.

Only what PDSm allows may change: ``status``, ``securityLabel`` (the DMP's masking flags,
MASQUE_PS and INVISIBLE_PATIENT) and the ``isArchived`` extension; anything else is a 405.
One change per PATCH:

- ``status`` current -> superseded: UpdateAvailabilityStatus to Deprecated (and back);
  ``entered-in-error``: the DMP's logical delete (Deleted), which the DMP profile's
  transitions allow and the generic one refuses;
- ``isArchived`` true / false: the DMP's Archived status and back to Approved;
- ``securityLabel``: a new version of the DocumentEntry with those confidentiality codes.

The patch is a JSON Patch (RFC 6902: add, remove, replace, test) or a FHIRPath Patch
(a Parameters resource: add, insert, delete, replace on these elements). It is applied to
the DocumentReference as this server renders it, and the result compared with it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from ebrim.model import Code
from ebrim.vocabulary import AvailabilityStatus
from mhd.outcome import FhirError
from mhd.publish import code_of
from mhd.resources import IS_ARCHIVED

Resource = dict[str, Any]
JSON_PATCH = "application/json-patch+json"
CHANGEABLE = frozenset({"status", "securityLabel", "extension"})
_STATUSES = {
    "current": AvailabilityStatus.APPROVED.value,
    "superseded": AvailabilityStatus.DEPRECATED.value,
    "entered-in-error": AvailabilityStatus.DELETED.value,
}


@dataclass(frozen=True)
class Change:
    """The one change a PATCH asks: a new availabilityStatus, or new confidentiality codes."""

    status: str | None = None
    labels: tuple[Code, ...] | None = None


def patched(resource: Resource, body: bytes, media: str) -> Resource:
    """`resource` with the patch in `body` applied; 400 for a patch that cannot apply."""
    try:
        patch = json.loads(body)
    except ValueError as exc:
        raise FhirError(400, f"the patch is not JSON: {exc}", code="structure") from None
    result = copy.deepcopy(resource)
    if media == JSON_PATCH or isinstance(patch, list):
        if not isinstance(patch, list):
            raise FhirError(400, "a JSON Patch is a list of operations", code="structure")
        for operation in patch:
            _json_patch(result, operation)
        return result
    if isinstance(patch, dict) and patch.get("resourceType") == "Parameters":
        for parameter in patch.get("parameter", []):
            _fhirpath_patch(result, parameter)
        return result
    raise FhirError(
        415, f"a PATCH body is {JSON_PATCH} or a FHIRPath Patch Parameters", code="invalid"
    )


def change_of(before: Resource, after: Resource) -> Change:
    """What the patched resource asks; 405 when it touches what PDSm does not allow."""
    touched = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    refused = touched - CHANGEABLE
    extensions_before = [e for e in before.get("extension", []) if e.get("url") != IS_ARCHIVED]
    extensions_after = [e for e in after.get("extension", []) if e.get("url") != IS_ARCHIVED]
    if extensions_before != extensions_after:
        refused.add("extension")
    if refused:
        named = ", ".join(sorted(refused))
        message = f"only status, securityLabel and isArchived may change, not {named}"
        raise FhirError(405, message, code="not-supported")
    changes: list[Change] = []
    if before.get("status") != after.get("status"):
        status = _STATUSES.get(str(after.get("status")))
        if status is None:
            raise FhirError(400, f"status {after.get('status')!r} is not allowed", code="invalid")
        changes.append(Change(status=status))
    archived_before, archived_after = _archived(before), _archived(after)
    if archived_before != archived_after:
        changes.append(
            Change(
                status=(
                    AvailabilityStatus.ARCHIVED if archived_after else AvailabilityStatus.APPROVED
                ).value
            )
        )
    if before.get("securityLabel") != after.get("securityLabel"):
        labels = tuple(c for c in (code_of(label) for label in after.get("securityLabel", [])) if c)
        changes.append(Change(labels=labels))
    if len(changes) != 1:
        raise FhirError(
            400,
            "a PATCH changes one thing: the status, isArchived or the securityLabel"
            if changes
            else "the PATCH changes nothing",
            code="invalid",
        )
    return changes[0]


def _archived(resource: Resource) -> bool:
    for extension in resource.get("extension", []):
        if extension.get("url") == IS_ARCHIVED:
            return extension.get("valueBoolean") is True
    return False


# --- JSON Patch (RFC 6902) ------------------------------------------------------------------------


def _json_patch(document: Resource, operation: Any) -> None:
    if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
        raise FhirError(400, f"{operation!r} is not a JSON Patch operation", code="structure")
    op, path = operation["op"], operation["path"]
    parent, key = _locate(document, path)
    if op == "test":
        if _get(parent, key, path) != operation.get("value"):
            raise FhirError(422, f"test of {path} failed", code="conflict")
    elif op == "remove":
        _get(parent, key, path)
        del parent[_index(parent, key, path) if isinstance(parent, list) else key]
    elif op in ("add", "replace"):
        if "value" not in operation:
            raise FhirError(400, f"{op} {path} has no value", code="structure")
        value = copy.deepcopy(operation["value"])
        if isinstance(parent, list):
            if key == "-" and op == "add":
                parent.append(value)
            elif op == "add":
                parent.insert(_index(parent, key, path, inserting=True), value)
            else:
                parent[_index(parent, key, path)] = value
        else:
            if op == "replace":
                _get(parent, key, path)
            parent[key] = value
    else:
        raise FhirError(
            400, f"JSON Patch operation {op!r} is not supported here", code="not-supported"
        )


def _locate(document: Resource, path: str) -> tuple[Any, Any]:
    if not isinstance(path, str) or not path.startswith("/"):
        raise FhirError(400, f"{path!r} is not a JSON Pointer", code="structure")
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]
    node: Any = document
    for token in tokens[:-1]:
        node = _get(node, token if isinstance(node, dict) else _index(node, token, path), path)
    last: Any = tokens[-1]
    return node, last


def _index(node: list[Any], token: Any, path: str, *, inserting: bool = False) -> int:
    if not isinstance(node, list) or not str(token).isdigit():
        raise FhirError(400, f"{path}: {token!r} is not an index", code="structure")
    index = int(token)
    if index > len(node) or (index == len(node) and not inserting):
        raise FhirError(400, f"{path}: index {index} is out of range", code="structure")
    return index


def _get(node: Any, key: Any, path: str) -> Any:
    try:
        if isinstance(node, list):
            return node[_index(node, key, path)]
        return node[key]
    except (KeyError, TypeError):
        raise FhirError(
            400, f"{path} names nothing in the DocumentReference", code="structure"
        ) from None


# --- FHIRPath Patch (FHIR R4 "FHIRPath Patch") ----------------------------------------------------


def _fhirpath_patch(document: Resource, parameter: Any) -> None:
    parts = {p.get("name"): p for p in (parameter or {}).get("part", [])}
    kind = (parts.get("type") or {}).get("valueCode")
    path = (parts.get("path") or {}).get("valueString", "")
    name = (parts.get("name") or {}).get("valueString")
    element = path.removeprefix("DocumentReference").removeprefix(".")
    if kind == "add" and not element:
        element = name or ""
    value = _value(parts.get("value"))
    if element.startswith("extension.where("):  # the isArchived extension, replaced whole
        document["extension"] = [
            e for e in document.get("extension", []) if f"'{e.get('url')}'" not in element
        ]
        if kind in ("replace", "add") and value is not None:
            document["extension"].append(value)
        return
    if element not in CHANGEABLE:
        raise FhirError(405, f"{path or name} may not be patched", code="not-supported")
    if kind == "replace":
        document[element] = value
    elif kind == "add":
        document.setdefault(element, []).append(value)
    elif kind == "insert":
        index = int((parts.get("index") or {}).get("valueInteger", 0))
        document.setdefault(element, []).insert(index, value)
    elif kind == "delete":
        document.pop(element, None)
    else:
        raise FhirError(400, f"FHIRPath Patch type {kind!r} is not supported", code="not-supported")


def _value(part: Resource | None) -> Any:
    if not part:
        return None
    for name, value in part.items():
        if name.startswith("value"):
            return value
    nested = {p.get("name"): _value(p) for p in part.get("part", [])}
    return nested or None


__all__ = ["IS_ARCHIVED", "JSON_PATCH", "Change", "change_of", "patched"]
