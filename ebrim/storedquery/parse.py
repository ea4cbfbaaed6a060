"""query:AdhocQueryRequest → `StoredQueryRequest`, or `QueryRejected` with every finding.

Error codes (ITI TF-2 3.18.4.1.3, and IPF/NIST practice for the generic ones):

- unknown or unsupported query id → XDSUnknownStoredQuery (location: the id);
- a required parameter absent, or given with no value → XDSStoredQueryMissingParam;
- a single-valued parameter with several values, a parameter repeated where the TF does
  not allow AND, none or several of a group of alternatives → XDSStoredQueryParamNumber;
- anything else malformed (value grammar, time, code, status, returnType, wrong root or
  namespace, unreadable XML) → XDSRegistryError, the ITI-18 generic code.

Each error's location is the parameter (slot) name. Slots the query does not define are
ignored, as ebRS 3.0 section 6.3.2.1 requires, and listed in `ignored_parameters`.
"""

from __future__ import annotations

from lxml import etree

from ebrim.errors import ErrorCode, QueryRejected, XDSError, XMLRejected
from ebrim.model import Code
from ebrim.safexml import XMLLimits, parse_xml
from ebrim.storedquery import values as v
from ebrim.storedquery.ids import StoredQueryId
from ebrim.storedquery.params import StoredQueryRequest, TimeRange
from ebrim.storedquery.spec import METADATA_LEVEL, SPECS, Kind, Param
from ebrim.vocabulary import (
    DOCUMENT_ENTRY_TYPES,
    AssociationType,
    AvailabilityStatus,
    Namespace,
    ReturnType,
)

_Q = "{" + Namespace.QUERY.value + "}"
_RIM = "{" + Namespace.RIM.value + "}"
_STATUSES = frozenset(s.value for s in AvailabilityStatus)
_SHORT_STATUSES = {s.value.rsplit(":", 1)[1]: s.value for s in AvailabilityStatus}
_DOCUMENT_TYPES = frozenset(t.value for t in DOCUMENT_ENTRY_TYPES)
_ASSOCIATION_TYPES = frozenset(t.value for t in AssociationType)

_DEFAULT_LIMITS = XMLLimits()

# Slot values of one parameter: one list of rim:Value texts per occurrence of the slot.
_Occurrences = list[list[str]]


def parse_adhoc_query_request(
    source: bytes | etree._Element, limits: XMLLimits = _DEFAULT_LIMITS
) -> StoredQueryRequest:
    """Read an ITI-18 request; raise `QueryRejected` carrying all that is wrong with it.

    Bytes go through the hardened parser; a refusal there (malformed, DTD, too large)
    becomes a QueryRejected with XDSRegistryError, the `XMLRejected` kept as its cause.
    """
    root = _root(source, limits)
    errors: list[XDSError] = []
    return_type = _return_type(root, errors)
    adhoc = root.find(_RIM + "AdhocQuery")
    if adhoc is None:
        errors.append(_error(ErrorCode.XDSRegistryError, "rim:AdhocQuery is missing", "AdhocQuery"))
        raise QueryRejected(errors)
    slots = _read_slots(adhoc, errors)
    query_id = _query_id(adhoc.get("id"), errors)
    if query_id is None:
        raise QueryRejected(errors)
    spec = SPECS[query_id]
    metadata_level = _metadata_level(slots.pop(METADATA_LEVEL, []), errors)
    fields: dict[str, object] = {}
    bounds: dict[str, dict[Kind, str]] = {}
    given: set[str] = set()
    for param in spec.params:
        occurrences = [vals for vals in slots.get(param.slot, []) if any(x.strip() for x in vals)]
        if not occurrences:
            if param.required:
                message = f"required parameter {param.slot} is missing or has no value"
                errors.append(_error(ErrorCode.XDSStoredQueryMissingParam, message, param.slot))
            continue
        given.add(param.slot)
        try:
            _check_size(occurrences)
            value = _convert(param, occurrences)
            _check_items(value)
        except v.MalformedValue as exc:
            errors.append(_error(ErrorCode.XDSRegistryError, f"{param.slot}: {exc}", param.slot))
        except v.SeveralValues as exc:
            errors.append(
                _error(ErrorCode.XDSStoredQueryParamNumber, f"{param.slot}: {exc}", param.slot)
            )
        else:
            if param.kind in (Kind.TIME_FROM, Kind.TIME_TO):
                bounds.setdefault(param.field, {})[param.kind] = str(value)
            else:
                fields[param.field] = value
    for group in spec.choices:
        present = [name for name in group if name in given]
        if len(present) != 1:
            which = "none" if not present else " and ".join(present)
            message = f"exactly one of {', '.join(group)} must be given, not {which}"
            errors.append(_error(ErrorCode.XDSStoredQueryParamNumber, message, "|".join(group)))
    if errors:
        raise QueryRejected(errors)
    for field, found in bounds.items():
        fields[field] = TimeRange(found.get(Kind.TIME_FROM), found.get(Kind.TIME_TO))
    home = (adhoc.get("home") or "").strip() or None
    return StoredQueryRequest(
        query=spec.query_class(**fields),  # type: ignore[arg-type]
        return_type=return_type or ReturnType.LEAF_CLASS,
        home_community_id=home,
        metadata_level=metadata_level,
        request_id=root.get("id"),
        ignored_parameters=tuple(name for name in slots if spec.param(name) is None),
    )


def _error(code: ErrorCode, message: str, location: str) -> XDSError:
    return XDSError(code=code, message=message, location=location)


def _root(source: bytes | etree._Element, limits: XMLLimits) -> etree._Element:
    if isinstance(source, bytes | bytearray | memoryview):
        try:
            root = parse_xml(bytes(source), limits)
        except XMLRejected as exc:
            error = _error(ErrorCode.XDSRegistryError, f"unreadable request: {exc}", "")
            raise QueryRejected([error]) from exc
    else:
        root = source
    if root.tag != _Q + "AdhocQueryRequest":
        message = f"expected query:AdhocQueryRequest ({Namespace.QUERY.value}), got {root.tag!s}"
        raise QueryRejected([_error(ErrorCode.XDSRegistryError, message, str(root.tag))])
    return root


def _return_type(root: etree._Element, errors: list[XDSError]) -> ReturnType | None:
    option = root.find(_Q + "ResponseOption")
    if option is None:
        errors.append(
            _error(ErrorCode.XDSRegistryError, "query:ResponseOption is missing", "returnType")
        )
        return None
    # The schema's default is RegistryObject, which XDS does not define.
    value = (option.get("returnType") or "RegistryObject").strip()
    try:
        return ReturnType(value)
    except ValueError:
        message = f"returnType {value!r} is not supported (ObjectRef or LeafClass)"
        errors.append(_error(ErrorCode.XDSRegistryError, message, "returnType"))
        return None


def _read_slots(adhoc: etree._Element, errors: list[XDSError]) -> dict[str, _Occurrences]:
    slots: dict[str, _Occurrences] = {}
    for slot in adhoc.iterfind(_RIM + "Slot"):
        name = (slot.get("name") or "").strip()
        if not name:
            errors.append(_error(ErrorCode.XDSRegistryError, "a rim:Slot has no name", "Slot"))
            continue
        texts = [value.text or "" for value in slot.iterfind(f"{_RIM}ValueList/{_RIM}Value")]
        slots.setdefault(name, []).append(texts)
    return slots


def _query_id(raw: str | None, errors: list[XDSError]) -> StoredQueryId | None:
    text = (raw or "").strip()  # xs:anyURI collapses whitespace
    try:
        query_id = StoredQueryId(text)
    except ValueError:
        message = f"unknown stored query id {text!r}"
        errors.append(_error(ErrorCode.XDSUnknownStoredQuery, message, text))
        return None
    if not query_id.is_supported:
        message = f"stored query {query_id.name} ({text}) is not supported by this registry"
        errors.append(_error(ErrorCode.XDSUnknownStoredQuery, message, text))
        return None
    return query_id


def _metadata_level(occurrences: _Occurrences, errors: list[XDSError]) -> int | None:
    occurrences = [vals for vals in occurrences if any(x.strip() for x in vals)]
    if not occurrences:
        return None
    if len(occurrences) > 1:
        message = f"{METADATA_LEVEL} given in {len(occurrences)} slots"
        errors.append(_error(ErrorCode.XDSStoredQueryParamNumber, message, METADATA_LEVEL))
        return None
    try:
        level = int(v.number(occurrences[0]))
    except v.SeveralValues as exc:
        errors.append(_error(ErrorCode.XDSStoredQueryParamNumber, str(exc), METADATA_LEVEL))
        return None
    except v.MalformedValue as exc:
        errors.append(
            _error(ErrorCode.XDSRegistryError, f"{METADATA_LEVEL}: {exc}", METADATA_LEVEL)
        )
        return None
    if level not in (1, 2):
        message = f"{METADATA_LEVEL} must be 1 or 2, not {level}"
        errors.append(_error(ErrorCode.XDSRegistryError, message, METADATA_LEVEL))
        return None
    return level


# A stored value is at most a LongName (rim.xsd, 256 characters): a patient id, a code, a
# uniqueId. A parameter is bounded before its grammar is read, so that no oversized value
# reaches the database or the audit trail (where it made a 500 on PostgreSQL).
MAX_VALUE_CHARS = 256
MAX_VALUES = 10_000  # items of one parameter, over all its slots


def _check_size(occurrences: _Occurrences) -> None:
    texts = [text for values in occurrences for text in values]
    # A quoted list item, its quotes and separator: a generous bound on a whole rim:Value.
    longest = max((len(text) for text in texts), default=0)
    if longest > MAX_VALUES * (MAX_VALUE_CHARS + 4):
        raise v.MalformedValue(f"a value of {longest} characters is too long")
    items = sum(text.count(",") + 1 for text in texts)
    if items > MAX_VALUES:
        raise v.MalformedValue(f"{items} values, more than the {MAX_VALUES} allowed")


def _check_items(value: object) -> None:
    """Every string inside a converted value fits a registry value (LongName)."""
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            raise v.MalformedValue(
                f"a value of {len(value)} characters is longer than the {MAX_VALUE_CHARS} "
                "a registry value may have"
            )
    elif isinstance(value, tuple):
        for item in value:
            _check_items(item)
    elif isinstance(value, Code):
        _check_items((value.code, value.scheme))


def _convert(param: Param, occurrences: _Occurrences) -> object:
    """The typed value of one parameter; raises MalformedValue or SeveralValues."""
    kind = param.kind
    if len(occurrences) > 1 and not kind.repeatable:
        raise v.SeveralValues(
            f"given in {len(occurrences)} slots; only the AND parameters may repeat"
        )
    first = occurrences[0]
    if kind is Kind.STRING:
        text = v.single_string(first)
        if not text.strip():
            raise v.MalformedValue("empty value")
        return text
    if kind in (Kind.TIME_FROM, Kind.TIME_TO):
        return v.dtm(first)
    if kind is Kind.STRING_AND:
        return tuple(v.string_list(values) for values in occurrences)
    if kind is Kind.CODE_AND:
        return tuple(_codes(values) for values in occurrences)
    if kind is Kind.CODES:
        return _codes(first)
    items = v.string_list(first)
    if kind is Kind.STATUSES:
        return tuple(_status(item) for item in items)
    if kind is Kind.DOCUMENT_TYPES:
        return tuple(_member(item, _DOCUMENT_TYPES, "DocumentEntry type") for item in items)
    if kind is Kind.ASSOCIATION_TYPES:
        return tuple(_member(item, _ASSOCIATION_TYPES, "association type") for item in items)
    return items


def _codes(values: list[str]) -> tuple[Code, ...]:
    return tuple(v.code(item) for item in v.string_list(values))


def _status(item: str) -> str:
    if item in _STATUSES:
        return item
    hint = f" (write {_SHORT_STATUSES[item]})" if item in _SHORT_STATUSES else ""
    raise v.MalformedValue(f"unknown availability status {item!r}{hint}")


def _member(item: str, allowed: frozenset[str], what: str) -> str:
    if item not in allowed:
        raise v.MalformedValue(f"unknown {what} {item!r}")
    return item
