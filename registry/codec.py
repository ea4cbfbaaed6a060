"""A JSON codec of the metadata model, so each registry object is stored whole.

Every field round-trips exactly (`decode(type(obj), encode(obj)) == obj`); fields
equal to their default are left out to keep rows small. The codec is driven by the
dataclasses' type hints, so a field added to the model needs no change here.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import orjson

from ebrim.model import plain_fields

T = TypeVar("T")


def encode(obj: Any) -> str:
    """The compact JSON text of a model dataclass (UTF-8, no spaces, keys in field order)."""
    kind: type = type(obj)
    return orjson.dumps(_encoder(kind)(obj)).decode()


def decode(cls: type[T], text: str, changes: dict[str, Any] | None = None) -> T:
    """The model object of class `cls` that `encode` wrote as `text`, with `changes` (field
    values kept in columns rather than in the text) applied as it is built."""
    raw = orjson.loads(text)
    if changes:
        raw.update(changes)
    return cast(T, _decoder(cast(Any, cls))(raw))


Encoder = Callable[[Any], Any]


@cache
def _encoder(kind: type) -> Encoder:
    """A function turning a model object of class `kind` into the dict its JSON is written
    from, built once per class from its type hints: fields equal to their default are left
    out, tuples of strings go to orjson as they are, nested model objects are encoded."""
    if not dataclasses.is_dataclass(kind):
        raise TypeError(f"cannot encode {kind.__name__} in registry metadata")
    hints = _hints(kind)
    plan = tuple(
        (f.name, f.default, _value_encoder(hints[f.name])) for f in dataclasses.fields(kind)
    )
    missing = dataclasses.MISSING

    def encode_object(value: Any) -> dict[str, Any]:
        out = {}
        for name, default, convert in plan:
            item = getattr(value, name)
            if default is not missing and item == default:
                continue
            out[name] = item if convert is None or item is None else convert(item)
        return out

    return encode_object


def _value_encoder(tp: Any) -> Encoder | None:
    """How a field of type `tp` is encoded; None: as it is (strings, numbers, their tuples)."""
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        (inner,) = [arg for arg in get_args(tp) if arg is not type(None)]
        return _value_encoder(inner)  # None itself is written as it is
    if origin is tuple:
        encode_item = _value_encoder(get_args(tp)[0])
        if encode_item is None:
            return None
        return lambda items: [encode_item(item) for item in items]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _encoder(tp)
    return None


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
        if decode_inner is _identity:
            return _identity
        return lambda raw: None if raw is None else decode_inner(raw)
    if origin is tuple:
        decode_item = _decoder(get_args(tp)[0])
        if decode_item is _identity:
            return lambda raw: None if raw is None else tuple(raw)
        return lambda raw: None if raw is None else tuple(map(decode_item, raw))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _object_decoder(tp)
    return _identity


def _object_decoder(tp: type) -> Decoder:
    """Builds a model object straight into its `__dict__`, as its `__init__` would (the
    model's dataclasses have immutable defaults and no `__post_init__`), skipping the
    frozen dataclass's per-field `object.__setattr__`: a LeafClass answer of a patient's
    few hundred documents is mostly this."""
    fields = plain_fields(tp)
    if any(f.default_factory is not dataclasses.MISSING for f in fields):
        raise TypeError(f"{tp.__name__}: the codec builds only plain fields with defaults")
    defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    required = tuple(f.name for f in fields if f.default is dataclasses.MISSING)
    hints = _hints(tp)
    converters = [(f.name, _decoder(hints[f.name])) for f in fields]
    converters = [(name, convert) for name, convert in converters if convert is not _identity]
    known = frozenset(f.name for f in fields)
    new = object.__new__

    def decode_object(raw: Any) -> Any:
        if raw is None:
            return None
        if not known.issuperset(raw):
            unknown = sorted(set(raw) - known)
            raise ValueError(f"{tp.__name__} has no field {unknown}")
        for name in required:
            if name not in raw:
                raise ValueError(f"{tp.__name__} lacks its field {name}")
        for name, convert in converters:
            value = raw.get(name)
            if value is not None:
                raw[name] = convert(value)
        obj: Any = new(tp)
        state = obj.__dict__
        state.update(defaults)
        state.update(raw)
        return obj

    return decode_object


def _identity(raw: Any) -> Any:
    return raw
