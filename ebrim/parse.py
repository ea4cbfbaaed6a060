"""ebRIM 3.0 XML → model: SubmitObjectsRequest, RegistryObjectList and the responses.

Whatever the model cannot hold (a single-valued slot or code given twice, an unknown
element, classification or identifier) is collected and raised as one `MetadataRejected`
naming each object, instead of being dropped.
"""

from __future__ import annotations

from collections import defaultdict
from enum import Enum
from types import SimpleNamespace
from typing import Any, TypeVar, cast

from lxml import etree

from ebrim import _rim
from ebrim._reader import ObjectReader, SlotReader
from ebrim.errors import ErrorCode, MetadataRejected, Transaction, XDSError
from ebrim.model import (
    Association,
    DocumentEntry,
    Folder,
    Metadata,
    ObjectRef,
    RegistryResponse,
    SubmissionSet,
)
from ebrim.safexml import parse_xml
from ebrim.vocabulary import (
    DOC_LIMITED_METADATA,
    FOLDER_LIMITED_METADATA,
    SS_LIMITED_METADATA,
    ClassificationScheme,
    ExternalIdentifierScheme,
    ObjectType,
    ResponseStatus,
    Severity,
)

Source = bytes | etree._Element
_E = TypeVar("_E", bound=Enum)
_OBJECTS = (_rim.EXTRINSIC_OBJECT, _rim.REGISTRY_PACKAGE, _rim.ASSOCIATION)
# Classifications and ExternalIdentifiers may stand beside their object instead of inside it.
_OWNER_ATTRIBUTE = {
    _rim.CLASSIFICATION: "classifiedObject",
    _rim.EXTERNAL_IDENTIFIER: "registryObject",
}


def _values(enum: type[Enum]) -> Any:
    """An enum's values as plain attributes: `.value` on a member is a Python-level descriptor
    call (some 0.3 us), and reading one DocumentEntry named some twenty of them."""
    return SimpleNamespace(**{name: member.value for name, member in enum.__members__.items()})


_CS = _values(ClassificationScheme)
_EI = _values(ExternalIdentifierScheme)
_SUBMISSION_SET_NODE = ObjectType.SUBMISSION_SET.value
_FOLDER_NODE = ObjectType.FOLDER.value
_LONG_NAME = 256  # rim.xsd LongName: slot values, names, codes, identifiers
_FREE_FORM_TEXT = 1024  # rim.xsd FreeFormText: LocalizedString values
# versionName is a ShortName (16); a homeCommunityId is "urn:oid:" + an OID of at most 64.
_ATTRIBUTE_LIMITS = {"versionName": 16, "home": 128}
# Candidates, in one pass over the whole list: any attribute over the smallest limit but
# versionName's, versionName over its own, and slot values. `string-length()` of the context
# node costs libxml2 less than `string-length(.)`.
_LONG_CANDIDATES = etree.XPath(
    "descendant::*/@*[string-length() > 128] | "
    "descendant::*/@versionName[string-length() > 16] | "
    "descendant::rim:Value[string-length() > 256]",
    namespaces={"rim": _rim.RIM},
)


def parse_submit_objects_request(
    source: Source, *, transaction: Transaction = Transaction.ITI_42
) -> Metadata:
    """The metadata of an lcm:SubmitObjectsRequest (bytes or an already parsed element)."""
    root = _element(source)
    _expect(root, _rim.SUBMIT_OBJECTS_REQUEST, transaction.metadata_error)
    return parse_registry_object_list(
        _object_list(root, transaction.metadata_error), transaction=transaction
    )


def parse_registry_object_list(
    element: etree._Element, *, transaction: Transaction = Transaction.ITI_42
) -> Metadata:
    """The metadata of a rim:RegistryObjectList, in LeafClass or ObjectRef form."""
    _expect(element, _rim.REGISTRY_OBJECT_LIST, transaction.metadata_error)
    return _ListParser(element, transaction.metadata_error).parse()


def parse_registry_response(source: Source) -> RegistryResponse:
    """An rs:RegistryResponse: status, request id, errors and warnings."""
    root = _element(source)
    _expect(root, _rim.REGISTRY_RESPONSE, ErrorCode.XDSRegistryError)
    return _response(root)


def parse_adhoc_query_response(
    source: Source, *, transaction: Transaction = Transaction.ITI_18
) -> tuple[RegistryResponse, Metadata]:
    """A query:AdhocQueryResponse: its status and errors, and the objects it returns."""
    root = _element(source)
    _expect(root, _rim.ADHOC_QUERY_RESPONSE, transaction.metadata_error)
    objects = _object_list(root, transaction.metadata_error)
    return _response(root), parse_registry_object_list(objects, transaction=transaction)


def _element(source: Source) -> etree._Element:
    if isinstance(source, bytes | bytearray | memoryview):
        return parse_xml(bytes(source))
    return source


def _expect(element: etree._Element, tag: str, code: ErrorCode) -> None:
    if element.tag != tag:
        raise MetadataRejected(
            [XDSError(code, f"expected the element {tag}, found {element.tag}", str(element.tag))]
        )


def _object_list(root: etree._Element, code: ErrorCode) -> etree._Element:
    found = root.find(_rim.REGISTRY_OBJECT_LIST)
    if found is None:
        raise MetadataRejected([XDSError(code, f"{root.tag} has no rim:RegistryObjectList")])
    return found


def _response(root: etree._Element) -> RegistryResponse:
    raw = root.get("status", "")
    status = _rim.SHORT_RESPONSE_STATUSES.get(raw) or _enum(ResponseStatus, raw)
    if status is None:
        raise MetadataRejected(
            [XDSError(ErrorCode.XDSRegistryError, f"unknown response status {raw!r}")]
        )
    errors = []
    for entry in root.iterfind(f"{_rim.REGISTRY_ERROR_LIST}/{_rim.REGISTRY_ERROR}"):
        message = entry.get("codeContext") or (entry.text or "").strip()
        raw_code = entry.get("errorCode", "")
        code = _enum(ErrorCode, raw_code)
        if code is None:
            # A vendor code: keep it readable rather than refuse the whole answer.
            code, message = ErrorCode.XDSRegistryError, f"{raw_code}: {message}"
        raw_severity = entry.get("severity", Severity.ERROR.value)
        severity = _rim.SHORT_SEVERITIES.get(raw_severity) or _enum(Severity, raw_severity)
        errors.append(
            XDSError(code, message, entry.get("location", ""), severity or Severity.ERROR)
        )
    return RegistryResponse(status=status, errors=tuple(errors), request_id=root.get("requestId"))


def _enum(kind: type[_E], value: str) -> _E | None:
    try:
        return kind(value)
    except ValueError:
        return None


class _ListParser:
    """One pass over a RegistryObjectList, collecting objects and faults."""

    def __init__(self, element: etree._Element, code: ErrorCode) -> None:
        self.element = element
        self.code = code
        self.errors: list[XDSError] = []
        self.outside: dict[str, list[etree._Element]] = defaultdict(list)

    def parse(self) -> Metadata:
        children = [c for c in self.element if isinstance(c.tag, str)]
        self._check_lengths(children)
        if self.errors:
            raise MetadataRejected(self.errors)
        ids = {c.get("id") for c in children if c.tag in _OBJECTS}
        for child in children:
            if child.tag in _OWNER_ATTRIBUTE:
                owner = child.get(_OWNER_ATTRIBUTE[child.tag], "")
                if owner not in ids:
                    self._fault(
                        child.get("id", ""),
                        f"{_local(child)} {child.get('id', '')}",
                        f"refers to {owner!r}, which is not in the message",
                    )
                self.outside[owner].append(child)
        docs, sets, folders, assocs, refs = [], [], [], [], []
        for child in children:
            if child.tag == _rim.EXTRINSIC_OBJECT:
                docs.append(self._document(child))
            elif child.tag == _rim.REGISTRY_PACKAGE:
                package = self._package(child)
                if isinstance(package, SubmissionSet):
                    sets.append(package)
                elif isinstance(package, Folder):
                    folders.append(package)
            elif child.tag == _rim.ASSOCIATION:
                assocs.append(self._association(child))
            elif child.tag == _rim.OBJECT_REF:
                refs.append(ObjectRef(child.get("id", ""), child.get("home")))
            elif child.tag not in _OWNER_ATTRIBUTE:
                self._fault(
                    child.get("id", ""),
                    f"element {child.tag}",
                    "is not expected in a RegistryObjectList",
                )
        if self.errors:
            raise MetadataRejected(self.errors)
        return Metadata(tuple(sets), tuple(docs), tuple(folders), tuple(assocs), tuple(refs))

    def _check_lengths(self, children: list[etree._Element]) -> None:
        """Every value within the lengths rim.xsd gives it, before anything reads it.

        Slot values, names and codes are LongName (256 characters), texts FreeFormText
        (1024), versionName 16. An over-long value is the transaction's metadata error
        naming the object and the field, never a value the database refuses. Reported
        object by object, in the order of `children`, each object's attributes first.
        """
        # XPath in libxml2 finds the few candidates, in one pass; Python only names them.
        candidates = cast(list[Any], _LONG_CANDIDATES(self.element))
        if not candidates:
            return
        order = {child: n for n, child in enumerate(children)}
        found: list[tuple[int, int, str, str, int, int]] = []
        for candidate in candidates:
            is_value = not getattr(candidate, "is_attribute", False)
            node = candidate if is_value else candidate.getparent()
            top = node
            while top.getparent() is not self.element:
                top = top.getparent()
            owner = (
                top.get("id", "")
                or top.get("classifiedObject", "")
                or top.get("registryObject", "")
            )
            if is_value:
                slot = node.getparent()
                slot = slot.getparent() if slot is not None else None
                name = slot.get("name", "") if slot is not None else ""
                field, length, limit = f"Slot {name!r} value", len(node.text or ""), _LONG_NAME
            else:
                attribute = str(candidate.attrname)
                limit = _ATTRIBUTE_LIMITS.get(attribute, _LONG_NAME)
                if node.tag == _rim.LOCALIZED_STRING and attribute == "value":
                    limit = _FREE_FORM_TEXT
                if len(candidate) <= limit:
                    continue
                field, length = f"{_local(node)}@{attribute}", len(candidate)
            found.append((order.get(top, len(order)), int(is_value), owner, field, length, limit))
        for _top, _kind, owner, field, length, limit in sorted(found, key=lambda f: f[:2]):
            self._too_long(owner, field, length, limit)

    def _too_long(self, owner: str, field: str, length: int, limit: int) -> None:
        self._fault(
            owner,
            f"{field} of {owner or 'an object'}",
            f"{length} characters, more than the {limit} rim.xsd allows",
        )

    def _fault(self, location: str, label: str, text: str) -> None:
        self.errors.append(XDSError(self.code, f"{label}: {text}", location))

    def _report(self, kind: str, reader: ObjectReader, unique_id: str | None) -> None:
        label = f"{kind} {reader.id}" + (f" (uniqueId {unique_id})" if unique_id else "")
        for text in reader.finish():
            self._fault(reader.id, label, text)

    def _reader(self, element: etree._Element) -> ObjectReader:
        return ObjectReader(element, self.outside.get(element.get("id", ""), ()))

    def _document(self, element: etree._Element) -> DocumentEntry:
        r = self._reader(element)
        s = r.slots
        doc = DocumentEntry(
            entry_uuid=r.id,
            object_type=element.get("objectType", ""),
            mime_type=element.get("mimeType"),
            status=element.get("status"),
            logical_id=element.get("lid"),
            version=r.version(),
            home=element.get("home"),
            title=r.name(),
            comments=r.description(),
            unique_id=r.identifier(_EI.DOC_UNIQUE_ID, "uniqueId"),
            patient_id=r.identifier(_EI.DOC_PATIENT_ID, "patientId"),
            source_patient_id=s.single(_rim.SOURCE_PATIENT_ID),
            source_patient_info=s.multi(_rim.SOURCE_PATIENT_INFO),
            authors=r.authors(_CS.DOC_AUTHOR),
            class_code=r.code(_CS.DOC_CLASS_CODE, "classCode"),
            confidentiality_codes=r.codes(_CS.DOC_CONFIDENTIALITY_CODE),
            event_codes=r.codes(_CS.DOC_EVENT_CODE),
            format_code=r.code(_CS.DOC_FORMAT_CODE, "formatCode"),
            healthcare_facility_type_code=r.code(
                _CS.DOC_HEALTHCARE_FACILITY_TYPE_CODE, "healthcareFacilityTypeCode"
            ),
            practice_setting_code=r.code(_CS.DOC_PRACTICE_SETTING_CODE, "practiceSettingCode"),
            type_code=r.code(_CS.DOC_TYPE_CODE, "typeCode"),
            creation_time=s.single(_rim.CREATION_TIME),
            service_start_time=s.single(_rim.SERVICE_START_TIME),
            service_stop_time=s.single(_rim.SERVICE_STOP_TIME),
            hash=s.single(_rim.HASH),
            size=s.single(_rim.SIZE),
            language_code=s.single(_rim.LANGUAGE_CODE),
            legal_authenticator=s.single(_rim.LEGAL_AUTHENTICATOR),
            repository_unique_id=s.single(_rim.REPOSITORY_UNIQUE_ID),
            uri=s.single(_rim.URI),
            reference_ids=s.multi(_rim.REFERENCE_ID_LIST),
            document_availability=s.single(_rim.DOCUMENT_AVAILABILITY),
            limited_metadata=r.has_node(DOC_LIMITED_METADATA),
            extra_slots=s.rest(),
        )
        self._report("DocumentEntry", r, doc.unique_id)
        return doc

    def _package(self, element: etree._Element) -> SubmissionSet | Folder | None:
        r = self._reader(element)
        is_set = r.has_node(_SUBMISSION_SET_NODE)
        is_folder = r.has_node(_FOLDER_NODE)
        if is_set == is_folder:
            which = (
                "both a SubmissionSet and a Folder"
                if is_set
                else "neither a SubmissionSet nor a Folder"
            )
            self._fault(r.id, f"RegistryPackage {r.id}", f"is classified as {which}")
            return None
        package = self._submission_set(r) if is_set else self._folder(r)
        self._report("SubmissionSet" if is_set else "Folder", r, package.unique_id)
        return package

    def _submission_set(self, r: ObjectReader) -> SubmissionSet:
        e = r.element
        return SubmissionSet(
            entry_uuid=r.id,
            status=e.get("status"),
            logical_id=e.get("lid"),
            version=r.version(),
            home=e.get("home"),
            title=r.name(),
            comments=r.description(),
            unique_id=r.identifier(_EI.SS_UNIQUE_ID, "uniqueId"),
            source_id=r.identifier(_EI.SS_SOURCE_ID, "sourceId"),
            patient_id=r.identifier(_EI.SS_PATIENT_ID, "patientId"),
            submission_time=r.slots.single(_rim.SUBMISSION_TIME),
            authors=r.authors(_CS.SS_AUTHOR),
            content_type_code=r.code(_CS.SS_CONTENT_TYPE_CODE, "contentTypeCode"),
            intended_recipients=r.slots.multi(_rim.INTENDED_RECIPIENT),
            limited_metadata=r.has_node(SS_LIMITED_METADATA),
            extra_slots=r.slots.rest(),
        )

    def _folder(self, r: ObjectReader) -> Folder:
        e = r.element
        return Folder(
            entry_uuid=r.id,
            status=e.get("status"),
            logical_id=e.get("lid"),
            version=r.version(),
            home=e.get("home"),
            title=r.name(),
            comments=r.description(),
            unique_id=r.identifier(_EI.FOLDER_UNIQUE_ID, "uniqueId"),
            patient_id=r.identifier(_EI.FOLDER_PATIENT_ID, "patientId"),
            codes=r.codes(_CS.FOLDER_CODE_LIST),
            last_update_time=r.slots.single(_rim.LAST_UPDATE_TIME),
            limited_metadata=r.has_node(FOLDER_LIMITED_METADATA),
            extra_slots=r.slots.rest(),
        )

    def _association(self, element: etree._Element) -> Association:
        r = self._reader(element)
        slots: SlotReader = r.slots
        kind = element.get("associationType", "")
        association = Association(
            entry_uuid=r.id,
            association_type=_rim.SHORT_ASSOCIATION_TYPES.get(kind, kind),
            source=element.get("sourceObject", ""),
            target=element.get("targetObject", ""),
            status=element.get("status"),
            home=element.get("home"),
            submission_set_status=slots.single(_rim.SUBMISSION_SET_STATUS),
            extra_slots=slots.rest(),
            documentation=r.codes(_CS.ASSOCIATION_DOCUMENTATION),
        )
        self._report("Association", r, None)
        return association


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


__all__ = [
    "parse_adhoc_query_response",
    "parse_registry_object_list",
    "parse_registry_response",
    "parse_submit_objects_request",
]
