"""MTOM/XOP (W3C SOAP MTOM, XOP 1.0) as IHE ITI TF-2x V.3.6 uses it: decode and encode.

Decoding splits a multipart/related body into spooled parts (see `soap.multipart`) and
finds the root part (the `start` parameter, else the first part); attachments are looked
up by Content-ID in any of its written forms. Encoding streams: the root part, then each
attachment read in chunks from its opener, so a large document is never held in memory.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote

from ebrim.ids import new_uuid4_hex
from soap.faults import sender
from soap.multipart import Part, Readable, split_multipart

XOP_MEDIA_TYPE = "application/xop+xml"
SOAP_MEDIA_TYPE = "application/soap+xml"


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """The media type (lower case) and its parameters (names lower case, values unquoted).

    RFC 2045 syntax: `type/subtype` then `; name=value` pairs, a value a token or a quoted
    string (backslash escapes). A type without one slash reads as text/plain, as the email
    package reads it. Parsed by hand, and the last few remembered: a request's own type and
    its root part's are each asked twice, and the parts' types repeat across requests.
    """
    media, params = _parsed_content_type(value)
    return media, dict(params)


@functools.lru_cache(maxsize=64)
def _parsed_content_type(value: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    head, _, rest = value.partition(";")
    media = head.strip().lower()
    if media.count("/") != 1:
        media = "text/plain"
    return media, tuple(_parameters(rest).items())


# A quoted value as an unrolled loop: `"(?:[^"\\]|\\.)*"` tries an alternation per character.
_PARAMETER = re.compile(r'\s*([^=;\s]+)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"[^;]*|([^;]*))(?:;|$)')
_ESCAPE = re.compile(r"\\(.)")


def _parameters(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in _PARAMETER.finditer(text):
        name, quoted, token = match.groups()
        value = _ESCAPE.sub(r"\1", quoted) if quoted is not None else token.strip()
        params[name.lower()] = value
    return params


def normalize_content_id(value: str) -> str:
    """`<a@b>`, `cid:a@b`, `cid:a%40b`, `<cid:a@b>` and `a@b` all name the part `a@b` (RFC 2392)."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    if value[:4].lower() == "cid:":  # also seen inside angle brackets, from sloppy writers
        value = value[4:]
    return unquote(value).strip()


@dataclass
class MtomMessage:
    """A decoded multipart/related request: its root (SOAP) part and attachments by Content-ID."""

    root: Part
    attachments: dict[str, Part]

    def attachment(self, href: str) -> Part | None:
        """The part an xop:Include href names, or None."""
        return self.attachments.get(normalize_content_id(href))

    def close(self) -> None:
        self.root.close()
        for part in self.attachments.values():
            part.close()


def decode_mtom(
    stream: Readable,
    content_type: str,
    *,
    chunk_size: int = 64 * 1024,
    spool_threshold: int = 1024 * 1024,
) -> MtomMessage:
    """Read a multipart/related body from `stream`; a Sender fault when it is not usable MTOM."""
    media, params = parse_content_type(content_type)
    if media != "multipart/related":
        raise sender(f"expected multipart/related, got {media}")
    boundary = params.get("boundary")
    if not boundary:
        raise sender("multipart/related without a boundary parameter")
    parts = split_multipart(
        stream, boundary, chunk_size=chunk_size, spool_threshold=spool_threshold
    )
    if not parts:
        raise sender("multipart/related body without any part")
    start = params.get("start")
    by_id: dict[str, Part] = {}
    for part in parts:
        content_id = normalize_content_id(part.headers.get("content-id", ""))
        if content_id in by_id:
            # Which of the two an xop:Include means would be a guess: storing one and
            # dropping the other silently is how a document gets swapped.
            for every in parts:
                every.close()
            raise sender(f"two MIME parts have the same Content-ID <{content_id}>")
        if content_id:
            by_id[content_id] = part
    if start:
        root = by_id.get(normalize_content_id(start))
        if root is None:
            for part in parts:
                part.close()
            raise sender(f"the start part {start} is not in the message")
    else:
        root = parts[0]
    attachments = {cid: part for cid, part in by_id.items() if part is not root}
    for part in parts:  # parts without a Content-ID cannot be referenced
        if part is not root and part not in attachments.values():
            part.close()
    root_media, _ = parse_content_type(root.headers.get("content-type", XOP_MEDIA_TYPE))
    if root_media not in (XOP_MEDIA_TYPE, SOAP_MEDIA_TYPE, "text/xml"):
        MtomMessage(root, attachments).close()
        raise sender(f"the root part is {root_media}, not {XOP_MEDIA_TYPE}")
    return MtomMessage(root, attachments)


@dataclass(frozen=True)
class Attachment:
    """A part to send: its Content-ID (bare, without `<>` or `cid:`), media type, and opener."""

    content_id: str
    content_type: str
    open: Callable[[], BinaryIO]


def new_content_id() -> str:
    return f"{new_uuid4_hex()}@xds.invalid"


def encode_mtom(
    root_xml: bytes,
    attachments: Sequence[Attachment],
    *,
    action: str | None = None,
    chunk_size: int = 64 * 1024,
) -> tuple[str, Iterator[bytes]]:
    """The Content-Type header and a generator of the multipart/related body.

    Each attachment is opened only when the generator reaches it and closed after.
    """
    boundary = f"MIMEBoundary_{new_uuid4_hex()}"
    root_id = f"root.{new_content_id()}"
    start_info = SOAP_MEDIA_TYPE
    root_type = f'{XOP_MEDIA_TYPE}; charset=UTF-8; type="{SOAP_MEDIA_TYPE}"'
    if action:
        # SOAP 1.2 carries the action as a parameter of the media type (RFC 3902).
        root_type += f'; action="{action}"'
    content_type = (
        f'multipart/related; type="{XOP_MEDIA_TYPE}"; boundary="{boundary}"; '
        f'start="<{root_id}>"; start-info="{start_info}"'
    )

    def body() -> Iterator[bytes]:
        yield _part_head(boundary, root_id, root_type, first=True)
        yield root_xml
        for attachment in attachments:
            yield _part_head(boundary, attachment.content_id, attachment.content_type)
            with attachment.open() as source:
                while chunk := source.read(chunk_size):
                    yield chunk
        yield f"\r\n--{boundary}--\r\n".encode("ascii")

    return content_type, body()


def _part_head(boundary: str, content_id: str, content_type: str, *, first: bool = False) -> bytes:
    lead = "" if first else "\r\n"
    return (
        f"{lead}--{boundary}\r\n"
        f"Content-Type: {content_type}\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        f"Content-ID: <{content_id}>\r\n\r\n"
    ).encode("latin-1")
