"""ITI-41 and ITI-43 through the WSGI app, against an in-memory repository."""

from __future__ import annotations

import base64
import logging
import os
import tracemalloc

import pytest
from lxml import etree
from soap_support import (
    NS,
    PNR,
    REPOSITORY_ID,
    RETRIEVE,
    FakeRepository,
    call,
    envelope,
    mime_parts,
    mtom_body,
    mtom_type,
    root_of,
)

from ebrim.xdsb import XOP_INCLUDE, DocumentLocator, render_retrieve_document_set_request
from soap import make_app

PATH = "/xds/repository"
INLINE = b'<Document id="Document01">UjBsR09EbGhjZ0dTQUxNQUFBUUNBRU1tQ1p0dU1GUXhEUzhi</Document>'
INCLUDE = (
    b'<Document id="Document01"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include"'
    b' href="cid:1.urn%3Auuid%3A5117AAE1-8B2A-4E74-8B1C-60C7B0B7A3D3%40apache.org"/></Document>'
)
CID = "<1.urn:uuid:5117AAE1-8B2A-4E74-8B1C-60C7B0B7A3D3@apache.org>"
CDA = b"<ClinicalDocument xmlns='urn:hl7-org:v3'>\r\n--not a boundary\r\n</ClinicalDocument>"


@pytest.fixture
def repository():
    return FakeRepository()


@pytest.fixture
def app(repository):
    return make_app(repository=repository)


@pytest.fixture
def example_mtom(ihe_example):
    """The official ITI-41 SOAP example with its Document turned into an xop:Include."""
    soap = ihe_example("XDS.b_ProvideAndRegisterDocumentSet-bRequest_SOAP.xml")
    assert INLINE in soap
    return soap.replace(INLINE, INCLUDE)


def _status(answer) -> str:
    return root_of(answer).find(".//rs:RegistryResponse", NS).get("status").rsplit(":", 1)[-1]


def _unique_id(repository: FakeRepository) -> str:
    return next(iter(repository.stored))


def test_iti41_mtom_stores_the_part_bytes(app, repository, example_mtom, xsd_valid):
    body = mtom_body(example_mtom, [(CID, CDA)], root_first=False)
    answer = call(app, PATH, body, content_type=mtom_type(start="<root.message@cxf.apache.org>"))
    assert answer.status == 200
    assert _status(answer) == "Success"
    assert list(repository.stored.values()) == [("text/xml", CDA)]
    envelope_ = root_of(answer)
    assert envelope_.findtext(".//wsa:Action", namespaces=NS) == f"{PNR}Response"
    xsd_valid(envelope_.find(".//rs:RegistryResponse", NS), "rs")


def test_iti41_content_length_larger_than_the_body_is_a_fault(app, repository, example_mtom):
    # Issue 13: a complete multipart was accepted whatever the Content-Length claimed.
    body = mtom_body(example_mtom, [(CID, CDA)], root_first=False)
    content_type = mtom_type(start="<root.message@cxf.apache.org>")
    answer = call(app, PATH, body, content_type=content_type, length=len(body) + 100)
    assert answer.status == 400
    assert answer.fault_codes() == ["env:Sender"]
    assert b"truncated request body: 100 bytes missing" in answer.body
    assert repository.stored == {}


def test_iti41_epilogue_after_the_closing_delimiter_is_read_and_accepted(
    app, repository, example_mtom
):
    body = mtom_body(example_mtom, [(CID, CDA)], root_first=False) + b"epilogue\r\n"
    answer = call(app, PATH, body, content_type=mtom_type(start="<root.message@cxf.apache.org>"))
    assert answer.status == 200
    assert _status(answer) == "Success"


def test_iti41_duplicate_content_id_is_a_fault_and_nothing_is_stored(app, repository, example_mtom):
    body = mtom_body(example_mtom, [(CID, CDA), (CID, b"<other/>")], root_first=False)
    answer = call(app, PATH, body, content_type=mtom_type(start="<root.message@cxf.apache.org>"))
    assert answer.status == 400
    assert answer.fault_codes() == ["env:Sender"]
    assert b"same Content-ID" in answer.body
    assert repository.stored == {}


def test_iti41_plain_soap_with_inline_base64_is_accepted(app, repository, ihe_example):
    soap = ihe_example("XDS.b_ProvideAndRegisterDocumentSet-bRequest_SOAP.xml")
    answer = call(app, PATH, soap)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/soap+xml")
    assert _status(answer) == "Success"
    expected = base64.b64decode("UjBsR09EbGhjZ0dTQUxNQUFBUUNBRU1tQ1p0dU1GUXhEUzhi")
    assert list(repository.stored.values()) == [("text/xml", expected)]


def test_iti41_include_of_a_missing_part_is_a_sender_fault(app, repository, example_mtom):
    body = mtom_body(example_mtom, [("<other@x>", CDA)])
    answer = call(app, PATH, body, content_type=mtom_type())
    assert answer.status == 400
    assert answer.fault_codes() == ["env:Sender"]
    assert b"names no MIME part" in answer.body
    assert repository.stored == {}


def test_iti41_invalid_inline_base64_is_a_sender_fault(app, ihe_example):
    soap = ihe_example("XDS.b_ProvideAndRegisterDocumentSet-bRequest_SOAP.xml")
    answer = call(app, PATH, soap.replace(INLINE, b'<Document id="Document01">@@@</Document>'))
    assert answer.fault_codes() == ["env:Sender"]


def test_iti41_unreadable_metadata_is_a_repository_metadata_error(app):
    body = b'<ProvideAndRegisterDocumentSetRequest xmlns="urn:ihe:iti:xds-b:2007"/>'
    answer = call(app, PATH, envelope(PNR, body))
    assert answer.status == 200
    assert _status(answer) == "Failure"
    codes = [e.get("errorCode") for e in answer.xml.iterfind(".//rs:RegistryError", NS)]
    assert codes == ["XDSRepositoryMetadataError"]


def test_iti41_large_mtom_document_is_not_held_in_memory(tmp_path, example_mtom):
    repository = FakeRepository(keep_bytes=False)
    app = make_app(repository=repository)
    size, block = 30 * 1024 * 1024, os.urandom(1024 * 1024)
    path = tmp_path / "request.bin"
    with path.open("wb") as out:
        out.write(mtom_body(example_mtom, []).rsplit(b"--MIMEBoundary_1234--", 1)[0])
        out.write(f"--MIMEBoundary_1234\r\nContent-ID: {CID}\r\n\r\n".encode())
        for _ in range(size // len(block)):
            out.write(block)
        out.write(b"\r\n--MIMEBoundary_1234--\r\n")
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            answer = call(app, PATH, stream, content_type=mtom_type(), length=path.stat().st_size)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _status(answer) == "Success"
    assert peak < 8 * 1024 * 1024, f"peak {peak} for a {size}-byte document"


def _retrieve(app, *unique_ids: str, repository_id: str = REPOSITORY_ID):
    locators = [DocumentLocator(repository_id, uid) for uid in unique_ids]
    body = envelope(RETRIEVE, render_retrieve_document_set_request(locators))
    return call(app, PATH, body)


def test_an_mtom_answer_without_attachments_is_one_body_with_its_length(app, example_mtom):
    body = mtom_body(example_mtom, [(CID, CDA)], root_first=False)
    answer = call(app, PATH, body, content_type=mtom_type(start="<root.message@cxf.apache.org>"))
    assert answer.headers["content-type"].startswith("multipart/related")
    assert answer.headers["content-length"] == str(len(answer.body))
    assert _status(answer) == "Success"
    assert len(mime_parts(answer)) == 1


def test_an_mtom_answer_with_documents_is_streamed(app, repository):
    repository.stored["1.1"] = ("text/xml", CDA)
    answer = _retrieve(app, "1.1")
    assert "content-length" not in answer.headers  # a document can be large: not held whole
    assert [data for _headers, data in mime_parts(answer)[1:]] == [CDA]


def test_iti43_answers_mtom_read_back_byte_identical(app, repository, xsd_valid):
    pdf = os.urandom(200_000) + b"\r\n--MIMEBoundary\r\n"
    repository.stored.update({"1.1": ("text/xml", CDA), "1.2": ("application/pdf", pdf)})
    answer = _retrieve(app, "1.1", "1.2")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("multipart/related")
    parts = mime_parts(answer)
    root = etree.fromstring(parts[0][1])
    assert root.findtext(".//wsa:Action", namespaces=NS) == f"{RETRIEVE}Response"
    response = root.find(".//{urn:ihe:iti:xds-b:2007}RetrieveDocumentSetResponse")
    by_cid = {headers["content-id"]: data for headers, data in parts[1:]}
    hrefs = [node.get("href") for node in response.iter(XOP_INCLUDE)]
    assert [by_cid[f"<{href[4:]}>"] for href in hrefs] == [CDA, pdf]
    mimes = response.findall(".//{urn:ihe:iti:xds-b:2007}mimeType")
    assert [m.text for m in mimes] == ["text/xml", "application/pdf"]
    for include in list(response.iter(XOP_INCLUDE)):  # validate the XOP infoset
        parent = include.getparent()
        parent.remove(include)
        parent.text = "AA=="
    xsd_valid(response, "xdsb")


def test_iti43_unknown_document_is_partial_success(app, repository):
    repository.stored["1.1"] = ("text/xml", CDA)
    answer = _retrieve(app, "1.1", "9.9")
    root = root_of(answer)
    assert _status(answer) == "PartialSuccess"
    assert [e.get("errorCode") for e in root.iterfind(".//rs:RegistryError", NS)] == [
        "XDSDocumentUniqueIdError"
    ]
    assert len(mime_parts(answer)) == 2


def test_iti43_malformed_request_is_a_failure_response(app):
    body = b'<RetrieveDocumentSetRequest xmlns="urn:ihe:iti:xds-b:2007"/>'
    answer = call(app, PATH, envelope(RETRIEVE, body))
    assert _status(answer) == "Failure"


def test_unexpected_error_is_a_receiver_fault_and_service_continues(
    app, repository, monkeypatch, caplog
):
    def broken(requests):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(repository, "retrieve", broken)
    with caplog.at_level(logging.ERROR, logger="soap"):
        answer = _retrieve(app, "1.1")
    assert answer.status == 500
    assert answer.fault_codes() == ["env:Receiver"]
    assert b"disk on fire" not in answer.body
    assert any("disk on fire" in r.exc_text for r in caplog.records if r.exc_text)
    monkeypatch.undo()
    assert _retrieve(app, "1.1").status == 200


def test_iti41_inline_base64_over_10_mb_is_accepted(app, repository, ihe_example):
    data = os.urandom(9 * 1024 * 1024)  # 12 MB of base64 text: over libxml2's 10 MB text limit
    soap = ihe_example("XDS.b_ProvideAndRegisterDocumentSet-bRequest_SOAP.xml")
    inline = b'<Document id="Document01">' + base64.encodebytes(data) + b"</Document>"
    answer = call(app, PATH, soap.replace(INLINE, inline))
    assert _status(answer) == "Success"
    assert list(repository.stored.values()) == [("text/xml", data)]


def test_a_control_character_in_a_mime_header_is_a_sender_fault_not_a_500(app, example_mtom):
    # Found by tests/test_fuzz.py: the fault's reason quoted the header, NUL included, and
    # the fault could not be written (an HTTP 500).
    body = mtom_body(example_mtom, [(CID, CDA)]).replace(
        b"Content-Type: application/xop+xml", b"Content-Type:\x00application/xop+xml", 1
    )
    answer = call(app, PATH, body, content_type=mtom_type())
    assert answer.status == 400
    assert answer.fault_codes() == ["env:Sender"]
