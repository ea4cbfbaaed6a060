"""FHIR JSON checked against the R4B models of `fhir.resources`, at a publication's pace.

A transaction Bundle's check is the largest cost of ITI-65 after the submission itself, so
three things are left out of what the models see, each checked otherwise:

- the documents' base64 (a Binary's ``data``, an attachment's ``data``) is a placeholder:
  matching megabytes against the model's base64 pattern costs more than the rest of the
  check, and the bytes are decoded strictly where they are read (`mhd.publish`);
- contained resources (authors, their organisations, the source patient) are checked one by
  one, and one that was found valid before, text for text, is not checked again: a hospital
  describes the same authors in each of its submissions;
- fhir_core resolves each nested resource's class through pydantic's `import_string`, which
  first tries the dotted path as a module and fails, uncached, on every call; the mapping
  is fixed, so it is resolved once (`model_class`).
"""

from __future__ import annotations

import functools
import json
from typing import Any

Resource = dict[str, Any]
PLACEHOLDER = "AAAA"  # valid base64: the model checks the element is there, not the document
_REMEMBERED = 4096  # contained resources known valid


class InvalidResource(ValueError):
    """JSON that the R4B model refuses: where (a dotted path) and why."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}" if where else reason)
        self.where = where
        self.reason = reason


@functools.cache
def model_class(kind: str) -> Any:
    """The R4B model class of the resource type `kind` (KeyError when there is none)."""
    import fhir_core.types
    from fhir.resources.R4B import get_fhir_model_class

    if not hasattr(fhir_core.types.import_string, "cache_info"):
        fhir_core.types.import_string = functools.cache(fhir_core.types.import_string)
    return get_fhir_model_class(kind)


def check(resource: Resource) -> None:
    """Raise `InvalidResource` unless `resource` (parsed JSON) is valid for its R4B model."""
    contained: list[tuple[str, Resource]] = []
    shown = _for_model(resource, "", contained)
    _validate(shown, "")
    for where, part in contained:
        try:
            text = json.dumps(part, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError):
            raise InvalidResource(where, "not JSON") from None
        try:
            _checked_contained(text)
        except InvalidResource as exc:
            raise InvalidResource(f"{where}.{exc.where}".rstrip("."), exc.reason) from None


@functools.lru_cache(maxsize=_REMEMBERED)
def _checked_contained(text: str) -> None:
    """Only a valid resource returns, and only a return is remembered."""
    _validate(json.loads(text), "")


def _validate(resource: Any, where: str) -> None:
    from pydantic import ValidationError

    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    try:
        cls = model_class(kind) if isinstance(kind, str) else None
    except (KeyError, ValueError, LookupError):
        cls = None
    if cls is None:
        raise InvalidResource(where, f"unknown resourceType {kind!r}")
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": str(exc)}
        path = ".".join(str(part) for part in first.get("loc", ()))
        raise InvalidResource(".".join(p for p in (where, path) if p), str(first["msg"])) from None


def _for_model(resource: Resource, where: str, contained: list[tuple[str, Resource]]) -> Resource:
    """What the model sees of `resource`: payloads cut, contained resources set aside (with
    their paths, into `contained`). Copies what it changes; `resource` is untouched."""
    out = resource
    kind = resource.get("resourceType")
    if isinstance(resource.get("contained"), list):
        for n, part in enumerate(resource["contained"]):
            if not isinstance(part, dict):
                raise InvalidResource(f"{where}contained.{n}", "not a resource")
            contained.append((f"{where}contained.{n}", part))
        out = {k: v for k, v in resource.items() if k != "contained"}
    if kind == "Binary" and isinstance(out.get("data"), str):
        out = {**out, "data": PLACEHOLDER}
    elif kind == "DocumentReference" and isinstance(out.get("content"), list):
        content = [
            {**c, "attachment": {**c["attachment"], "data": PLACEHOLDER}}
            if isinstance(c, dict)
            and isinstance(c.get("attachment"), dict)
            and isinstance(c["attachment"].get("data"), str)
            else c
            for c in out["content"]
        ]
        out = {**out, "content": content}
    elif kind == "Bundle" and isinstance(out.get("entry"), list):
        entries = [
            {**e, "resource": _for_model(e["resource"], f"{where}entry.{n}.resource.", contained)}
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            else e
            for n, e in enumerate(out["entry"])
        ]
        out = {**out, "entry": entries}
    return out


__all__ = ["PLACEHOLDER", "InvalidResource", "check", "model_class"]
