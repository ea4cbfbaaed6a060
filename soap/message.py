"""HTTP request body → SOAP envelope element plus attachments, MTOM or plain.

`read_message` is the entry point: it bounds the body (Content-Length or chunked), streams
it through the MTOM decoder or spools a plain `application/soap+xml` body to disk, and
parses the SOAP XML with the project's hardened parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from lxml import etree

from ebrim.errors import XMLRejected, XMLTooLarge
from ebrim.safexml import XMLLimits, parse_xml, parse_xml_stream
from soap.faults import sender
from soap.mtom import MtomMessage, decode_mtom, parse_content_type
from soap.multipart import Readable
from soap.settings import SoapSettings

# libxml2 refuses text nodes over 10 MB unless huge_tree is set; inline base64 needs it.
HUGE_TEXT = 10 * 1000 * 1000
# A SOAP part up to this size is read whole and parsed from memory: libxml2 reads it in
# one go, where a stream costs a Python read per buffer of its input.
IN_MEMORY_PARSE = 1024 * 1024
_PLAIN_TYPES = ("application/soap+xml", "text/xml", "application/xml")


@dataclass
class SoapMessage:
    """A received message: the envelope's root element, the MTOM parts, the HTTP action."""

    root: etree._Element
    mtom: MtomMessage | None
    http_action: str | None

    def close(self) -> None:
        if self.mtom is not None:
            self.mtom.close()


class BodyReader:
    """The request body, refused beyond `limit` bytes and checked against Content-Length."""

    def __init__(self, stream: Readable, length: int | None, limit: int) -> None:
        if length is not None and length > limit:
            raise _too_large(limit)
        self.stream = stream
        self.remaining = length
        self.limit = limit
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            size = 1 << 20
        if self.remaining is not None:
            size = min(size, self.remaining)
            if size == 0:
                return b""
        data = self.stream.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise _too_large(self.limit)
        if self.remaining is not None:
            if not data:
                raise sender(f"truncated request body: {self.remaining} bytes missing")
            self.remaining -= len(data)
        return data

    def finish(self) -> None:
        """Read what is left after the closing MIME delimiter (the epilogue): the body must
        hold exactly Content-Length bytes, so a length larger than what was sent is refused."""
        while self.read(64 * 1024):
            pass


def request_length(environ: dict[str, Any]) -> int | None:
    """Content-Length, or None for a chunked body; a Sender fault when neither is usable."""
    value = (environ.get("CONTENT_LENGTH") or "").strip()
    if value:
        if not value.isdigit():
            raise sender(f"invalid Content-Length {value!r}")
        return int(value)
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked or environ.get("wsgi.input_terminated"):
        return None
    raise sender(
        "a request body needs a Content-Length or chunked transfer encoding", http_status=411
    )


def read_message(environ: dict[str, Any], settings: SoapSettings) -> SoapMessage:
    """Decode the POSTed SOAP message of `environ`."""
    body = BodyReader(environ["wsgi.input"], request_length(environ), settings.max_request_bytes)
    content_type = environ.get("CONTENT_TYPE") or ""
    media, params = parse_content_type(content_type)
    if media == "multipart/related":
        mtom = decode_mtom(
            body,
            content_type,
            chunk_size=settings.chunk_size,
            spool_threshold=settings.spool_threshold,
        )
        try:
            body.finish()
            _, root_params = parse_content_type(mtom.root.headers.get("content-type", ""))
            root = parse_soap_xml(mtom.root.body, mtom.root.size, settings)
        except BaseException:
            mtom.close()
            raise
        return SoapMessage(root, mtom, root_params.get("action") or params.get("action"))
    if media not in _PLAIN_TYPES:
        raise sender(f"unsupported Content-Type {media or '(none)'}", http_status=415)
    with SpooledTemporaryFile(max_size=settings.spool_threshold) as spool:
        size = 0
        while chunk := body.read(settings.chunk_size):
            spool.write(chunk)
            size += len(chunk)
        spool.seek(0)
        root = parse_soap_xml(spool, size, settings)
    return SoapMessage(root, None, params.get("action"))


def parse_soap_xml(stream: IO[bytes], size: int, settings: SoapSettings) -> etree._Element:
    """The hardened parse of SOAP XML; any refusal is a Sender fault."""
    limits = XMLLimits(max_bytes=settings.max_envelope_bytes, huge_tree=size > HUGE_TEXT)
    try:
        if size <= IN_MEMORY_PARSE:
            return parse_xml(stream.read(), limits)
        return parse_xml_stream(stream, size, limits)  # type: ignore[arg-type]
    except XMLTooLarge as exc:
        raise sender(f"SOAP message refused: {exc}", http_status=413) from None
    except XMLRejected as exc:
        raise sender(f"SOAP message refused: {exc}") from None


def _too_large(limit: int) -> Exception:
    return sender(f"request body exceeds the limit of {limit} bytes", http_status=413)
