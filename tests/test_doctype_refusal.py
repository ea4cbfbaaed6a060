"""A DOCTYPE is refused before libxml2 can open what its SYSTEM id names (issue 13).

libxml2 2.14 reads an external subset even with load_dtd=False: a SYSTEM id naming an
existing file answered "Content error in the external subset … (passwd, line 1)", a missing
one "not accepted", and a FIFO held the request open. Every case must get the same refusal,
at once, from the parser, the server and `xds validate`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree
from soap_support import FakeRepository, call

from ebrim.errors import ForbiddenXML
from ebrim.safexml import DOCTYPE_REFUSED, make_parser, parse_xml, parse_xml_stream
from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from soap import make_app
from soap.client import TransportError, XdsClient

APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
ENCODINGS = ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "iso-8859-1"]


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    folder = tmp_path_factory.mktemp("targets")
    existing = folder / "secret.txt"
    existing.write_text("root:x:0:0\n")
    fifo = folder / "fifo"
    os.mkfifo(fifo)
    yield {"existing": existing, "missing": folder / "missing.dtd", "fifo": fifo}


def document(target: Path, encoding: str = "utf-8") -> bytes:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<!-- a comment -->\n'
        f'<!DOCTYPE r SYSTEM "file://{target}"><r/>'
    )
    return text.encode(encoding)


def within(seconds: float, function, *args):
    """Run `function` in a thread: a hang on the FIFO fails the test instead of the suite."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(function, *args).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


@pytest.mark.parametrize("kind", ["existing", "missing", "fifo"])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_parser_gives_the_same_refusal_whatever_the_system_id(targets, kind, encoding) -> None:
    def parse() -> str:
        with pytest.raises(ForbiddenXML) as caught:
            parse_xml(document(targets[kind], encoding))
        return str(caught.value)

    assert within(5, parse) == DOCTYPE_REFUSED


@pytest.mark.parametrize("kind", ["existing", "missing", "fifo"])
def test_stream_parser_refuses_before_reading_the_subset(targets, kind, tmp_path) -> None:
    data = document(targets[kind])
    spooled = tmp_path / "message.xml"
    spooled.write_bytes(data)

    def parse() -> str:
        with spooled.open("rb") as stream, pytest.raises(ForbiddenXML) as caught:
            parse_xml_stream(stream, len(data))
        return str(caught.value)

    assert within(5, parse) == DOCTYPE_REFUSED


def test_parser_resolver_opens_nothing_even_past_the_prolog_check(targets) -> None:
    # The second line of defence: the parser itself, given a DOCTYPE, resolves no URI.
    with pytest.raises(ForbiddenXML):
        etree.fromstring(document(targets["existing"]), make_parser())


def test_doctype_after_many_comments_is_still_found() -> None:
    data = b"<!-- x -->" * 1000 + b'<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>'
    with pytest.raises(ForbiddenXML):
        parse_xml(data)


@pytest.mark.parametrize(
    "data",
    [
        b'\xef\xbb\xbf<?xml version="1.0"?><!-- c --><?pi x?><r>&lt;!DOCTYPE r&gt;</r>',
        "<?xml version='1.0' encoding='utf-16'?><r>é</r>".encode("utf-16"),
        b"<r><![CDATA[<!DOCTYPE r>]]></r>",
    ],
    ids=["bom-comment-pi", "utf-16", "doctype-in-cdata"],
)
def test_documents_without_doctype_still_parse(data: bytes) -> None:
    assert parse_xml(data).tag == "r"


@pytest.mark.parametrize("kind", ["existing", "missing", "fifo"])
def test_server_answers_the_same_sender_fault_at_once(targets, kind) -> None:
    app = make_app(repository=FakeRepository())
    answer = within(10, call, app, "/xds/repository", document(targets[kind]))
    assert answer.status == 400
    assert answer.fault_codes() == ["env:Sender"]
    assert DOCTYPE_REFUSED.encode() in answer.body
    assert b"secret" not in answer.body and b"subset" not in answer.body


@pytest.mark.parametrize("kind", ["existing", "missing", "fifo"])
def test_xds_validate_gives_the_same_answer_at_once(targets, kind, tmp_path) -> None:
    path = tmp_path / "request.xml"
    path.write_bytes(document(targets[kind]))
    xds = Path(sys.executable).with_name("xds")
    done = subprocess.run(
        [str(xds), "validate", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2, done.stderr
    assert DOCTYPE_REFUSED in done.stderr
    assert "secret" not in done.stderr + done.stdout


class _HostileRegistry(BaseHTTPRequestHandler):
    """Serves, for any GET, a 'WSDL' whose DOCTYPE names a local file."""

    target = ""

    def do_GET(self) -> None:
        body = f'<!DOCTYPE definitions SYSTEM "file://{self.target}"><definitions/>'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("kind", ["existing", "missing", "fifo"])
def test_client_refuses_a_served_wsdl_with_a_doctype(targets, kind) -> None:
    handler = type("Handler", (_HostileRegistry,), {"target": str(targets[kind])})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = XdsClient(f"http://127.0.0.1:{server.server_port}", timeout=(5, 5))
        query = StoredQueryRequest(
            FindDocumentsQuery(patient_id="1^^^&1.2.3&ISO", statuses=(APPROVED,))
        )

        def ask() -> str:
            with pytest.raises(TransportError) as caught:
                client.query(query)
            return str(caught.value)

        message = within(10, ask)
    finally:
        server.shutdown()
    assert DOCTYPE_REFUSED in message
    assert "secret" not in message
