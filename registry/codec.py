"""A JSON codec of the metadata model, so each registry object is stored whole.

Every field round-trips exactly (`decode(type(obj), encode(obj)) == obj`); fields
equal to their default are left out to keep rows small. The codec is driven by the
dataclasses' type hints, so a field added to the model needs no change here.
"""

from __future__ import annotations

import dataclasses
import json
import types
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


def encode(obj: Any) -> str:
    """The compact JSON text of a model dataclass."""
    return json.dumps(_to_plain(obj), ensure_ascii=False, separators=(",", ":"))


def decode(cls: type[T], text: str) -> T:
    """The model object of class `cls` that `encode` wrote as `text`."""
    return _from_plain(cls, json.loads(text))


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if field.default is not dataclasses.MISSING and item == field.default:
                continue
            out[field.name] = _to_plain(item)
        return out
    if isinstance(value, tuple):
        return [_to_plain(item) for item in value]
    if value is None or isinstance(value, str | bool | int):
        return value
    raise TypeError(f"cannot encode {type(value).__name__} in registry metadata")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _from_plain(tp: Any, raw: Any) -> Any:
    if raw is None:
        return None
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        (inner,) = [arg for arg in get_args(tp) if arg is not type(None)]
        return _from_plain(inner, raw)
    if origin is tuple:
        item_type = get_args(tp)[0]
        return tuple(_from_plain(item_type, item) for item in raw)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        unknown = set(raw) - set(hints)
        if unknown:
            raise ValueError(f"{tp.__name__} has no field {sorted(unknown)}")
        return tp(**{name: _from_plain(hints[name], item) for name, item in raw.items()})
    return raw
