"""One SOAP 1.2 request/response over HTTP: WS-Addressing out, MTOM both ways, faults typed.

The request body is a generator when it carries attachments, so `requests` sends it with
chunked transfer encoding and a document is read from disk as it goes out. The answer is
read from the socket in chunks: MTOM parts are spooled (memory bounded by `spool_threshold`),
and the SOAP XML goes through the project's hardened parser like anything from outside.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import Any

import requests
import urllib3
from lxml import etree

from ebrim.ids import new_uuid4
from soap.addressing import ANONYMOUS
from soap.client.errors import FaultError, TransportError
from soap.client.security import AssertionSource, request_security
from soap.envelope import read_envelope, write_envelope
from soap.faults import SOAP_ENV, WSA, SoapFault
from soap.message import parse_soap_xml
from soap.mtom import (
    SOAP_MEDIA_TYPE,
    Attachment,
    MtomMessage,
    decode_mtom,
    encode_mtom,
    parse_content_type,
)
from soap.multipart import Readable
from soap.settings import SoapSettings

DEFAULT_TIMEOUT = (10.0, 300.0)  # (connect, read between two chunks), seconds
_FAULT = f"{{{SOAP_ENV}}}Fault"
_MUST_UNDERSTAND = f"{{{SOAP_ENV}}}mustUnderstand"


@dataclass
class Answer:
    """A SOAP answer: the body's element, the MTOM parts (if any), the HTTP status."""

    payload: etree._Element
    mtom: MtomMessage | None = None
    http_status: int = 200
    headers: tuple[etree._Element, ...] = field(default=())

    def close(self) -> None:
        if self.mtom is not None:
            self.mtom.close()


class SoapExchange:
    """Sends SOAP 1.2 requests; one `requests.Session` (connection reuse) per instance.

    `cert` (certificate, key) is the TLS client certificate presented to an https server,
    `verify` the CA bundle its server certificate must chain to (True: the system's);
    `assertions` makes the signed assertion put in each request's wsse:Security header.
    """

    def __init__(
        self,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        settings: SoapSettings | None = None,
        cert: tuple[Path, Path] | None = None,
        verify: Path | bool = True,
        assertions: AssertionSource | None = None,
    ) -> None:
        self.timeout = timeout
        self.session = session or _Session()
        if cert is not None:
            self.session.cert = (str(cert[0]), str(cert[1]))
        if verify is not True:
            self.session.verify = verify if isinstance(verify, bool) else str(verify)
        self.settings = settings or SoapSettings()
        self.assertions = assertions

    def call(
        self,
        url: str,
        action: str,
        payload: etree._Element,
        attachments: Sequence[Attachment] = (),
        *,
        mtom: bool = False,
        assertions: AssertionSource | None = None,
    ) -> Answer:
        """POST `payload` to `url` as `action`; MTOM when there are attachments or `mtom`.
        `assertions` replaces the exchange's own source for this request.

        Raises FaultError for a SOAP fault, TransportError when no SOAP answer came back.
        """
        message_id = f"urn:uuid:{new_uuid4()}"
        headers = addressing_headers(action, message_id, url)
        headers += request_security(assertions or self.assertions, action, payload)
        xml = write_envelope(headers, payload)
        data: bytes | Iterator[bytes]
        if attachments or mtom:
            content_type, data = encode_mtom(
                xml, attachments, action=action, chunk_size=self.settings.chunk_size
            )
        else:
            content_type, data = f'{SOAP_MEDIA_TYPE}; charset=UTF-8; action="{action}"', xml
        try:
            response = self.session.post(
                url, data=data, headers={"Content-Type": content_type}, timeout=self.timeout,
                stream=True,
            )  # fmt: skip
        except requests.RequestException as exc:
            raise TransportError(f"{action} to {url}: {exc}") from exc
        try:
            answer = self._read(response)
        finally:
            response.close()
        return checked(answer, message_id)

    def _read(self, response: requests.Response) -> Answer:
        raw: Any = response.raw
        raw.decode_content = True
        return self.read_answer(response.headers.get("Content-Type", ""), raw, response.status_code)

    def read_answer(self, content_type: str, stream: Readable, http_status: int) -> Answer:
        """An HTTP answer's SOAP envelope, read from `stream` (plain or MTOM)."""
        media, _ = parse_content_type(content_type)
        try:
            if media == "multipart/related":
                mtom = decode_mtom(
                    stream,
                    content_type,
                    chunk_size=self.settings.chunk_size,
                    spool_threshold=self.settings.spool_threshold,
                )
                try:
                    root = parse_soap_xml(mtom.root.body, mtom.root.size, self.settings)
                    envelope = read_envelope(root, understood={WSA})
                except BaseException:
                    mtom.close()
                    raise
                return Answer(envelope.payload, mtom, http_status, envelope.headers)
            if media in (SOAP_MEDIA_TYPE, "text/xml", "application/xml"):
                root = self._parse_plain(stream)
                envelope = read_envelope(root, understood={WSA})
                return Answer(envelope.payload, None, http_status, envelope.headers)
        except SoapFault as exc:
            raise TransportError(f"unusable answer (HTTP {http_status}): {exc}") from exc
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            raise TransportError(f"answer cut short: {exc}") from exc
        text = stream.read(200).decode("utf-8", "replace").strip()
        raise TransportError(f"HTTP {http_status} {media or 'without content type'}: {text}")

    def _parse_plain(self, raw: Readable) -> etree._Element:
        with SpooledTemporaryFile(max_size=self.settings.spool_threshold) as spool:
            size = 0
            while chunk := raw.read(self.settings.chunk_size):
                spool.write(chunk)
                size += len(chunk)
            spool.seek(0)
            return parse_soap_xml(spool, size, self.settings)


class _Session(requests.Session):
    """A session whose own `verify` (a CA bundle given to the client) is not overridden.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE win over `session.verify` for every
    request that does not pass `verify` itself, as zeep's transport does not.
    """

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings: dict[str, Any] = super().merge_environment_settings(
            url, proxies, stream, verify, cert
        )
        if verify is None and self.verify is not True:
            settings["verify"] = self.verify
        return settings


def addressing_headers(action: str, message_id: str, to: str) -> list[etree._Element]:
    """wsa:Action, MessageID, To and an anonymous ReplyTo, as IHE ITI TF-2x V.3.2 asks."""
    nsmap = {"wsa": WSA}
    blocks = []
    for name, text, understood in (("Action", action, True), ("MessageID", message_id, False)):
        block = etree.Element(f"{{{WSA}}}{name}", nsmap=nsmap)
        block.text = text
        if understood:
            block.set(_MUST_UNDERSTAND, "true")
        blocks.append(block)
    reply_to = etree.Element(f"{{{WSA}}}ReplyTo", nsmap=nsmap)
    etree.SubElement(reply_to, f"{{{WSA}}}Address").text = ANONYMOUS
    blocks.append(reply_to)
    to_block = etree.Element(f"{{{WSA}}}To", nsmap=nsmap)
    to_block.set(_MUST_UNDERSTAND, "true")
    to_block.text = to
    blocks.append(to_block)
    return blocks


def checked(answer: Answer, message_id: str | None = None) -> Answer:
    """`answer` itself, or FaultError for a fault, TransportError for a reply to another message."""
    relates_to = _header_text(answer.headers, "RelatesTo")
    if message_id and relates_to is not None and relates_to != message_id:
        answer.close()
        raise TransportError(f"answer relates to {relates_to}, not to {message_id}")
    if answer.payload.tag == _FAULT:
        answer.close()
        raise _fault(answer.payload, answer.http_status)
    return answer


def _header_text(headers: Sequence[etree._Element], name: str) -> str | None:
    for block in headers:
        if block.tag == f"{{{WSA}}}{name}":
            return (block.text or "").strip()
    return None


def _fault(element: etree._Element, http_status: int) -> FaultError:
    ns = {"env": SOAP_ENV}
    values = [(v.text or "").strip() for v in element.iterfind("env:Code//env:Value", ns)]
    code = values[0].rpartition(":")[2] if values else "?"
    reason = (element.findtext("env:Reason/env:Text", namespaces=ns) or "").strip()
    return FaultError(code, reason, subcodes=tuple(values[1:]), http_status=http_status)


__all__ = ["DEFAULT_TIMEOUT", "Answer", "SoapExchange", "addressing_headers", "checked"]
