"""ITI-62 Delete Document Set (RMD): lcm:RemoveObjectsRequest ↔ `RemoveObjectsRequest`.

The request names the metadata objects to remove by id in a rim:ObjectRefList. ebRS 3.0
also allows selecting them by an AdhocQuery and a deletionScope other than DeleteAll;
RMD uses neither, so both are refused (XDSRegistryError, ITI-62's generic code).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ebrim import _rim
from ebrim.errors import ErrorCode, MetadataRejected, XDSError
from ebrim.safexml import parse_xml

REMOVE_OBJECTS_REQUEST = f"{{{_rim.LCM}}}RemoveObjectsRequest"
OBJECT_REF_LIST = _rim.rim("ObjectRefList")
ADHOC_QUERY = _rim.rim("AdhocQuery")
DELETE_ALL = "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll"
_CODE = ErrorCode.XDSRegistryError


@dataclass(frozen=True)
class RemoveObjectsRequest:
    """The ids (entryUUIDs) of the objects to remove, in message order, without repeats."""

    ids: tuple[str, ...]
    deletion_scope: str = DELETE_ALL
    request_id: str | None = None


def parse_remove_objects_request(source: bytes | etree._Element) -> RemoveObjectsRequest:
    """Read an lcm:RemoveObjectsRequest; MetadataRejected (XDSRegistryError) if it is not one."""
    root = parse_xml(bytes(source)) if isinstance(source, bytes | bytearray) else source
    if root.tag != REMOVE_OBJECTS_REQUEST:
        raise _rejected(f"expected lcm:RemoveObjectsRequest, found {root.tag}", str(root.tag))
    scope = (root.get("deletionScope") or DELETE_ALL).strip()
    if scope != DELETE_ALL:
        raise _rejected(f"deletionScope {scope} is not supported (only DeleteAll)", scope)
    if root.find(ADHOC_QUERY) is not None:
        raise _rejected("removal by AdhocQuery is not supported; list the ids", "AdhocQuery")
    ref_list = root.find(OBJECT_REF_LIST)
    if ref_list is None:
        raise _rejected("rim:ObjectRefList is missing", "ObjectRefList")
    ids: list[str] = []
    for ref in ref_list.iterchildren(_rim.OBJECT_REF):
        ref_id = (ref.get("id") or "").strip()
        if not ref_id:
            raise _rejected("a rim:ObjectRef has no id", "ObjectRef")
        if ref_id not in ids:
            ids.append(ref_id)
    if not ids:
        raise _rejected("rim:ObjectRefList names no object", "ObjectRefList")
    return RemoveObjectsRequest(tuple(ids), scope, root.get("id"))


def render_remove_objects_request(request: RemoveObjectsRequest) -> etree._Element:
    """The lcm:RemoveObjectsRequest for `request` (clients and tests)."""
    root = etree.Element(REMOVE_OBJECTS_REQUEST, nsmap={"lcm": _rim.LCM, "rim": _rim.RIM})
    if request.request_id:
        root.set("id", request.request_id)
    if request.deletion_scope != DELETE_ALL:
        root.set("deletionScope", request.deletion_scope)
    ref_list = etree.SubElement(root, OBJECT_REF_LIST)
    for ref_id in request.ids:
        etree.SubElement(ref_list, _rim.OBJECT_REF, id=ref_id)
    return root


def _rejected(message: str, location: str) -> MetadataRejected:
    return MetadataRejected([XDSError(_CODE, message, location)])


__all__ = [
    "DELETE_ALL",
    "RemoveObjectsRequest",
    "parse_remove_objects_request",
    "render_remove_objects_request",
]
