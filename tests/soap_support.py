"""In-process helpers for the SOAP tests: envelopes, WSGI calls, an in-memory repository."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import io
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from wsgiref.util import setup_testing_defaults

from lxml import etree

from ebrim.errors import ErrorCode, XDSError
from ebrim.model import Metadata, RegistryResponse
from ebrim.vocabulary import ResponseStatus
from repository.api import DocumentRequest, RetrievedDocument, RetrieveResult

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
NS = {"env": SOAP12, "wsa": WSA, "rs": "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"}
REPOSITORY_ID = "1.3.6.1.4.1.21367.2010.1.2.1125"

PNR = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
RETRIEVE = "urn:ihe:iti:2007:RetrieveDocumentSet"
REGISTER = "urn:ihe:iti:2007:RegisterDocumentSet-b"
QUERY = "urn:ihe:iti:2007:RegistryStoredQuery"


def envelope(
    action: str | None,
    body: bytes | etree._Element,
    *,
    message_id: str | None = "urn:uuid:0fbfdced-6c01-4d09-a110-2201afedaa02",
    extra: str = "",
    namespace: str = SOAP12,
) -> bytes:
    """A request envelope with the WS-Addressing headers of the IHE examples."""
    if isinstance(body, etree._Element):
        body = etree.tostring(body)
    headers = []
    if action is not None:
        headers.append(f'<wsa:Action env:mustUnderstand="1">{action}</wsa:Action>')
    if message_id is not None:
        headers.append(f"<wsa:MessageID>{message_id}</wsa:MessageID>")
    headers.append(f"<wsa:ReplyTo><wsa:Address>{WSA}/anonymous</wsa:Address></wsa:ReplyTo>")
    headers.append('<wsa:To env:mustUnderstand="1">http://localhost/xds</wsa:To>')
    return (
        (
            f'<env:Envelope xmlns:env="{namespace}" xmlns:wsa="{WSA}"><env:Header>'
            f"{''.join(headers)}{extra}</env:Header><env:Body>"
        ).encode()
        + body
        + b"</env:Body></env:Envelope>"
    )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def xml(self) -> etree._Element:
        return etree.fromstring(self.body)

    def payload(self) -> etree._Element:
        return self.xml.find("env:Body", NS)[0]

    def header(self, name: str) -> str | None:
        return self.xml.findtext(f"env:Header/wsa:{name}", namespaces=NS)

    def fault_codes(self) -> list[str]:
        values = self.xml.iterfind(".//env:Fault/env:Code//env:Value", NS)
        return [v.text or "" for v in values]


def call(
    app: Any,
    path: str,
    body: bytes | BinaryIO = b"",
    *,
    content_type: str = "application/soap+xml; charset=UTF-8",
    method: str = "POST",
    query: str = "",
    length: int | None = None,
    environ: Mapping[str, Any] | None = None,
) -> Answer:
    """Run one request through a WSGI app in process."""
    stream = io.BytesIO(body) if isinstance(body, bytes) else body
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "wsgi.input": stream,
        "HTTP_HOST": "xds.test:8080",
    }
    if isinstance(body, bytes):
        env["CONTENT_LENGTH"] = str(len(body) if length is None else length)
    elif length is not None:
        env["CONTENT_LENGTH"] = str(length)
    env.update(environ or {})
    setup_testing_defaults(env)
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured["status"] = int(status.split()[0])
        captured["headers"] = {k.lower(): v for k, v in headers}

    chunks: Iterable[bytes] = app(env, start_response)
    data = b"".join(chunks)
    return Answer(captured["status"], captured["headers"], data)


def mtom_body(
    root: bytes,
    parts: Sequence[tuple[str, bytes]],
    *,
    boundary: str = "MIMEBoundary_1234",
    root_id: str = "<root.message@cxf.apache.org>",
    root_first: bool = True,
) -> bytes:
    """A multipart/related body written by hand (no project code), parts as (Content-ID, bytes)."""
    root_part = (
        (
            f"--{boundary}\r\n"
            'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n'
            "Content-Transfer-Encoding: binary\r\n"
            f"Content-ID: {root_id}\r\n\r\n"
        ).encode()
        + root
        + b"\r\n"
    )
    others = [
        (
            f"--{boundary}\r\nContent-Type: text/xml\r\n"
            f"Content-Transfer-Encoding: binary\r\nContent-ID: {cid}\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
        for cid, data in parts
    ]
    ordered = [root_part, *others] if root_first else [*others, root_part]
    return b"".join(ordered) + f"--{boundary}--\r\n".encode()


def mtom_type(boundary: str = "MIMEBoundary_1234", start: str | None = None) -> str:
    value = f'multipart/related; type="application/xop+xml"; boundary="{boundary}"'
    if start:
        value += f'; start="{start}"'
    return value + '; start-info="application/soap+xml"'


@dataclass
class FakeRepository:
    """An in-memory stand-in for `repository.api.DocumentRepository` (reads streams in chunks)."""

    repository_unique_id: str = REPOSITORY_ID
    stored: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    keep_bytes: bool = True

    def provide_and_register(
        self, metadata: Metadata, documents: Mapping[str, BinaryIO], *, requester=None
    ) -> RegistryResponse:
        errors = []
        for entry in metadata.documents:
            stream = documents.get(entry.entry_uuid)
            if stream is None:
                errors.append(XDSError(ErrorCode.XDSMissingDocument, "no bytes", entry.entry_uuid))
                continue
            digest, buffer = hashlib.sha1(), bytearray()
            while chunk := stream.read(65536):
                digest.update(chunk)
                if self.keep_bytes:
                    buffer += chunk
            self.hashes[entry.unique_id or entry.entry_uuid] = digest.hexdigest()
            self.stored[entry.unique_id or entry.entry_uuid] = (entry.mime_type, bytes(buffer))
        return RegistryResponse.from_errors(errors)

    def retrieve(self, requests: Sequence[DocumentRequest]) -> RetrieveResult:
        found, errors = [], []
        for request in requests:
            if request.document_unique_id not in self.stored:
                errors.append(
                    XDSError(
                        ErrorCode.XDSDocumentUniqueIdError, "unknown", request.document_unique_id
                    )
                )
                continue
            mime, data = self.stored[request.document_unique_id]
            found.append(RetrievedDocument(request, mime, len(data), lambda d=data: io.BytesIO(d)))
        if not errors:
            status = ResponseStatus.SUCCESS
        else:
            status = ResponseStatus.PARTIAL_SUCCESS if found else ResponseStatus.FAILURE
        return RetrieveResult(RegistryResponse(status, tuple(errors)), tuple(found))


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def mime_parts(answer: Answer) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart answer read by the stdlib `email` parser (independent of ours)."""
    head = f"Content-Type: {answer.headers['content-type']}\r\nMIME-Version: 1.0\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        head.encode() + answer.body
    )
    assert message.is_multipart()
    parts = []
    for part in message.iter_parts():  # type: ignore[attr-defined]
        headers = {k.lower(): str(v) for k, v in part.items()}
        parts.append((headers, part.get_payload(decode=True)))
    return parts


def root_of(answer: Answer) -> etree._Element:
    """The SOAP envelope of an answer, MTOM or plain."""
    if answer.headers["content-type"].startswith("multipart/related"):
        return etree.fromstring(mime_parts(answer)[0][1])
    return answer.xml
