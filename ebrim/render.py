"""Model → ebRIM 3.0 XML, valid against the official schemas.

Elements follow rim.xsd's order (Slot*, Name?, Description?, VersionInfo?, Classification*,
ExternalIdentifier*). Nested Classifications and ExternalIdentifiers get ids derived from
their owner, scheme and position, so that the same model always renders the same bytes.
"""

from __future__ import annotations

from lxml import etree

from ebrim import _rim
from ebrim import _writer as _w
from ebrim.errors import XDSError
from ebrim.model import (
    Association,
    DocumentEntry,
    Folder,
    Metadata,
    RegistryResponse,
    SubmissionSet,
)
from ebrim.vocabulary import (
    DOC_LIMITED_METADATA,
    FOLDER_LIMITED_METADATA,
    SS_LIMITED_METADATA,
    ClassificationScheme,
    ExternalIdentifierScheme,
    ObjectType,
    ReturnType,
    Severity,
)

_CS = ClassificationScheme
_EI = ExternalIdentifierScheme


def render_submit_objects_request(metadata: Metadata) -> etree._Element:
    """An lcm:SubmitObjectsRequest carrying every object of `metadata`."""
    root = etree.Element(_rim.SUBMIT_OBJECTS_REQUEST, nsmap={"lcm": _rim.LCM, "rim": _rim.RIM})
    _fill_object_list(
        etree.SubElement(root, _rim.REGISTRY_OBJECT_LIST), metadata, ReturnType.LEAF_CLASS
    )
    return root


def render_registry_object_list(
    metadata: Metadata, return_type: ReturnType = ReturnType.LEAF_CLASS
) -> etree._Element:
    """A rim:RegistryObjectList: full objects (LeafClass) or one rim:ObjectRef per id."""
    element = etree.Element(_rim.REGISTRY_OBJECT_LIST, nsmap={"rim": _rim.RIM})
    _fill_object_list(element, metadata, return_type)
    return element


def render_registry_response(response: RegistryResponse) -> etree._Element:
    """An rs:RegistryResponse with its RegistryErrorList when there are errors or warnings."""
    root = etree.Element(_rim.REGISTRY_RESPONSE, nsmap={"rs": _rim.RS})
    _fill_response(root, response)
    return root


def render_adhoc_query_response(
    response: RegistryResponse, metadata: Metadata, return_type: ReturnType
) -> etree._Element:
    """A query:AdhocQueryResponse: the outcome, then the objects found in `return_type` form."""
    nsmap = {"query": _rim.QUERY, "rs": _rim.RS, "rim": _rim.RIM}
    root = etree.Element(_rim.ADHOC_QUERY_RESPONSE, nsmap=nsmap)
    _fill_response(root, response)
    _fill_object_list(etree.SubElement(root, _rim.REGISTRY_OBJECT_LIST), metadata, return_type)
    return root


def _fill_response(root: etree._Element, response: RegistryResponse) -> None:
    root.set("status", response.status.value)
    if response.request_id is not None:
        root.set("requestId", response.request_id)
    if response.errors:
        highest = Severity.ERROR if any(e.is_error for e in response.errors) else Severity.WARNING
        error_list = etree.SubElement(root, _rim.REGISTRY_ERROR_LIST, highestSeverity=highest.value)
        for error in response.errors:
            _error(error_list, error)


def _error(parent: etree._Element, error: XDSError) -> None:
    entry = etree.SubElement(parent, _rim.REGISTRY_ERROR)
    entry.set("errorCode", error.code.value)
    entry.set("codeContext", error.message)
    if error.location:
        entry.set("location", error.location)
    entry.set("severity", error.severity.value)


def _fill_object_list(parent: etree._Element, metadata: Metadata, return_type: ReturnType) -> None:
    if return_type is ReturnType.OBJECT_REF:
        for obj in metadata.objects():
            _object_ref(parent, obj.entry_uuid, obj.home)
    else:
        for submission_set in metadata.submission_sets:
            _submission_set(parent, submission_set)
        for folder in metadata.folders:
            _folder(parent, folder)
        for document in metadata.documents:
            _document(parent, document)
        for association in metadata.associations:
            _association(parent, association)
    for ref in metadata.object_refs:
        _object_ref(parent, ref.id, ref.home)


def _object_ref(parent: etree._Element, object_id: str, home: str | None) -> None:
    _w.sub(parent, _rim.OBJECT_REF, id=object_id, home=home)


def _document(parent: etree._Element, doc: DocumentEntry) -> None:
    element = _w.sub(
        parent,
        _rim.EXTRINSIC_OBJECT,
        id=doc.entry_uuid,
        home=doc.home,
        lid=doc.logical_id,
        objectType=doc.object_type or None,
        status=doc.status,
        mimeType=doc.mime_type,
    )
    named = [
        (_rim.CREATION_TIME, _w.one(doc.creation_time)),
        (_rim.HASH, _w.one(doc.hash)),
        (_rim.SIZE, _w.one(doc.size)),
        (_rim.LANGUAGE_CODE, _w.one(doc.language_code)),
        (_rim.LEGAL_AUTHENTICATOR, _w.one(doc.legal_authenticator)),
        (_rim.REPOSITORY_UNIQUE_ID, _w.one(doc.repository_unique_id)),
        (_rim.SERVICE_START_TIME, _w.one(doc.service_start_time)),
        (_rim.SERVICE_STOP_TIME, _w.one(doc.service_stop_time)),
        (_rim.SOURCE_PATIENT_ID, _w.one(doc.source_patient_id)),
        (_rim.SOURCE_PATIENT_INFO, doc.source_patient_info),
        (_rim.URI, _w.one(doc.uri)),
        (_rim.REFERENCE_ID_LIST, doc.reference_ids),
        (_rim.DOCUMENT_AVAILABILITY, _w.one(doc.document_availability)),
    ]
    _w.header(element, named, doc.extra_slots, doc.title, doc.comments, doc.version)
    owner = doc.entry_uuid
    _w.authors(element, owner, _CS.DOC_AUTHOR, doc.authors)
    _w.codes(element, owner, _CS.DOC_CLASS_CODE, _w.opt(doc.class_code))
    _w.codes(element, owner, _CS.DOC_CONFIDENTIALITY_CODE, doc.confidentiality_codes)
    _w.codes(element, owner, _CS.DOC_EVENT_CODE, doc.event_codes)
    _w.codes(element, owner, _CS.DOC_FORMAT_CODE, _w.opt(doc.format_code))
    _w.codes(
        element,
        owner,
        _CS.DOC_HEALTHCARE_FACILITY_TYPE_CODE,
        _w.opt(doc.healthcare_facility_type_code),
    )
    _w.codes(element, owner, _CS.DOC_PRACTICE_SETTING_CODE, _w.opt(doc.practice_setting_code))
    _w.codes(element, owner, _CS.DOC_TYPE_CODE, _w.opt(doc.type_code))
    if doc.limited_metadata:
        _w.node(element, owner, DOC_LIMITED_METADATA)
    _w.identifier(element, owner, _EI.DOC_PATIENT_ID, doc.patient_id)
    _w.identifier(element, owner, _EI.DOC_UNIQUE_ID, doc.unique_id)


def _submission_set(parent: etree._Element, ss: SubmissionSet) -> None:
    element = _package(parent, ss.entry_uuid, ss.home, ss.logical_id, ss.status)
    named = [
        (_rim.SUBMISSION_TIME, _w.one(ss.submission_time)),
        (_rim.INTENDED_RECIPIENT, ss.intended_recipients),
    ]
    _w.header(element, named, ss.extra_slots, ss.title, ss.comments, ss.version)
    owner = ss.entry_uuid
    _w.node(element, owner, ObjectType.SUBMISSION_SET.value)
    _w.authors(element, owner, _CS.SS_AUTHOR, ss.authors)
    _w.codes(element, owner, _CS.SS_CONTENT_TYPE_CODE, _w.opt(ss.content_type_code))
    if ss.limited_metadata:
        _w.node(element, owner, SS_LIMITED_METADATA)
    _w.identifier(element, owner, _EI.SS_UNIQUE_ID, ss.unique_id)
    _w.identifier(element, owner, _EI.SS_SOURCE_ID, ss.source_id)
    _w.identifier(element, owner, _EI.SS_PATIENT_ID, ss.patient_id)


def _folder(parent: etree._Element, folder: Folder) -> None:
    element = _package(parent, folder.entry_uuid, folder.home, folder.logical_id, folder.status)
    named = [(_rim.LAST_UPDATE_TIME, _w.one(folder.last_update_time))]
    _w.header(element, named, folder.extra_slots, folder.title, folder.comments, folder.version)
    owner = folder.entry_uuid
    _w.node(element, owner, ObjectType.FOLDER.value)
    _w.codes(element, owner, _CS.FOLDER_CODE_LIST, folder.codes)
    if folder.limited_metadata:
        _w.node(element, owner, FOLDER_LIMITED_METADATA)
    _w.identifier(element, owner, _EI.FOLDER_UNIQUE_ID, folder.unique_id)
    _w.identifier(element, owner, _EI.FOLDER_PATIENT_ID, folder.patient_id)


def _package(
    parent: etree._Element, object_id: str, home: str | None, lid: str | None, status: str | None
) -> etree._Element:
    return _w.sub(
        parent,
        _rim.REGISTRY_PACKAGE,
        id=object_id,
        home=home,
        lid=lid,
        objectType=ObjectType.REGISTRY_PACKAGE.value,
        status=status,
    )


def _association(parent: etree._Element, association: Association) -> None:
    element = _w.sub(
        parent,
        _rim.ASSOCIATION,
        id=association.entry_uuid,
        home=association.home,
        objectType=ObjectType.ASSOCIATION.value,
        status=association.status,
        associationType=association.association_type,
        sourceObject=association.source,
        targetObject=association.target,
    )
    named = [(_rim.SUBMISSION_SET_STATUS, _w.one(association.submission_set_status))]
    _w.header(element, named, association.extra_slots, None, None, None)
    _w.codes(
        element, association.entry_uuid, _CS.ASSOCIATION_DOCUMENTATION, association.documentation
    )


__all__ = [
    "render_adhoc_query_response",
    "render_registry_object_list",
    "render_registry_response",
    "render_submit_objects_request",
]
