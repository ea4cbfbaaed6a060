"""XDS.b repository messages (ITI-41, ITI-43, ITI-86) ↔ model, for both server and client.

The bytes of a document are not this module's business: an xdsb:Document is read as
either an xop:Include reference (a MIME part's Content-ID) or its inline base64 text,
and rendered as an xop:Include. `soap/` resolves and streams the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from ebrim import _rim
from ebrim.errors import ErrorCode, MetadataRejected, Transaction, XDSError
from ebrim.model import Metadata, RegistryResponse
from ebrim.parse import parse_registry_response, parse_submit_objects_request
from ebrim.render import render_registry_response, render_submit_objects_request
from ebrim.vocabulary import Namespace

XDSB = Namespace.XDSB.value
XOP = "http://www.w3.org/2004/08/xop/include"
XOP_INCLUDE = f"{{{XOP}}}Include"
RMD = "urn:ihe:iti:rmd:2017"

PROVIDE_AND_REGISTER_REQUEST = f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest"
RETRIEVE_REQUEST = f"{{{XDSB}}}RetrieveDocumentSetRequest"
RETRIEVE_RESPONSE = f"{{{XDSB}}}RetrieveDocumentSetResponse"
# RMD.xsd: rmd:RemoveDocumentsRequest is of type xdsb:RetrieveDocumentSetRequestType.
REMOVE_DOCUMENTS_REQUEST = f"{{{RMD}}}RemoveDocumentsRequest"
_DOCUMENT = f"{{{XDSB}}}Document"
_DOCUMENT_REQUEST = f"{{{XDSB}}}DocumentRequest"
_DOCUMENT_RESPONSE = f"{{{XDSB}}}DocumentResponse"
_HOME = f"{{{XDSB}}}HomeCommunityId"
_REPOSITORY = f"{{{XDSB}}}RepositoryUniqueId"
_UNIQUE_ID = f"{{{XDSB}}}DocumentUniqueId"
_MIME_TYPE = f"{{{XDSB}}}mimeType"


@dataclass(frozen=True)
class DocumentContent:
    """Where a document's bytes are: a MIME part (`content_id`, from xop:Include) or `inline`.

    `inline` is the base64 text exactly as received; `content_id` is the href as written
    (`cid:...`, possibly percent-encoded), left for the MIME layer to match.
    """

    document_id: str
    content_id: str | None = None
    inline: str | None = None


@dataclass(frozen=True)
class ProvideAndRegisterRequest:
    """An ITI-41 request: the metadata, then one content per xdsb:Document, in message order."""

    metadata: Metadata
    documents: tuple[DocumentContent, ...]


@dataclass(frozen=True)
class DocumentLocator:
    """One xdsb:DocumentRequest (ITI-43, ITI-86); `repository.api.DocumentRequest` is this class."""

    repository_unique_id: str
    document_unique_id: str
    home_community_id: str | None = None


@dataclass(frozen=True)
class RetrievedEntry:
    """One xdsb:DocumentResponse: which document, its mime type, and its content."""

    locator: DocumentLocator
    mime_type: str
    content: DocumentContent


def parse_provide_and_register_request(element: etree._Element) -> ProvideAndRegisterRequest:
    """An xdsb:ProvideAndRegisterDocumentSetRequest; MetadataRejected if it is not one."""
    code = Transaction.ITI_41.metadata_error
    _expect(element, PROVIDE_AND_REGISTER_REQUEST, code)
    submit = next(element.iterchildren(_rim.SUBMIT_OBJECTS_REQUEST), None)
    if submit is None:
        raise _rejected(code, "lcm:SubmitObjectsRequest is missing", "SubmitObjectsRequest")
    metadata = parse_submit_objects_request(submit, transaction=Transaction.ITI_41)
    documents: list[DocumentContent] = []
    seen: set[str] = set()
    for node in element.iterchildren(_DOCUMENT):
        content = _content(node, node.get("id") or "", code)
        if not content.document_id:
            raise _rejected(code, "xdsb:Document without an id attribute", "Document")
        if content.document_id in seen:
            raise _rejected(code, "xdsb:Document id given twice", content.document_id)
        seen.add(content.document_id)
        documents.append(content)
    return ProvideAndRegisterRequest(metadata, tuple(documents))


def parse_retrieve_document_set_request(element: etree._Element) -> tuple[DocumentLocator, ...]:
    """The DocumentRequests of an xdsb:RetrieveDocumentSetRequest (XDSRepositoryError if bad)."""
    code = ErrorCode.XDSRepositoryError
    _expect(element, RETRIEVE_REQUEST, code)
    locators = tuple(_locator(node, code) for node in element.iterchildren(_DOCUMENT_REQUEST))
    if not locators:
        raise _rejected(
            code, "RetrieveDocumentSetRequest has no DocumentRequest", "DocumentRequest"
        )
    return locators


def parse_remove_documents_request(element: etree._Element) -> tuple[DocumentLocator, ...]:
    """The DocumentRequests of an ITI-86 rmd:RemoveDocumentsRequest (XDSRemoveDocumentsError)."""
    code = Transaction.ITI_86.metadata_error
    if element.tag != REMOVE_DOCUMENTS_REQUEST:
        message = f"expected rmd:RemoveDocumentsRequest, got {element.tag}"
        raise _rejected(code, message, "RemoveDocumentsRequest")
    locators = tuple(_locator(node, code) for node in element.iterchildren(_DOCUMENT_REQUEST))
    if not locators:
        raise _rejected(code, "RemoveDocumentsRequest has no DocumentRequest", "DocumentRequest")
    return locators


def render_retrieve_document_set_response(
    response: RegistryResponse, documents: Sequence[tuple[DocumentLocator, str, str]]
) -> etree._Element:
    """An xdsb:RetrieveDocumentSetResponse; each (locator, mimeType, content_id) becomes an
    xdsb:DocumentResponse whose Document is an xop:Include of `cid:<content_id>`."""
    root = etree.Element(RETRIEVE_RESPONSE, nsmap={"xdsb": XDSB, "rs": _rim.RS, "xop": XOP})
    root.append(render_registry_response(response))
    for locator, mime_type, content_id in documents:
        entry = etree.SubElement(root, _DOCUMENT_RESPONSE)
        _write_locator(entry, locator)
        etree.SubElement(entry, _MIME_TYPE).text = mime_type
        _include(etree.SubElement(entry, _DOCUMENT), content_id)
    return root


# --- client side ------------------------------------------------------------------------------


def render_provide_and_register_request(
    metadata: Metadata, content_ids: Mapping[str, str]
) -> etree._Element:
    """An ITI-41 request whose Documents (DocumentEntry id → content id) are xop:Includes."""
    root = etree.Element(PROVIDE_AND_REGISTER_REQUEST, nsmap={"xdsb": XDSB, "xop": XOP})
    root.append(render_submit_objects_request(metadata))
    for document_id, content_id in content_ids.items():
        node = etree.SubElement(root, _DOCUMENT, id=document_id)
        _include(node, content_id)
    return root


def render_retrieve_document_set_request(locators: Sequence[DocumentLocator]) -> etree._Element:
    """An ITI-43 request for each locator."""
    root = etree.Element(RETRIEVE_REQUEST, nsmap={"xdsb": XDSB})
    for locator in locators:
        _write_locator(etree.SubElement(root, _DOCUMENT_REQUEST), locator)
    return root


def render_remove_documents_request(locators: Sequence[DocumentLocator]) -> etree._Element:
    """An ITI-86 request for each locator."""
    root = etree.Element(REMOVE_DOCUMENTS_REQUEST, nsmap={"rmd": RMD, "xdsb": XDSB})
    for locator in locators:
        _write_locator(etree.SubElement(root, _DOCUMENT_REQUEST), locator)
    return root


def parse_retrieve_document_set_response(
    element: etree._Element,
) -> tuple[RegistryResponse, tuple[RetrievedEntry, ...]]:
    """The outcome and the DocumentResponses of an xdsb:RetrieveDocumentSetResponse."""
    code = ErrorCode.XDSRepositoryError
    _expect(element, RETRIEVE_RESPONSE, code)
    outcome = element.find(_rim.REGISTRY_RESPONSE)
    if outcome is None:
        raise _rejected(code, "rs:RegistryResponse is missing", "RegistryResponse")
    entries = []
    for node in element.iterchildren(_DOCUMENT_RESPONSE):
        locator = _locator(node, code)
        document = node.find(_DOCUMENT)
        if document is None:
            raise _rejected(code, "DocumentResponse without Document", locator.document_unique_id)
        content = _content(document, locator.document_unique_id, code)
        entries.append(RetrievedEntry(locator, node.findtext(_MIME_TYPE) or "", content))
    return parse_registry_response(outcome), tuple(entries)


# --- helpers ----------------------------------------------------------------------------------


def _content(node: etree._Element, document_id: str, code: ErrorCode) -> DocumentContent:
    includes = [child for child in node if child.tag == XOP_INCLUDE]
    if len(includes) > 1 or (includes and len(node) > 1):
        raise _rejected(code, "xdsb:Document holds more than one xop:Include", document_id)
    if includes:
        href = includes[0].get("href")
        if not href:
            raise _rejected(code, "xop:Include without href", document_id)
        return DocumentContent(document_id, content_id=href)
    if len(node):
        raise _rejected(code, "xdsb:Document holds unexpected elements", document_id)
    return DocumentContent(document_id, inline=node.text or "")


def _locator(node: etree._Element, code: ErrorCode) -> DocumentLocator:
    repository = (node.findtext(_REPOSITORY) or "").strip()
    unique_id = (node.findtext(_UNIQUE_ID) or "").strip()
    if not repository or not unique_id:
        message = "RepositoryUniqueId and DocumentUniqueId are required"
        raise _rejected(code, message, unique_id or node.tag)
    home = (node.findtext(_HOME) or "").strip() or None
    return DocumentLocator(repository, unique_id, home)


def _write_locator(parent: etree._Element, locator: DocumentLocator) -> None:
    if locator.home_community_id:
        etree.SubElement(parent, _HOME).text = locator.home_community_id
    etree.SubElement(parent, _REPOSITORY).text = locator.repository_unique_id
    etree.SubElement(parent, _UNIQUE_ID).text = locator.document_unique_id


def _include(parent: etree._Element, content_id: str) -> None:
    href = content_id if content_id.startswith("cid:") else f"cid:{content_id}"
    etree.SubElement(parent, XOP_INCLUDE, href=href)


def _expect(element: etree._Element, tag: str, code: ErrorCode) -> None:
    if element.tag != tag:
        expected = etree.QName(tag).localname
        raise _rejected(code, f"expected xdsb:{expected}, got {element.tag}", expected)


def _rejected(code: ErrorCode, message: str, location: str) -> MetadataRejected:
    return MetadataRejected([XDSError(code, message, location)])


__all__ = [
    "DocumentContent",
    "DocumentLocator",
    "ProvideAndRegisterRequest",
    "RetrievedEntry",
    "parse_provide_and_register_request",
    "parse_remove_documents_request",
    "parse_retrieve_document_set_request",
    "parse_retrieve_document_set_response",
    "render_provide_and_register_request",
    "render_remove_documents_request",
    "render_retrieve_document_set_request",
    "render_retrieve_document_set_response",
]
