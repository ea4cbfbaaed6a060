"""The WSGI application: HTTP in, SOAP layers, one dispatch table, HTTP out.

Pipeline per POST: `message.read_message` (size limits, MTOM or plain, hardened parse) →
`envelope.read_envelope` (SOAP 1.2, mustUnderstand) → `addressing.read_addressing`
(Action served here, MessageID, anonymous ReplyTo) → `security.read_security` (the signed
assertion, held against the TLS client of `tls.client_identity` and the body's patient)
→ the `operations` handler → a SOAP 1.2
reply, MTOM-encoded for ITI-43 and whenever the request was. Envelope-level problems are
faults; anything unexpected is a Receiver fault logged with the request id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

from lxml import etree

from ebrim.ids import new_uuid4_hex
from registry.audit import RequestOrigin, requests_from
from soap import wsdl
from soap.addressing import (
    Addressing,
    read_addressing,
    reply_header_xml,
    reply_headers,
    request_message_id,
)
from soap.envelope import read_envelope, write_fault, write_reply
from soap.faults import WSA, WSSE, FaultCode, SoapFault, receiver, sender, upgrade_header
from soap.message import SoapMessage, read_message
from soap.mtom import SOAP_MEDIA_TYPE, encode_mtom
from soap.operations import (
    Operation,
    RegistryActor,
    RemoteDecision,
    Reply,
    RepositoryAuditTrail,
    Request,
    delete_operations,
    registry_operations,
    remove_documents_operations,
    repository_operations,
    update_operations,
)
from soap.records_operations import RecordsActor, records_operations
from soap.security import read_security
from soap.settings import SecurityMode, SoapSettings
from soap.tls import client_identity

if TYPE_CHECKING:
    from pki.assertion import AssertionVerifier
    from repository.api import DocumentRepository

log = logging.getLogger("soap")
access_log = logging.getLogger("soap.access")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_UNDERSTOOD = frozenset({WSA})
_UNDERSTOOD_SECURED = frozenset({WSA, WSSE})  # the Security header is processed, not ignored


@dataclass(frozen=True)
class Endpoint:
    name: str
    wsdl: str | None  # None: operations of our own, no WSDL published
    operations: dict[str, Operation]


class ServedRegistry(RegistryActor, RecordsActor, Protocol):
    """The registry as the application serves it: IHE transactions and record management."""


@dataclass
class _Outcome:
    """What one exchange did, for the access log."""

    request_id: str
    action: str = "-"
    patient_id: str | None = None
    professional: str | None = None
    structure: str | None = None
    status: str = "-"
    http_status: int = 200


def make_app(
    *,
    registry: ServedRegistry | None = None,
    repository: DocumentRepository | None = None,
    settings: SoapSettings | None = None,
    verifier: AssertionVerifier | None = None,
    trail: RepositoryAuditTrail | None = None,
    remote: RemoteDecision | None = None,
) -> WSGIApp:
    """The WSGI application serving the registry and/or repository endpoints given.

    Each endpoint serves one official WSDL: the registry ITI-42/18 at `registry_path`,
    ITI-57 at `update_path`, ITI-62 at `delete_path`; the repository ITI-41/43 at
    `repository_path` and ITI-86 at `remove_documents_path`; record management (consent,
    authorisations, access history: `soap.records_xml`, no WSDL) at `records_path`.
    `verifier` checks the signed assertions when `settings.security` is not off. `trail`
    audits a repository served without its registry (`registry.trail.AuditTrail`), and `remote`
    asks that registry who may read (ITI-43 with a requester).
    """
    settings = settings or SoapSettings()
    if settings.security is not SecurityMode.OFF and verifier is None:
        raise ValueError(f"security {settings.security.value} needs an assertion verifier")
    endpoints: list[tuple[str, Endpoint]] = []
    if registry is not None:
        endpoints += [
            (
                settings.registry_path,
                Endpoint("registry", wsdl.REGISTRY_WSDL, registry_operations(registry)),
            ),
            (
                settings.update_path,
                Endpoint("update", wsdl.UPDATE_WSDL, update_operations(registry)),
            ),
            (
                settings.delete_path,
                Endpoint("delete", wsdl.DELETE_WSDL, delete_operations(registry)),
            ),
            (
                settings.records_path,
                Endpoint("records", None, records_operations(registry)),
            ),
        ]
    if repository is not None:
        endpoints += [
            (
                settings.repository_path,
                Endpoint(
                    "repository",
                    wsdl.REPOSITORY_WSDL,
                    repository_operations(repository, registry, trail=trail, remote=remote),
                ),
            ),
            (
                settings.remove_documents_path,
                Endpoint(
                    "remove-documents",
                    wsdl.REMOVE_DOCUMENTS_WSDL,
                    remove_documents_operations(repository, registry or trail),
                ),
            ),
        ]
    routes = {path.rstrip("/"): found for path, found in endpoints}
    return SoapApplication(routes, settings, verifier)


class SoapApplication:
    def __init__(
        self,
        endpoints: dict[str, Endpoint],
        settings: SoapSettings,
        verifier: AssertionVerifier | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.settings = settings
        self.verifier = verifier
        secured = settings.security is not SecurityMode.OFF
        self.understood = _UNDERSTOOD_SECURED if secured else _UNDERSTOOD

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.monotonic()
        outcome = _Outcome(new_uuid4_hex()[:16])
        environ["xds.outcome"] = outcome  # for the console's capture (`web.capture`)
        path = (environ.get("PATH_INFO") or "/").rstrip("/")
        endpoint = self.endpoints.get(path)
        method = environ.get("REQUEST_METHOD", "GET")
        if endpoint is None:
            outcome.http_status = 404
            body: Iterable[bytes] = _text(start_response, "404 Not Found", "no such endpoint\n")
        elif method == "GET":
            body = self._get(endpoint, environ, start_response, outcome)
        elif method == "POST":
            body = self._post(endpoint, environ, start_response, outcome)
        else:
            outcome.http_status = 405
            body = _text(start_response, "405 Method Not Allowed", "use POST or GET ?wsdl\n")
        return _logged(body, outcome, started)

    def _get(
        self, endpoint: Endpoint, environ: dict[str, Any], start: StartResponse, outcome: _Outcome
    ) -> Iterable[bytes]:
        outcome.action = "GET"
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        url = self._endpoint_url(environ)
        if endpoint.wsdl is None:
            outcome.http_status = 404
            return _text(start, "404 Not Found", "no WSDL: see the README on this endpoint\n")
        if "wsdl" in query or "WSDL" in query:
            return _xml(start, wsdl.render_wsdl(endpoint.wsdl, url))
        schema = wsdl.render_schema(query.get("xsd", [""])[0], url) if "xsd" in query else None
        if schema is not None:
            return _xml(start, schema)
        outcome.http_status = 404
        return _text(start, "404 Not Found", "ask for ?wsdl\n")

    def _endpoint_url(self, environ: dict[str, Any]) -> str:
        path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).rstrip("/")
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/") + path
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        )
        return f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path}"

    def _post(
        self, endpoint: Endpoint, environ: dict[str, Any], start: StartResponse, outcome: _Outcome
    ) -> Iterable[bytes]:
        message: SoapMessage | None = None
        headers: tuple[etree._Element, ...] = ()
        try:
            message = read_message(environ, self.settings)
            envelope = read_envelope(message.root, understood=self.understood)
            headers = envelope.headers
            addressing = read_addressing(
                headers, endpoint.operations.keys(), http_action=message.http_action
            )
            outcome.action = addressing.action
            operation = endpoint.operations[addressing.action]
            client = client_identity(environ, self.settings)
            outcome.structure = client.structure_id if client is not None else None
            requester = read_security(
                headers,
                mode=self.settings.security,
                verifier=self.verifier,
                client=client,
                payload=envelope.payload,
                patient_of=operation.patient_of,
            )
            if requester is not None:
                outcome.professional = requester.professional_id
                outcome.structure = outcome.structure or requester.structure_id
            request = Request(
                envelope.payload,
                message.mtom,
                self.settings.spool_threshold,
                requester=requester,
                client=client,
            )
            origin = RequestOrigin(
                address=environ.get("REMOTE_ADDR"),
                structure_id=client.structure_id if client is not None else None,
            )
            with requests_from(origin):
                reply = operation.handle(request)
            outcome.status, outcome.patient_id = reply.status, reply.patient_id
            mtom = operation.mtom_reply or message.mtom is not None
            return self._reply(start, operation, addressing, reply, mtom=mtom)
        except SoapFault as fault:
            return self._fault(start, fault, request_message_id(headers), outcome)
        except Exception:
            log.exception("request %s failed", outcome.request_id)
            internal = receiver(f"internal error, request id {outcome.request_id}")
            return self._fault(start, internal, request_message_id(headers), outcome)
        finally:
            if message is not None:
                message.close()

    def _reply(
        self,
        start: StartResponse,
        operation: Operation,
        addressing: Addressing,
        reply: Reply,
        *,
        mtom: bool,
    ) -> Iterable[bytes]:
        headers = reply_header_xml(operation.response_action, addressing.message_id)
        xml = write_reply(headers, reply.payload)
        if not mtom:
            return _soap(start, "200 OK", xml, operation.response_action)
        content_type, body = encode_mtom(
            xml,
            reply.attachments,
            action=operation.response_action,
            chunk_size=self.settings.chunk_size,
        )
        if not reply.attachments:
            # All in memory already: one write with its length, where chunked transfer
            # would cost a write (a turn of the GIL) per part.
            whole = b"".join(body)
            start("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(whole)))])
            return [whole]
        start("200 OK", [("Content-Type", content_type)])
        return body

    def _fault(
        self, start: StartResponse, fault: SoapFault, relates_to: str | None, outcome: _Outcome
    ) -> Iterable[bytes]:
        outcome.status = f"Fault:{fault.code.value}"
        outcome.http_status = fault.http_status
        if fault.code is not FaultCode.RECEIVER:
            log.info("request %s refused: %s", outcome.request_id, fault.reason)
        return _fault_reply(start, fault, relates_to)


REFUSED_WITHOUT_CERTIFICATE = "a verified TLS client certificate is required here"


def certificate_required(
    app: WSGIApp, settings: SoapSettings, *, open_to_all: Callable[[str], bool]
) -> WSGIApp:
    """`app` refusing every request that presents no verified client certificate, but those
    to the paths `open_to_all` accepts.

    For `xds serve --tls` with the patient portal on: patients' browsers hold no card, so the
    handshake asks for a certificate without requiring one, and this takes back, in the
    application, the refusal the handshake no longer makes. A certificate that is presented
    is still verified by the handshake (chain, validity, CRL); a SOAP request is refused
    with a SOAP fault, anything else with a plain 403.
    """

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if open_to_all(path) or client_identity(environ, settings) is not None:
            return app(environ, start_response)
        log.info("refused %s from %s: no client certificate", path, environ.get("REMOTE_ADDR"))
        content_type = environ.get("CONTENT_TYPE", "")
        if "soap+xml" in content_type or "multipart/related" in content_type:
            fault = sender(REFUSED_WITHOUT_CERTIFICATE, http_status=403)
            return _fault_reply(start_response, fault, None)
        return _text(start_response, "403 Forbidden", REFUSED_WITHOUT_CERTIFICATE + "\n")

    return guarded


def _fault_reply(start: StartResponse, fault: SoapFault, relates_to: str | None) -> list[bytes]:
    """A SOAP 1.2 fault message, with its WS-Addressing headers, under its HTTP status."""
    blocks = reply_headers(fault.action, relates_to)
    if fault.code is FaultCode.VERSION_MISMATCH:
        blocks.insert(0, upgrade_header())
    status = f"{fault.http_status} {_REASONS.get(fault.http_status, 'Error')}"
    return _soap(start, status, write_fault(fault, blocks), fault.action)


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


def _soap(start: StartResponse, status: str, body: bytes, action: str) -> list[bytes]:
    content_type = f'{SOAP_MEDIA_TYPE}; charset=UTF-8; action="{action}"'
    start(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _xml(start: StartResponse, body: bytes) -> list[bytes]:
    headers = [("Content-Type", "text/xml; charset=UTF-8"), ("Content-Length", str(len(body)))]
    start("200 OK", headers)
    return [body]


def _text(start: StartResponse, status: str, text: str) -> list[bytes]:
    body = text.encode()
    headers = [("Content-Type", "text/plain; charset=UTF-8"), ("Content-Length", str(len(body)))]
    start(status, headers)
    return [body]


def _logged(body: Iterable[bytes], outcome: _Outcome, started: float) -> Iterator[bytes]:
    """Pass the body through, then write the access line (so a streamed reply is timed whole)."""
    try:
        yield from body
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
        access_log.info(
            "request_id=%s action=%s patient=%s professional=%s structure=%s status=%s http=%d"
            " duration_ms=%.1f",
            outcome.request_id,
            outcome.action,
            outcome.patient_id or "-",
            outcome.professional or "-",
            outcome.structure or "-",
            outcome.status,
            outcome.http_status,
            (time.monotonic() - started) * 1000,
            extra={
                "request_id": outcome.request_id,
                "action": outcome.action,
                "patient_id": outcome.patient_id,
                "professional": outcome.professional,
                "structure": outcome.structure,
                "status": outcome.status,
                "http_status": outcome.http_status,
            },
        )
