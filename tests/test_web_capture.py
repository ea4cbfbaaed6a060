"""The console's message capture (`web.capture`), on both backends."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from registry.exchanges_schema import exchanges
from web.capture import (
    CaptureMiddleware,
    CaptureSettings,
    ExchangeLog,
    capturing_feed,
    error_codes,
    transaction_of,
)

FAILURE = (
    b'<rs:RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure">'
    b'<rs:RegistryErrorList><rs:RegistryError errorCode="XDSRegistryMetadataError" '
    b'codeContext="x"/><rs:RegistryError errorCode="XDSUnknownPatientId" codeContext="y"/>'
    b"</rs:RegistryErrorList></rs:RegistryResponse>"
)


def app_answering(body: bytes, status: str = "200 OK") -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read()  # the application reads the whole request
        environ["xds.patient"] = "P-1^^^&1.2.3&ISO"
        start_response(status, [("Content-Type", "application/soap+xml")])
        return [body[:10], body[10:]]

    return app


def call(app: Any, path: str, body: bytes, method: str = "POST") -> bytes:
    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": method,
        "CONTENT_TYPE": "application/soap+xml",
        "wsgi.input": io.BytesIO(body),
        "REMOTE_ADDR": "127.0.0.1",
    }
    answer = app(environ, lambda status, headers, exc=None: None)
    out = b"".join(answer)
    getattr(answer, "close", lambda: None)()
    return out


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(exchanges)).scalar_one())


def test_an_exchange_is_kept_whole_with_its_error_codes(engine: Engine) -> None:
    log = ExchangeLog(engine, CaptureSettings(enabled=True))
    app = CaptureMiddleware(app_answering(FAILURE), log)

    answered = call(app, "/fhir/DocumentReference", b"<request/>", method="GET")

    assert answered == FAILURE  # passed through unchanged
    (found,) = log.find()
    assert found.transaction == "ITI-67" and found.patient_id == "P-1^^^&1.2.3&ISO"
    assert found.error_codes == ("XDSRegistryMetadataError", "XDSUnknownPatientId")
    assert found.response_size == len(FAILURE) and not found.truncated
    whole = log.get(found.id)
    assert whole is not None
    assert whole.request_body == b"<request/>" and whole.response_body == FAILURE


def test_bodies_are_cut_at_the_limit_and_said_to_be(engine: Engine) -> None:
    log = ExchangeLog(engine, CaptureSettings(enabled=True, max_body_bytes=16))
    app = CaptureMiddleware(app_answering(b"x" * 100), log)

    assert call(app, "/xds/registry", b"y" * 50) == b"x" * 100

    (found,) = log.find()
    whole = log.get(found.id)
    assert whole is not None and whole.truncated
    assert whole.request_body == b"y" * 16 and whole.request_size == 50
    assert whole.response_body == b"x" * 16 and whole.response_size == 100


def test_capture_off_stores_nothing(engine: Engine) -> None:
    log = ExchangeLog(engine, CaptureSettings(enabled=False))
    app = CaptureMiddleware(app_answering(FAILURE), log)

    assert call(app, "/xds/registry", b"<request/>") == FAILURE
    wrapped = capturing_feed(log)(lambda message: "MSH|^~\\&|ack\rMSA|AA|1")
    wrapped("MSH|^~\\&|a|b|c|d|20240101||ADT^A01|1|P|2.5\rPID|||P-1^^^&1.2.3&ISO")

    assert rows(engine) == 0


def test_the_console_itself_is_not_captured(engine: Engine) -> None:
    log = ExchangeLog(engine, CaptureSettings(enabled=True))
    app = CaptureMiddleware(app_answering(b"page"), log)
    call(app, "/console/messages", b"", method="GET")
    assert rows(engine) == 0


def test_the_feed_records_the_message_and_its_ack(engine: Engine) -> None:
    log = ExchangeLog(engine, CaptureSettings(enabled=True))
    handle = capturing_feed(log)(lambda message: "MSH|^~\\&|ack\rMSA|AE|1|unknown")

    handle("MSH|^~\\&|a|b|c|d|20240101||ADT^A01|1|P|2.5\rPID|||P-1^^^&1.2.3&ISO~X^^^&9&ISO")

    (found,) = log.find()
    assert (found.interface, found.transaction) == ("hl7v2", "ITI-8")
    assert found.patient_id == "P-1^^^&1.2.3&ISO" and found.outcome == "ACK AE"
    assert found.action == "ADT A01"


def test_purge_drops_the_old_then_the_oldest_beyond_the_size(engine: Engine) -> None:
    log = ExchangeLog(
        engine, CaptureSettings(enabled=True, retention=timedelta(hours=1), max_total_bytes=2000)
    )
    now = datetime.now(UTC)
    kept = dict(
        interface="soap", endpoint="/x", transaction="ITI-18", outcome="Success", duration_ms=1
    )
    noise = os.urandom(2048)  # does not compress: about 2 KB stored
    old = log.record(**kept, request=b"a", request_size=1, response=b"b", response_size=1,
                     started_at=now - timedelta(hours=2))  # fmt: skip
    first = log.record(**kept, request=noise, request_size=2048, response=b"", response_size=0)
    last = log.record(**kept, request=noise[:600], request_size=600, response=b"", response_size=0)

    log.purge(now)

    remaining = {e.id for e in log.find()}
    assert old not in remaining and first not in remaining and last in remaining


@pytest.mark.parametrize(
    ("path", "method", "action", "expected"),
    [
        ("/xds/repository", "POST", "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", "ITI-41"),
        ("/xds/registry", "POST", "urn:ihe:iti:2007:RegistryStoredQuery", "ITI-18"),
        ("/xds/registry", "GET", "GET", "WSDL"),
        ("/fhir", "POST", "POST", "ITI-65"),
        ("/fhir/DocumentReference", "POST", "POST", "ITI-105"),
        ("/fhir/DocumentReference", "GET", "GET", "ITI-67"),
        ("/fhir/List", "GET", "GET", "ITI-66"),
        ("/mhd/document/1.2/3.4", "GET", "GET", "ITI-68"),
    ],
)
def test_transactions_are_named(path: str, method: str, action: str, expected: str) -> None:
    environ = {"PATH_INFO": path, "REQUEST_METHOD": method}
    assert transaction_of(environ, action)[1] == expected


def test_error_codes_of_a_fault_and_an_operation_outcome() -> None:
    outcome = b'{"issue":[{"details":{"coding":[{"code":"XDSUnknownPatientId"}]}}]}'
    assert error_codes(outcome) == ["XDSUnknownPatientId"]
    qualified = b'errorCode="urn:oasis:names:tc:ebxml-regrep:ErrorCode:XDSRegistryError"'
    assert error_codes(qualified) == ["XDSRegistryError"]
