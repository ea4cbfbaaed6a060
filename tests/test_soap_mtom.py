"""MTOM/XOP decoding (streaming, any part order, every Content-ID form) and encoding."""

from __future__ import annotations

import io
import os
import tracemalloc

import pytest
from soap_support import mtom_body, mtom_type

from soap import SoapFault, decode_mtom, encode_mtom
from soap.mtom import Attachment, normalize_content_id, parse_content_type

ROOT = b"<env:Envelope xmlns:env='http://www.w3.org/2003/05/soap-envelope'/>"
DOC = b"--binary\r\n\r\n--MIMEBoundary_123 almost\x00\xff" * 50


def decode(body: bytes, content_type: str, **options):
    return decode_mtom(io.BytesIO(body), content_type, **options)


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 65536])
def test_parts_are_split_exactly_whatever_the_chunk_size(chunk_size):
    body = mtom_body(ROOT, [("<doc1@x>", DOC), ("<doc2@x>", b"")])
    message = decode(body, mtom_type(), chunk_size=chunk_size)
    assert message.root.body.read() == ROOT
    assert message.attachment("cid:doc1@x").body.read() == DOC
    assert message.attachment("cid:doc2@x").body.read() == b""


def test_root_named_by_start_may_come_last():
    body = mtom_body(ROOT, [("<doc1@x>", DOC)], root_first=False)
    message = decode(body, mtom_type(start="<root.message@cxf.apache.org>"))
    assert message.root.body.read() == ROOT
    assert message.attachment("cid:doc1@x").body.read() == DOC


def test_without_start_the_first_part_is_the_root():
    body = mtom_body(ROOT, [("<doc1@x>", DOC)])
    assert decode(body, mtom_type()).root.body.read() == ROOT


@pytest.mark.parametrize("second", ["<doc1@x>", "doc1@x", "<cid:doc1@x>"])
def test_two_parts_with_one_content_id_is_a_sender_fault(second):
    # Issue 13: the first was stored and the second silently ignored.
    body = mtom_body(ROOT, [("<doc1@x>", DOC), (second, b"other bytes")])
    with pytest.raises(SoapFault, match="same Content-ID <doc1@x>"):
        decode(body, mtom_type())


def test_start_naming_no_part_is_a_sender_fault():
    with pytest.raises(SoapFault, match="start part"):
        decode(mtom_body(ROOT, []), mtom_type(start="<nobody@x>"))


@pytest.mark.parametrize(
    ("content_id", "href"),
    [
        ("<1.urn:uuid:abc@apache.org>", "cid:1.urn:uuid:abc@apache.org"),
        ("<1.urn:uuid:abc@apache.org>", "cid:1.urn%3Auuid%3Aabc%40apache.org"),
        ("1.abc@apache.org", "cid:1.abc@apache.org"),
        ("<cid:abc@x>", "cid:abc@x"),
        ("  <abc@x>  ", "CID:abc@x"),
    ],
)
def test_content_id_forms_match_the_include_href(content_id, href):
    message = decode(mtom_body(ROOT, [(content_id, DOC)]), mtom_type())
    part = message.attachment(href)
    assert part is not None and part.body.read() == DOC


def test_normalize_content_id_forms():
    assert normalize_content_id("<a@b>") == normalize_content_id("cid:a%40b") == "a@b"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (mtom_body(ROOT, []), 'multipart/related; type="application/xop+xml"', "boundary"),
        (mtom_body(ROOT, []), mtom_type(boundary="other"), "boundary never appears"),
        (mtom_body(ROOT, [("<a@x>", DOC)])[:-40], mtom_type(), "truncated"),
        (b"--MIMEBoundary_1234\r\nno colon here\r\n\r\nx", mtom_type(), "header"),
        (b"--MIMEBoundary_1234\r\nContent-ID: <a>\r\n", mtom_type(), "truncated"),
        (b"--MIMEBoundary_1234--\r\n", mtom_type(), "without any part"),
    ],
)
def test_malformed_multipart_is_a_sender_fault(body, content_type, reason):
    with pytest.raises(SoapFault, match=reason) as caught:
        decode(body, content_type)
    assert caught.value.http_status == 400


def test_root_part_of_another_type_is_refused():
    body = b"--B\r\nContent-Type: image/png\r\nContent-ID: <r>\r\n\r\nPNG\r\n--B--\r\n"
    with pytest.raises(SoapFault, match="root part"):
        decode(body, 'multipart/related; boundary="B"')


def test_large_attachment_is_streamed_to_disk_not_memory(tmp_path):
    size = 30 * 1024 * 1024
    path = tmp_path / "request.bin"
    with path.open("wb") as out:
        out.write(mtom_body(ROOT, [("<big@x>", b"")]).rsplit(b"\r\n--MIMEBoundary_1234", 2)[0])
        out.write(b"\r\n--MIMEBoundary_1234\r\nContent-ID: <big@x>\r\n\r\n")
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            out.write(block)
        out.write(b"\r\n--MIMEBoundary_1234--\r\n")
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            message = decode_mtom(stream, mtom_type())
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    big = message.attachment("cid:big@x")
    assert big is not None and big.size == size
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while decoding {size}"
    big.body.seek(size - len(block))
    assert big.body.read() == block
    message.close()


def test_encoder_streams_root_then_attachments_readable_by_email_parser():
    import email.parser
    import email.policy

    opened = []

    def opener(data: bytes):
        def open_():
            opened.append(data)
            return io.BytesIO(data)

        return open_

    attachments = [
        Attachment("a@x", "application/pdf", opener(DOC)),
        Attachment("b@x", "text/xml", opener(b"<ClinicalDocument/>")),
    ]
    content_type, body = encode_mtom(ROOT, attachments, action="urn:a", chunk_size=10)
    first = next(body)
    assert opened == []  # nothing read before the root part is sent
    raw = first + b"".join(body)
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    parts = list(message.iter_parts())
    assert [p.get_payload(decode=True) for p in parts] == [ROOT, DOC, b"<ClinicalDocument/>"]
    assert [p["Content-ID"] for p in parts[1:]] == ["<a@x>", "<b@x>"]
    assert parts[0].get_content_type() == "application/xop+xml"
    assert message.get_param("start") == parts[0]["Content-ID"]


@pytest.mark.parametrize(
    ("value", "media", "params"),
    [
        (
            'multipart/related; type="application/xop+xml"; boundary="MIMEBoundary_1234"; '
            'start="<root.message@cxf.apache.org>"; start-info="application/soap+xml"',
            "multipart/related",
            {
                "type": "application/xop+xml",
                "boundary": "MIMEBoundary_1234",
                "start": "<root.message@cxf.apache.org>",
                "start-info": "application/soap+xml",
            },
        ),
        (
            'Multipart/Related;boundary=abc;type="application/xop+xml";start="<a@b>"',
            "multipart/related",
            {"boundary": "abc", "type": "application/xop+xml", "start": "<a@b>"},
        ),
        ('application/soap+xml;action="a\\"b"', "application/soap+xml", {"action": 'a"b'}),
        (
            'multipart/related; boundary="q;w"; type=x',
            "multipart/related",
            {"boundary": "q;w", "type": "x"},
        ),
        ("application/xop+xml; CHARSET=utf-8", "application/xop+xml", {"charset": "utf-8"}),
        ("nonsense", "text/plain", {}),
        ("", "text/plain", {}),
    ],
)
def test_content_type_is_parsed_as_rfc_2045_says(
    value: str, media: str, params: dict[str, str]
) -> None:
    assert parse_content_type(value) == (media, params)


def test_a_remembered_content_type_hands_out_its_own_parameters() -> None:
    """Parsed types are remembered: a caller that changes its parameters changes only its
    copy."""
    value = 'multipart/related; boundary="b1"; type="application/xop+xml"'
    first = parse_content_type(value)[1]
    first["boundary"] = "changed"
    assert parse_content_type(value)[1]["boundary"] == "b1"
