"""Who may open the console, and what it leaves in the audit trail (in process)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dicom_audit import assert_dicom_audit_valid
from sqlalchemy import Engine

from atna.message import AuditSource, render_audit_message
from registry.audit import events_after
from soap.settings import SoapSettings
from web.capture import CaptureSettings, ExchangeLog
from web.console import ConsoleApplication, ConsoleSettings

HEADER = "X-SSL-Client-Cert"


def certificate(name: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def get(app: ConsoleApplication, path: str, **environ: Any) -> tuple[str, dict[str, str], str]:
    seen: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]], exc: object = None) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    env = {
        "PATH_INFO": path,
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(),
        "REMOTE_ADDR": "127.0.0.1",
        **environ,
    }
    body = b"".join(app(env, start)).decode()
    return seen["status"], seen["headers"], body


def console(engine: Engine, **settings: Any) -> ConsoleApplication:
    soap = SoapSettings(client_cert_header=HEADER, trusted_proxies=("10.0.0.0/24",))
    return ConsoleApplication(
        engine,
        settings=ConsoleSettings(**settings),
        soap_settings=soap,
        capture=ExchangeLog(engine, CaptureSettings(enabled=True)),
    )


@pytest.mark.parametrize(
    ("environ", "allowed"),
    [
        ({"REMOTE_ADDR": "127.0.0.1"}, True),
        ({"REMOTE_ADDR": "::1"}, True),
        ({"REMOTE_ADDR": "192.0.2.7"}, False),
        ({"REMOTE_ADDR": "10.0.0.1"}, False),  # a trusted proxy: its client is elsewhere
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.7"}, False),
    ],
)
def test_without_tls_only_this_machine(
    engine: Engine, environ: dict[str, str], allowed: bool
) -> None:
    status, headers, body = get(console(engine), "/console/messages", **environ)
    assert status.startswith("200" if allowed else "403"), body
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_under_tls_only_an_operator_certificate(engine: Engine) -> None:
    operator, stranger = certificate("Operations"), certificate("Someone else")
    fingerprint = operator.fingerprint(hashes.SHA256()).hex()
    app = console(engine, tls=True, operators=("CN=Operations",))
    by_fingerprint = console(engine, tls=True, operators=(fingerprint.upper(),))

    def presenting(cert: x509.Certificate | None) -> dict[str, str]:
        environ = {"REMOTE_ADDR": "10.0.0.1"}  # the TLS-terminating proxy vouches for it
        if cert is not None:
            pem = cert.public_bytes(serialization.Encoding.PEM).decode()
            environ["HTTP_" + HEADER.upper().replace("-", "_")] = quote(pem)
        return environ

    assert get(app, "/console", **presenting(operator))[0].startswith("200")
    assert get(by_fingerprint, "/console", **presenting(operator))[0].startswith("200")
    assert get(app, "/console", **presenting(stranger))[0].startswith("403")
    assert get(app, "/console", **presenting(None))[0].startswith("403")
    loopback = {"REMOTE_ADDR": "127.0.0.1"}  # loopback is not enough under TLS
    assert get(app, "/console", **loopback)[0].startswith("403")


def test_a_view_and_a_download_are_audited(engine: Engine) -> None:
    app = console(engine)
    assert app.capture is not None
    exchange = app.capture.record(
        interface="soap",
        endpoint="/xds/registry",
        transaction="ITI-18",
        outcome="Success",
        duration_ms=3,
        patient_id="P-9^^^&1.2.3&ISO",
        request=b"<q/>",
        request_size=4,
        response=b"<r/>",
        response_size=4,
    )

    assert get(app, f"/console/messages/{exchange}")[0].startswith("200")
    status, headers, _ = get(app, f"/console/messages/{exchange}/response/0")
    assert status.startswith("200") and headers["Content-Disposition"].startswith("attachment")

    with engine.connect() as conn:
        events = [
            e for e in events_after(conn, 0, limit=100) if e.transaction.startswith("console:")
        ]
    assert [e.transaction for e in events] == ["console:ViewMessage", "console:DownloadMessage"]
    assert events[0].patient_id == "P-9^^^&1.2.3&ISO"
    source = AuditSource(source_id="xds@test", base_url="http://127.0.0.1", repository_id="1.2")
    for event in events:
        assert_dicom_audit_valid(render_audit_message(event, source))


def test_unknown_pages_and_methods(engine: Engine) -> None:
    app = console(engine)
    assert get(app, "/console/messages/999")[0].startswith("404")
    assert get(app, "/console/nothing")[0].startswith("404")
    assert get(app, "/console/messages", REQUEST_METHOD="DELETE")[0].startswith("405")


def test_a_patient_with_many_documents_is_shown_a_page_at_a_time(engine: Engine) -> None:
    """The record browser showed the newest 500 documents and no more; now every one, 100 a
    page, in a stable order, with the totals."""
    import re

    from registry_fixtures import PATIENT, Submission, new_registry

    registry = new_registry(engine)
    for _ in range(3):
        submission = Submission()
        for _ in range(80):
            submission.add()
        assert registry.register(submission.build()).status.name == "SUCCESS"
    app = console(engine)
    path = f"/console/patients/{quote(PATIENT, safe='')}"

    seen: list[str] = []
    dash = "\N{EN DASH}"
    for page, shown, more in ((1, "1-100", True), (2, "101-200", True), (3, "201-240", False)):
        shown = shown.replace("-", dash)
        status, _headers, body = get(app, path, QUERY_STRING=f"page={page}")
        assert status == "200 OK"
        assert f"Documents (240; {shown} shown)" in body
        assert "<title>Patient" in body and "Page" not in body.split("</title>")[0]
        assert ('id="next"' in body) is more and ('id="previous"' in body) is (page > 1)
        seen += re.findall(r"/console/documents/([^\"]+)\"", body)
    assert len(seen) == len(set(seen)) == 240  # every document once
    _status, _headers, beyond = get(app, path, QUERY_STRING="page=9")
    assert "Documents (240; none on this page)" in beyond and "/console/documents/" not in beyond
    _status, _headers, wrong = get(app, path, QUERY_STRING="page=-2")
    assert f"Documents (240; 1{dash}100 shown)" in wrong
