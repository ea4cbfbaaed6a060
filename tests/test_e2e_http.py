"""End to end over real HTTP: `xds serve` (gunicorn) in a subprocess, SQLite in a temp folder."""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import hashlib
import socket
from pathlib import Path

import pytest
import zeep
from conftest import CDA_EXAMPLES as EXAMPLES
from e2e_support import (
    PATIENT,
    PNR,
    feed,
    pnr_envelope,
    post,
    raw_exchange,
    soap_root,
    status_of,
    stored_objects,
    submission,
    xds,
)
from soap_support import NS, RETRIEVE, SOAP11, envelope, mtom_body, mtom_type, new_message_id

from cda import read_header
from ebrim.xdsb import DocumentLocator, render_retrieve_document_set_request
from soap.client import FaultError, XdsClient
from xds_cli.server import ServerProcess

CDA = b"<ClinicalDocument xmlns='urn:hl7-org:v3'>\r\n--not a boundary\r\n</ClinicalDocument>"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("e2e-http")
    with ServerProcess(data) as running:
        feed(running)
        yield running


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> XdsClient:
    return XdsClient(server.url, timeout=(5, 20))


def _repository_id(server: ServerProcess) -> str:
    return (server.data / "repository-id").read_text().strip()


def _hand_built_pnr(server: ServerProcess, document: bytes = CDA, **entry: str):
    metadata = submission()
    if entry:
        doc = dataclasses.replace(metadata.documents[0], **entry)
        metadata = dataclasses.replace(metadata, documents=(doc,))
    body = mtom_body(pnr_envelope(metadata), [("<doc1@e2e.test>", document)])
    response = post(
        f"{server.url}/xds/repository", body, mtom_type(start="<root.message@cxf.apache.org>")
    )
    return metadata, response


def _good_request_still_served(client: XdsClient) -> None:
    metadata = submission()
    response = client.provide_and_register(metadata, {metadata.documents[0].entry_uuid: CDA})
    assert response.status.name == "SUCCESS", response.errors


def test_iti41_mtom_written_by_hand_is_registered(server, client):
    metadata, response = _hand_built_pnr(server)
    assert response.status_code == 200
    parts = _mime(response)
    assert status_of(_xml(parts[0][1])) == "Success"
    unique_id = metadata.documents[0].unique_id
    answer = client.query(_get_documents(unique_id))
    assert [d.hash for d in answer.metadata.documents] == [hashlib.sha1(CDA).hexdigest()]


def test_iti43_mtom_answer_reads_back_byte_identical_with_the_email_parser(server, client):
    metadata = submission()
    document = bytes(range(256)) * 64 + b"\r\n--MIMEBoundary\r\n"
    assert client.provide_and_register(metadata, {"Document01": document}).status.name == "SUCCESS"
    locator = DocumentLocator(_repository_id(server), metadata.documents[0].unique_id)
    request = envelope(
        RETRIEVE, render_retrieve_document_set_request([locator]), message_id=new_message_id()
    )
    response = post(f"{server.url}/xds/repository", request, "application/soap+xml; charset=UTF-8")
    assert response.headers["Content-Type"].startswith("multipart/related")
    parts = _mime(response)
    assert status_of(_xml(parts[0][1])) == "Success"
    assert parts[1][1] == document


def test_iti18_through_zeep_loading_the_served_wsdl(server):
    zeep_client = zeep.Client(f"{server.url}/xds/registry?wsdl")
    operations = {op for op in zeep_client.service._operations}
    assert "DocumentRegistry_RegistryStoredQuery" in operations
    metadata = submission()
    ours = XdsClient(server.url)
    assert ours.provide_and_register(metadata, {"Document01": CDA}).status.name == "SUCCESS"
    answer = ours.query(_find(PATIENT))  # our client drives zeep
    assert answer.response.status.name == "SUCCESS"
    assert metadata.documents[0].unique_id in {d.unique_id for d in answer.metadata.documents}


def test_client_retrieve_streams_to_a_file(server, client, tmp_path: Path):
    metadata = submission()
    client.provide_and_register(metadata, {"Document01": CDA})
    locator = DocumentLocator(_repository_id(server), metadata.documents[0].unique_id)
    result = client.retrieve([locator], lambda _: tmp_path / "out.xml")
    assert (tmp_path / "out.xml").read_bytes() == CDA
    assert result.documents[0].hash == hashlib.sha1(CDA).hexdigest()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wrong action", ("env:Sender", "wsa:ActionNotSupported")),
        ("missing MessageID", ("env:Sender", "wsa:MessageAddressingHeaderRequired")),
        ("SOAP 1.1", ("env:VersionMismatch",)),
        ("malformed multipart", ("env:Sender",)),
    ],
)
def test_bad_envelope_gets_its_fault_and_the_server_keeps_serving(server, client, name, expected):
    metadata = submission()
    url = f"{server.url}/xds/repository"
    if name == "wrong action":
        body = envelope(
            "urn:ihe:iti:2007:RegistryStoredQuery", b"<x/>", message_id=new_message_id()
        )
        response = post(url, body, "application/soap+xml")
    elif name == "missing MessageID":
        response = post(url, envelope(PNR, b"<x/>", message_id=None), "application/soap+xml")
    elif name == "SOAP 1.1":
        body = envelope(PNR, b"<x/>", message_id=new_message_id(), namespace=SOAP11)
        response = post(url, body, "text/xml")
    else:
        body = mtom_body(pnr_envelope(metadata), [("<doc1@e2e.test>", CDA)])
        response = post(url, body[: len(body) // 2], mtom_type())
    root = soap_root(response)
    codes = tuple(v.text for v in root.iterfind(".//env:Fault/env:Code//env:Value", NS))
    assert codes == expected
    _good_request_still_served(client)


def test_truncated_body_is_a_sender_fault_and_the_server_keeps_serving(server, client):
    body = mtom_body(pnr_envelope(submission()), [("<doc1@e2e.test>", CDA)])
    head = (
        f"POST /xds/repository HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {mtom_type()}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    answer = raw_exchange(server.port, head, body[: len(body) - 80])  # cut inside the document
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"truncated" in answer
    _good_request_still_served(client)


def test_mismatched_hash_is_refused_and_nothing_is_stored(server, client):
    before = stored_objects(server.data)
    _, response = _hand_built_pnr(server, hash="0" * 40)
    root = _xml(_mime(response)[0][1])
    assert status_of(root) == "Failure"
    codes = {e.get("errorCode") for e in root.iterfind(".//rs:RegistryError", NS)}
    assert codes == {"XDSRepositoryMetadataError"}
    assert stored_objects(server.data) == before
    _good_request_still_served(client)


def test_submission_for_an_unknown_patient_leaves_no_bytes(server, client):
    before = stored_objects(server.data)
    metadata = submission("UNKNOWN-9^^^&1.3.6.1.4.1.21367.13.20.1000&ISO")
    document = b"<never-stored>" + b"x" * 5000 + b"</never-stored>"
    response = client.provide_and_register(metadata, {"Document01": document})
    assert {e.code.value for e in response.errors} == {"XDSUnknownPatientId"}
    assert stored_objects(server.data) == before
    assert not any(p.read_bytes() == document for p in before)


def test_client_fault_is_typed(server):
    client = XdsClient(server.url, timeout=(5, 20))
    client.repository_url = f"{server.url}/xds/registry"  # ITI-41 to the registry endpoint
    metadata = submission()
    with pytest.raises(FaultError) as caught:
        client.provide_and_register(metadata, {"Document01": CDA})
    assert caught.value.code == "Sender"
    assert "wsa:ActionNotSupported" in caught.value.subcodes


def test_access_log_has_one_line_per_request(server, client):
    marker = submission()
    client.provide_and_register(marker, {"Document01": CDA})
    patient_lines = [
        line
        for line in server.log().splitlines()
        if "soap.access" in line and "ProvideAndRegister" in line and "request_id=" in line
    ]
    assert patient_lines and all("duration_ms=" in line for line in patient_lines)
    ids = [line.split("request_id=")[1].split()[0] for line in patient_lines]
    assert len(ids) == len(set(ids))


def test_cli_patient_add_query_and_retrieve(server, tmp_path: Path):
    patient = "CLI-7^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"
    added = xds(
        "patient", "add", patient, "--url", server.url, "--mllp", f"127.0.0.1:{server.mllp_port}"
    )
    assert added.returncode == 0 and added.stdout.strip() == "AA", added.stderr
    document = tmp_path / "note.xml"
    document.write_bytes(CDA)
    submitted = xds(
        "submit",
        str(document),
        "--patient",
        patient,
        "--url",
        server.url,
        "--unique-id",
        "1.2.3.4.5.6.7",
    )
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    listed = xds("query", "--patient", patient, "--url", server.url)
    assert listed.returncode == 0 and "1.2.3.4.5.6.7" in listed.stdout, listed.stderr
    out = tmp_path / "back.xml"
    fetched = xds("retrieve", "1.2.3.4.5.6.7", "-o", str(out), "--url", server.url)
    assert fetched.returncode == 0, fetched.stderr
    assert out.read_bytes() == CDA


def test_cli_patient_add_reaches_the_feed_port_the_server_was_given(server):
    # Issue 14: without --mllp the feed was sought on port 2575 whatever `xds serve --mllp-port`
    # said; XDS_MLLP_PORT is the variable both read.
    added = xds(
        "patient", "add", "CLI-8^^^&1.3.6.1.4.1.21367.13.20.1000&ISO", "--url", server.url,
        env={"XDS_MLLP_PORT": str(server.mllp_port)},
    )  # fmt: skip
    assert added.returncode == 0 and added.stdout.strip() == "AA", added.stderr


def test_cli_query_for_an_unknown_patient_says_why_nothing_came(server):
    listed = xds("query", "--patient", "NOBODY-1^^^&1.2.3&ISO", "--url", server.url)
    assert listed.returncode == 0, listed.stderr
    assert "0 document(s)" in listed.stdout
    assert "no approved document for NOBODY-1^^^&1.2.3&ISO" in listed.stderr
    assert "same assigning authority" in listed.stderr


def test_cli_query_with_a_malformed_patient_is_refused_before_asking(server):
    listed = xds("query", "--patient", "12345", "--url", server.url)
    assert listed.returncode == 2
    assert "is not a patient id" in listed.stderr and "Traceback" not in listed.stderr


CLASS_CODE = "10^Compte rendu^1.2.250.1.213.1.1.4.1"


def test_cli_submits_a_cda_document_alone_and_its_replacement(server, tmp_path: Path):
    replacement = EXAMPLES / "CNAM-HR_2021.01_sans-info.xml"
    header = read_header(replacement.read_bytes())
    parent_id = "1.2.250.1.213.1.1.9^10002-1"  # its relatedDocument RPLC parent
    assert [r.unique_ids for r in header.related_documents] == [(parent_id,)]
    url = ("--url", server.url)
    added = xds(
        "patient", "add", header.patient_id, *url, "--mllp", f"127.0.0.1:{server.mllp_port}"
    )
    assert added.returncode == 0, added.stdout + added.stderr
    parent = tmp_path / "parent.xml"
    parent.write_bytes(CDA)
    first = xds(
        "submit", str(parent), "--patient", header.patient_id, "--unique-id", parent_id, *url
    )
    assert first.returncode == 0, first.stdout + first.stderr

    second = xds("submit", str(replacement), "--class-code", CLASS_CODE, *url)

    assert second.returncode == 0, second.stdout + second.stderr
    listed = xds("query", "--patient", header.patient_id, "--status", "all", *url)
    rows = {line.split()[0]: line for line in listed.stdout.splitlines() if line[:1].isdigit()}
    assert "Deprecated" in rows[parent_id]
    assert "Approved" in rows[header.unique_id]


def test_cli_refuses_a_cda_document_without_class_code(server):
    document = EXAMPLES / "VAC-NOTE_2023.01.xml"

    run = xds("submit", str(document), "--url", server.url)

    assert run.returncode == 2
    assert "--class-code" in run.stderr


def test_cli_demo_against_the_live_server(server):
    run = xds("demo", "--url", server.url, "--mllp", f"127.0.0.1:{server.mllp_port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "identical to the submitted document" in run.stdout


# --- helpers ---------------------------------------------------------------------------------


def _mime(response) -> list[tuple[dict[str, str], bytes]]:
    head = f"Content-Type: {response.headers['Content-Type']}\r\nMIME-Version: 1.0\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        head.encode() + response.content
    )
    assert message.is_multipart(), response.content[:300]
    return [
        ({k.lower(): str(v) for k, v in part.items()}, part.get_payload(decode=True))
        for part in message.iter_parts()  # type: ignore[attr-defined]
    ]


def _xml(data: bytes):
    from lxml import etree

    return etree.fromstring(data)


def _find(patient: str):
    from ebrim.storedquery import StoredQueryRequest
    from ebrim.storedquery.params import FindDocumentsQuery

    approved = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
    return StoredQueryRequest(FindDocumentsQuery(patient_id=patient, statuses=(approved,)))


def _get_documents(unique_id: str | None):
    from ebrim.storedquery import StoredQueryRequest
    from ebrim.storedquery.params import GetDocumentsQuery

    assert unique_id is not None
    return StoredQueryRequest(GetDocumentsQuery(unique_ids=(unique_id,)))


BOM_EXAMPLES = sorted(
    p.name for p in EXAMPLES.glob("*.xml") if p.read_bytes()[:3] == b"\xef\xbb\xbf"
)
SELF_PRESENTED = sorted((EXAMPLES.parent / "autopresentable").glob("*.xml"))


@pytest.mark.parametrize(
    "path",
    [EXAMPLES / name for name in BOM_EXAMPLES] + SELF_PRESENTED,
    ids=lambda p: p.name,
)
def test_cli_submits_bom_and_self_presented_cda_documents_end_to_end(server, path, tmp_path):
    # Issue 14: a UTF-8 BOM made `xds submit` ask for --patient; an ANS self-presented
    # document (xsl:stylesheet/data:Contenu/ClinicalDocument) was "not CDA".
    data = path.read_bytes()
    header = read_header(data)
    url = ("--url", server.url)
    added = xds(
        "patient", "add", header.patient_id, *url, "--mllp", f"127.0.0.1:{server.mllp_port}"
    )
    assert added.returncode == 0, added.stdout + added.stderr

    submitted = xds("submit", str(path), "--class-code", CLASS_CODE, *url)

    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    back = tmp_path / "back.xml"
    fetched = xds("retrieve", header.unique_id, "-o", str(back), *url)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert back.read_bytes() == data


def test_there_are_bom_and_self_presented_examples_to_try():
    assert len(BOM_EXAMPLES) == 4 and len(SELF_PRESENTED) == 2


def test_cli_says_why_a_non_cda_file_needs_options(server, tmp_path):
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.4 not xml")
    run = xds("submit", str(pdf), "--url", server.url)
    assert run.returncode == 2
    assert "not XML, so not a CDA document" in run.stderr and "--patient" in run.stderr


def test_cli_derives_the_class_code_from_the_ans_table(server, tmp_path):
    # A document of its own: the vaccination note is registered by other tests, with class 10.
    original = (EXAMPLES / "VAC-NOTE_2023.01.xml").read_bytes()
    assert original.count(b"1.2.250.1.213.1.1.1.46.2023.1.1") >= 1
    document = tmp_path / "note.xml"
    document.write_bytes(original.replace(b"46.2023.1.1", b"46.2023.1.77"))
    header = read_header(document.read_bytes())
    table = str(Path(__file__).parent / "data" / "class-code-map.json")
    url = ("--url", server.url)
    added = xds(
        "patient", "add", header.patient_id, *url, "--mllp", f"127.0.0.1:{server.mllp_port}"
    )
    assert added.returncode == 0, added.stderr

    submitted = xds("submit", str(document), "--class-code-map", table, *url)

    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    found = xds(
        "query", "--patient", header.patient_id, "--class-code", "52^^1.2.250.1.213.1.1.4.1", *url
    )
    assert header.unique_id in found.stdout, found.stdout + found.stderr


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("missing.json", "cannot use the class-code map"),
        ("class-code-map.json", "typeCode REMB is not in the class-code map"),
    ],
)
def test_cli_says_when_the_class_code_cannot_be_derived(server, table, message):
    document = EXAMPLES / "CNAM-HR_2021.01_sans-info.xml"
    path = str(Path(__file__).parent / "data" / table)
    run = xds("submit", str(document), "--class-code-map", path, "--url", server.url)
    assert run.returncode == 2 and message in run.stderr, run.stderr


def test_cli_names_the_missing_cda_code_before_sending(server, tmp_path):
    original = (EXAMPLES / "VAC-NOTE_2023.01.xml").read_bytes()
    start = original.index(b"<code ", original.index(b"<ClinicalDocument"))
    end = original.index(b"/>", start) + 2
    document = tmp_path / "no-code.xml"
    document.write_bytes(original[:start] + original[end:])

    run = xds("submit", str(document), "--class-code", CLASS_CODE, "--url", server.url)

    assert run.returncode == 2
    assert "no ClinicalDocument/code" in run.stderr


def test_cli_says_which_default_codes_a_bare_file_gets(server, tmp_path):
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.4 scanned")
    run = xds(
        "submit", str(pdf), "--patient", PATIENT, "--mime-type", "application/pdf",
        "--class-code", CLASS_CODE, "--url", server.url,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "default codes used" in run.stderr and "type 34133-9" in run.stderr
    assert "class " not in run.stderr.split("default codes used")[1]


# --- how the request intake reads what HTTP allows -------------------------------------------


class _Responses:
    """HTTP responses (headers and a Content-Length body) read one by one from a raw socket;
    bytes of the next response that arrive with this one are kept for it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed with {self.buffer[:200]!r} unanswered")
        self.buffer += chunk

    def next(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length:
            self._more()
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]


def _read_until_closed(sock) -> bytes:
    data = b""
    while piece := sock.recv(65536):
        data += piece
    return data


def _pnr_body() -> tuple[bytes, str]:
    metadata = submission()
    body = mtom_body(pnr_envelope(metadata), [("<doc1@e2e.test>", CDA)])
    return body, mtom_type(start="<root.message@cxf.apache.org>")


def test_a_chunked_iti41_with_extensions_and_trailers_is_read_whole(server):
    body, content_type = _pnr_body()
    chunks = [body[i : i + 997] for i in range(0, len(body), 997)]
    wire = b"".join(f"{len(c):x};ext=1\r\n".encode() + c + b"\r\n" for c in chunks)
    wire += b"0\r\nX-Trailer: yes\r\n\r\n"
    head = (
        f"POST /xds/repository HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        for i in range(0, len(wire), 4096):  # in pieces, so the scanner sees split lines
            sock.sendall((head if i == 0 else b"") + wire[i : i + 4096])
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b"ResponseStatusType:Success" in answer


def test_expect_100_continue_gets_one_interim_answer_then_the_response(server):
    body, content_type = _pnr_body()
    head = (
        f"POST /xds/repository HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(head)
        interim = sock.recv(64)  # before the body is sent: the client waits for it
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b"100 Continue" not in answer


def test_two_pipelined_requests_on_one_connection_get_two_answers(server):
    request = b"GET /xds/registry?wsdl HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(request + request)
        responses = _Responses(sock)
        first, second = responses.next(), responses.next()
    assert first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200")
