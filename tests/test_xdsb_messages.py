"""ebrim.xdsb: ITI-41 and ITI-43 messages ↔ model, against the official examples and XSD."""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from ebrim.errors import ErrorCode, MetadataRejected
from ebrim.model import RegistryResponse
from ebrim.safexml import parse_xml
from ebrim.vocabulary import ResponseStatus
from ebrim.xdsb import (
    XOP_INCLUDE,
    DocumentContent,
    DocumentLocator,
    parse_provide_and_register_request,
    parse_retrieve_document_set_request,
    parse_retrieve_document_set_response,
    render_provide_and_register_request,
    render_retrieve_document_set_request,
    render_retrieve_document_set_response,
)

LOCATOR = DocumentLocator("1.3.6.1.4.1000", "1.3.6.1.4.2300")


def _reconstituted(element: etree._Element, data: bytes = b"x") -> etree._Element:
    """The XOP infoset: each xop:Include replaced by base64 text, as the XSD sees it."""
    copy = etree.fromstring(etree.tostring(element))
    for include in list(copy.iter(XOP_INCLUDE)):
        parent = include.getparent()
        parent.remove(include)
        parent.text = base64.b64encode(data).decode()
    return copy


def test_provide_and_register_example_parses_metadata_and_inline_document(ihe_example):
    root = parse_xml(ihe_example("XDS.b_ProvideAndRegisterDocumentSet-bRequest.xml"))
    request = parse_provide_and_register_request(root)
    assert [d.entry_uuid for d in request.metadata.documents] == ["Document01"]
    assert request.documents == (
        DocumentContent("Document01", inline="UjBsR09EbGhjZ0dTQUxNQUFBUUNBRU1tQ1p0dU1GUXhEUzhi"),
    )


def test_provide_and_register_reads_xop_include_href():
    xml = (
        b'<ProvideAndRegisterDocumentSetRequest xmlns="urn:ihe:iti:xds-b:2007"'
        b' xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"'
        b' xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">'
        b"<lcm:SubmitObjectsRequest><rim:RegistryObjectList/></lcm:SubmitObjectsRequest>"
        b'<Document id="Doc1"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include"'
        b' href="cid:1.urn%3Auuid%3Aabc%40apache.org"/></Document>'
        b"</ProvideAndRegisterDocumentSetRequest>"
    )
    request = parse_provide_and_register_request(parse_xml(xml))
    assert request.documents == (
        DocumentContent("Doc1", content_id="cid:1.urn%3Auuid%3Aabc%40apache.org"),
    )


@pytest.mark.parametrize(
    "documents",
    [
        '<Document id="D1">AA==</Document><Document id="D1">AA==</Document>',
        "<Document>AA==</Document>",
        '<Document id="D1"><other/></Document>',
    ],
)
def test_provide_and_register_bad_documents_are_repository_metadata_errors(documents):
    xml = (
        '<ProvideAndRegisterDocumentSetRequest xmlns="urn:ihe:iti:xds-b:2007"'
        ' xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"'
        ' xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">'
        "<lcm:SubmitObjectsRequest><rim:RegistryObjectList/></lcm:SubmitObjectsRequest>"
        f"{documents}</ProvideAndRegisterDocumentSetRequest>"
    ).encode()
    with pytest.raises(MetadataRejected) as caught:
        parse_provide_and_register_request(parse_xml(xml))
    assert caught.value.errors[0].code is ErrorCode.XDSRepositoryMetadataError


def test_provide_and_register_without_submit_objects_request_is_rejected():
    xml = b'<ProvideAndRegisterDocumentSetRequest xmlns="urn:ihe:iti:xds-b:2007"/>'
    with pytest.raises(MetadataRejected) as caught:
        parse_provide_and_register_request(parse_xml(xml))
    assert caught.value.errors[0].code is ErrorCode.XDSRepositoryMetadataError


def test_retrieve_request_example_parses_each_document_request(ihe_example):
    root = parse_xml(ihe_example("XDS.b_RetrieveDocumentSetRequest.xml"))
    assert parse_retrieve_document_set_request(root) == (
        DocumentLocator("1.3.6.1.4...1000", "1.3.6.1.4...2300"),
        DocumentLocator("1.3.6.1.4...1000", "1.3.6.1.4...2301"),
    )


def test_retrieve_request_without_unique_id_is_repository_error():
    xml = (
        b'<RetrieveDocumentSetRequest xmlns="urn:ihe:iti:xds-b:2007"><DocumentRequest>'
        b"<RepositoryUniqueId>1.2</RepositoryUniqueId></DocumentRequest>"
        b"</RetrieveDocumentSetRequest>"
    )
    with pytest.raises(MetadataRejected) as caught:
        parse_retrieve_document_set_request(parse_xml(xml))
    assert caught.value.errors[0].code is ErrorCode.XDSRepositoryError


def test_retrieve_response_is_valid_against_the_official_schema(xsd_valid):
    home = DocumentLocator("1.2.3", "4.5.6", "urn:oid:1.2.3.4")
    response = RegistryResponse(ResponseStatus.SUCCESS)
    element = render_retrieve_document_set_response(
        response, [(LOCATOR, "text/xml", "a@b"), (home, "application/pdf", "c@d")]
    )
    hrefs = [node.get("href") for node in element.iter(XOP_INCLUDE)]
    assert hrefs == ["cid:a@b", "cid:c@d"]
    xsd_valid(_reconstituted(element), "xdsb")


def test_retrieve_response_failure_without_documents_is_valid(xsd_valid):
    response = RegistryResponse.from_errors([])
    xsd_valid(render_retrieve_document_set_response(response, []), "xdsb")


def test_client_requests_round_trip_and_validate(xsd_valid, ihe_example):
    request = render_retrieve_document_set_request([LOCATOR])
    xsd_valid(request, "xdsb")
    assert parse_retrieve_document_set_request(request) == (LOCATOR,)
    example = parse_provide_and_register_request(
        parse_xml(ihe_example("XDS.b_ProvideAndRegisterDocumentSet-bRequest.xml"))
    )
    pnr = render_provide_and_register_request(example.metadata, {"Document01": "doc1@x"})
    xsd_valid(_reconstituted(pnr), "xdsb")
    again = parse_provide_and_register_request(pnr)
    assert again.metadata == example.metadata
    assert again.documents == (DocumentContent("Document01", content_id="cid:doc1@x"),)


def test_client_parses_retrieve_response_back():
    response = RegistryResponse(ResponseStatus.SUCCESS)
    element = render_retrieve_document_set_response(response, [(LOCATOR, "text/xml", "a@b")])
    outcome, entries = parse_retrieve_document_set_response(element)
    assert outcome.status is ResponseStatus.SUCCESS
    assert [(e.locator, e.mime_type, e.content.content_id) for e in entries] == [
        (LOCATOR, "text/xml", "cid:a@b")
    ]
