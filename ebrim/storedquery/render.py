"""`StoredQueryRequest` → query:AdhocQueryRequest, valid against query.xsd.

Written in the canonical value syntax (one rim:Value per slot, lists in one value, times
unquoted) so that `parse_adhoc_query_request(render_adhoc_query_request(r)) == r` for any
request the parser could have produced.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from ebrim.model import Code
from ebrim.storedquery import values as v
from ebrim.storedquery.params import StoredQueryRequest, TimeRange
from ebrim.storedquery.spec import METADATA_LEVEL, SPEC_BY_CLASS, Kind
from ebrim.vocabulary import Namespace

_Q = "{" + Namespace.QUERY.value + "}"
_RIM = "{" + Namespace.RIM.value + "}"
_NSMAP = {"query": Namespace.QUERY.value, "rim": Namespace.RIM.value}


def render_adhoc_query_request(request: StoredQueryRequest) -> etree._Element:
    """The AdhocQueryRequest element of an ITI-18 request (returnComposedObjects is true)."""
    root = etree.Element(_Q + "AdhocQueryRequest", nsmap=_NSMAP)
    if request.request_id is not None:
        root.set("id", request.request_id)
    etree.SubElement(
        root,
        _Q + "ResponseOption",
        returnType=request.return_type.value,
        returnComposedObjects="true",
    )
    adhoc = etree.SubElement(root, _RIM + "AdhocQuery", id=request.query_id.value)
    if request.home_community_id is not None:
        adhoc.set("home", request.home_community_id)
    for name, texts in _slots(request):
        slot = etree.SubElement(adhoc, _RIM + "Slot", name=name)
        value_list = etree.SubElement(slot, _RIM + "ValueList")
        for text in texts:
            etree.SubElement(value_list, _RIM + "Value").text = text
    return root


def _slots(request: StoredQueryRequest) -> list[tuple[str, list[str]]]:
    query = request.query
    spec = SPEC_BY_CLASS[type(query)]
    slots: list[tuple[str, list[str]]] = []
    for param in spec.params:
        value = getattr(query, param.field)
        kind = param.kind
        if kind in (Kind.TIME_FROM, Kind.TIME_TO):
            assert isinstance(value, TimeRange)
            bound = value.from_ if kind is Kind.TIME_FROM else value.to
            if bound is not None:
                slots.append((param.slot, [bound]))
        elif kind is Kind.STRING:
            if value is not None:
                slots.append((param.slot, [v.quote(value)]))
        elif kind is Kind.CODE_AND:
            slots.extend((param.slot, [_code_list(codes)]) for codes in value)
        elif kind is Kind.STRING_AND:
            slots.extend((param.slot, [v.format_list(items)]) for items in value)
        elif kind is Kind.CODES:
            if value:
                slots.append((param.slot, [_code_list(value)]))
        elif value:
            slots.append((param.slot, [v.format_list(value)]))
    if request.metadata_level is not None:
        slots.append((METADATA_LEVEL, [str(request.metadata_level)]))
    return slots


def _code_list(codes: Sequence[Code]) -> str:
    return v.format_list([v.format_code(code) for code in codes])
