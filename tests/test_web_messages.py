"""A captured message as the console shows it (`web.messages`), and the validator's downloads."""

from __future__ import annotations

import io
import json
from typing import Any

from conftest import DATA
from lxml import etree
from sqlalchemy import Engine

from soap.mtom import Attachment, encode_mtom
from soap.settings import SoapSettings
from web.console import ConsoleApplication, ConsoleSettings
from web.messages import part_bytes, parts_of, pretty_xml

SIGNED = b"""<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"
 xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
 xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
<env:Header><wsse:Security><ds:Signature><ds:SignatureValue>c2VjcmV0LXNpZ25hdHVyZQ==</ds:SignatureValue>
<ds:KeyInfo><ds:X509Data><ds:X509Certificate>TUlJQ2VydGlmaWNhdGU=</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
</ds:Signature></wsse:Security></env:Header><env:Body><x/></env:Body></env:Envelope>"""


def test_signature_values_and_certificates_are_not_shown() -> None:
    shown = pretty_xml(SIGNED)
    assert shown is not None
    assert "c2VjcmV0LXNpZ25hdHVyZQ==" not in shown and "TUlJQ2VydGlmaWNhdGU=" not in shown
    assert "[signature value not shown: 24 characters]" in shown
    assert "[certificate not shown: 20 characters]" in shown


def test_hostile_xml_is_not_parsed_for_display() -> None:
    hostile = (DATA / "hostile" / "billion_laughs.xml").read_bytes()
    assert pretty_xml(hostile) is None


def test_an_mtom_message_is_shown_by_part_and_each_part_downloads() -> None:
    document = b"%PDF-1.4 \x00\x01\x02 binary"
    content_type, body = encode_mtom(
        b"<env:Envelope xmlns:env='http://www.w3.org/2003/05/soap-envelope'/>",
        [Attachment("doc1@test", "application/pdf", lambda: io.BytesIO(document))],
        action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
    )
    data = b"".join(body)

    envelope, attachment = parts_of(data, content_type)

    assert envelope.text is not None and "Envelope" in envelope.text
    assert attachment.text is None and attachment.size == len(document)
    assert attachment.content_type == "application/pdf"
    assert part_bytes(data, content_type, 1) == (document, "application/pdf")
    assert part_bytes(data, content_type, 2) is None


def post(app: ConsoleApplication, fields: dict[str, str]) -> tuple[str, dict[str, str], bytes]:
    from urllib.parse import urlencode

    body = urlencode(fields).encode()
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]], exc: object = None) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {
        "PATH_INFO": "/console/validate",
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "REMOTE_ADDR": "127.0.0.1",
    }
    out = b"".join(app(environ, start))
    return seen["status"], seen["headers"], out


def test_the_validator_downloads_its_report(engine: Engine) -> None:
    app = ConsoleApplication(engine, settings=ConsoleSettings(), soap_settings=SoapSettings())
    message = (DATA / "rich_submission.xml").read_text()

    status, headers, body = post(app, {"message": message, "profile": "dmp", "format": "json"})
    assert status.startswith("200") and "attachment" in headers["Content-Disposition"]
    report = json.loads(body)
    assert report["status"] == "FAILED" and report["profile"] == "dmp"

    status, headers, body = post(app, {"message": message, "format": "xml"})
    assert etree.fromstring(body).get("status") == "PASSED"

    status, _, body = post(app, {"message": "<html/>"})
    assert status.startswith("400") and b"not an XDS message" in body
