"""A JSON codec of the metadata model, so each registry object is stored whole.

Every field round-trips exactly (`decode(type(obj), encode(obj)) == obj`); fields
equal to their default are left out to keep rows small. The codec is driven by the
dataclasses' type hints, so a field added to the model needs no change here.
"""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

T = TypeVar("T")


def encode(obj: Any) -> str:
    """The compact JSON text of a model dataclass."""
    return json.dumps(_to_plain(obj), ensure_ascii=False, separators=(",", ":"))


def decode(cls: type[T], text: str) -> T:
    """The model object of class `cls` that `encode` wrote as `text`."""
    return cast(T, _decoder(cast(Any, cls))(json.loads(text)))


def _to_plain(value: Any) -> Any:
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return value
    if kind is tuple:
        return [_to_plain(item) for item in value]
    fields = _FIELDS.get(kind) or _fields(kind)
    out = {}
    for name, default in fields:
        item = getattr(value, name)
        if default is not dataclasses.MISSING and item == default:
            continue
        out[name] = _to_plain(item)
    return out


_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _fields(kind: type) -> tuple[tuple[str, Any], ...]:
    """(name, default) of a model dataclass's fields, looked up once per class."""
    if not dataclasses.is_dataclass(kind):
        raise TypeError(f"cannot encode {kind.__name__} in registry metadata")
    found = _FIELDS[kind] = tuple((f.name, f.default) for f in dataclasses.fields(kind))
    return found


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


Decoder = Callable[[Any], Any]


@cache
def _decoder(tp: Any) -> Decoder:
    """A function turning JSON data into a value of type `tp`, built once per type: every
    read of registry rows decodes thousands of objects."""
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        (inner,) = [arg for arg in get_args(tp) if arg is not type(None)]
        decode_inner = _decoder(inner)
        return lambda raw: None if raw is None else decode_inner(raw)
    if origin is tuple:
        decode_item = _decoder(get_args(tp)[0])
        return lambda raw: None if raw is None else tuple(decode_item(item) for item in raw)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        fields = {name: _decoder(hint) for name, hint in _hints(tp).items()}
        known = frozenset(fields)

        def decode_object(raw: Any) -> Any:
            if raw is None:
                return None
            if not known.issuperset(raw):
                unknown = sorted(set(raw) - known)
                raise ValueError(f"{tp.__name__} has no field {unknown}")
            return tp(**{name: fields[name](item) for name, item in raw.items()})

        return decode_object
    return _identity


def _identity(raw: Any) -> Any:
    return raw
