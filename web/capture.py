"""Message capture for the console: every exchange on every interface, kept for a while.

`CaptureMiddleware` wraps the server's WSGI application (SOAP and FHIR): it copies the
request body as the application reads it and the response as it is sent, each up to
`CaptureSettings.max_body_bytes`, and writes one row when the response is done, with what
the application learnt (`environ["xds.outcome"]` from the SOAP side, `xds.patient` and
`xds.requester` from both). The ITI-8 feed records its messages through
`ExchangeLog.record` directly. Nothing streams differently: the copies are taken from the
chunks passing through.

Bodies are patient data. Capture is a setting (on in the embedded default, off unless asked
with a production database), bodies are kept zlib-compressed, rows older than the retention
time or beyond the total size are purged as new ones arrive, and with capture off no row is
written at all.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select

from registry.exchanges_schema import exchanges
from registry.storage import write_transaction
from soap.operations import (
    DELETE,
    PROVIDE_AND_REGISTER,
    REGISTER,
    REMOVE_DOCUMENTS,
    RETRIEVE,
    STORED_QUERY,
    UPDATE,
)

log = logging.getLogger("web.capture")
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_SOAP_TRANSACTIONS = {
    PROVIDE_AND_REGISTER: "ITI-41",
    REGISTER: "ITI-42",
    STORED_QUERY: "ITI-18",
    RETRIEVE: "ITI-43",
    UPDATE: "ITI-57",
    DELETE: "ITI-62",
    REMOVE_DOCUMENTS: "ITI-86",
}
_ERROR_CODE = re.compile(rb'errorCode="([A-Za-z:_.-]{3,64})"')
_FHIR_CODE = re.compile(rb'"code":"(XDS[A-Za-z]+|LocalPolicyRestrictionError)"')


@dataclass(frozen=True)
class CaptureSettings:
    enabled: bool = False
    max_body_bytes: int = 2 * 1024 * 1024  # per body; beyond, the copy is cut
    retention: timedelta = timedelta(hours=24)
    max_total_bytes: int = 256 * 1024 * 1024  # compressed bodies, all rows together
    skip_prefixes: tuple[str, ...] = ("/console",)


@dataclass
class Captured:
    """One exchange as the console shows it."""

    id: int
    started_at: datetime
    interface: str
    endpoint: str
    transaction: str
    action: str | None
    patient_id: str | None
    outcome: str
    http_status: int | None
    error_codes: tuple[str, ...]
    duration_ms: int
    requester: str | None
    client_address: str | None
    request_type: str | None
    request_size: int
    response_type: str | None
    response_size: int
    truncated: bool
    request_body: bytes | None = None
    response_body: bytes | None = None


class ExchangeLog:
    """The captured exchanges in the registry's database."""

    def __init__(self, engine: Engine, settings: CaptureSettings) -> None:
        self.engine = engine
        self.settings = settings
        self._lock = threading.Lock()
        self._last_purge = 0.0

    def record(
        self,
        *,
        interface: str,
        endpoint: str,
        transaction: str,
        outcome: str,
        duration_ms: int,
        request: bytes,
        request_size: int,
        response: bytes,
        response_size: int,
        action: str | None = None,
        patient_id: str | None = None,
        http_status: int | None = None,
        requester: str | None = None,
        client_address: str | None = None,
        request_type: str | None = None,
        response_type: str | None = None,
        started_at: datetime | None = None,
    ) -> int | None:
        """Keep one exchange (nothing when capture is off); its id."""
        if not self.settings.enabled:
            return None
        limit = self.settings.max_body_bytes
        row = {
            "started_at": started_at or datetime.now(UTC),
            "interface": interface,
            "endpoint": endpoint[:256],
            "transaction": transaction[:32],
            "action": (action or "")[:256] or None,
            "patient_id": (patient_id or "")[:256] or None,
            "outcome": outcome[:64],
            "http_status": http_status,
            "error_codes": " ".join(error_codes(response)),
            "duration_ms": duration_ms,
            "requester": (requester or "")[:256] or None,
            "client_address": (client_address or "")[:64] or None,
            "request_type": (request_type or "")[:256] or None,
            "request_size": request_size,
            "request_body": zlib.compress(request[:limit], 6),
            "response_type": (response_type or "")[:256] or None,
            "response_size": response_size,
            "response_body": zlib.compress(response[:limit], 6),
            "truncated": request_size > len(request[:limit])
            or response_size > len(response[:limit]),
        }
        with write_transaction(self.engine) as conn:
            new_id = conn.execute(insert(exchanges).returning(exchanges.c.id), row).scalar_one()
        self._purge_now_and_then()
        return int(new_id)

    def purge(self, now: datetime | None = None) -> int:
        """Drop what passed the retention time, then the oldest beyond the total size."""
        now = now or datetime.now(UTC)
        removed = 0
        with write_transaction(self.engine) as conn:
            old = delete(exchanges).where(exchanges.c.started_at < now - self.settings.retention)
            removed += conn.execute(old).rowcount or 0
            sizes = conn.execute(
                select(
                    exchanges.c.id,
                    func.coalesce(func.length(exchanges.c.request_body), 0)
                    + func.coalesce(func.length(exchanges.c.response_body), 0),
                ).order_by(exchanges.c.id.desc())
            ).all()
            total, cut = 0, None
            for row_id, size in sizes:
                total += int(size or 0)
                if total > self.settings.max_total_bytes:
                    cut = row_id
                    break
            if cut is not None:
                removed += (
                    conn.execute(delete(exchanges).where(exchanges.c.id <= cut)).rowcount or 0
                )
        return removed

    def _purge_now_and_then(self) -> None:
        with self._lock:
            if time.monotonic() - self._last_purge < 30:
                return
            self._last_purge = time.monotonic()
        try:
            self.purge()
        except Exception:  # a purge that fails is tried again later; capture goes on
            log.exception("capture purge failed")

    def find(
        self,
        *,
        transaction: str | None = None,
        patient: str | None = None,
        outcome: str | None = None,
        text: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[Captured]:
        """The newest exchanges matching the filters (bodies not loaded)."""
        c = exchanges.c
        columns = [col for col in exchanges.c if col.name not in ("request_body", "response_body")]
        query = select(*columns).order_by(c.id.desc()).limit(limit)
        if transaction:
            query = query.where(c.transaction == transaction)
        if patient:
            query = query.where(c.patient_id.contains(patient, autoescape=True))
        if outcome:
            query = query.where(c.outcome.contains(outcome, autoescape=True))
        if text:
            pattern = f"%{text}%"
            query = query.where(
                c.endpoint.like(pattern)
                | c.error_codes.like(pattern)
                | c.requester.like(pattern)
                | c.action.like(pattern)
            )
        if before_id is not None:
            query = query.where(c.id < before_id)
        with self.engine.connect() as conn:
            return [_captured(row._mapping) for row in conn.execute(query)]

    def get(self, exchange_id: int) -> Captured | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(exchanges).where(exchanges.c.id == exchange_id)).first()
        if row is None:
            return None
        found = _captured(row._mapping)
        found.request_body = _inflate(row.request_body)
        found.response_body = _inflate(row.response_body)
        return found

    def transactions(self) -> list[str]:
        with self.engine.connect() as conn:
            return sorted(conn.execute(select(exchanges.c.transaction).distinct()).scalars().all())


def _captured(row: Any) -> Captured:
    """A row without its bodies (`ExchangeLog.get` adds them)."""
    values = {f.name: row[f.name] for f in fields(Captured) if f.name in row}
    values["error_codes"] = tuple(row["error_codes"].split())
    values.pop("request_body", None)
    values.pop("response_body", None)
    return Captured(**values)


def _inflate(data: bytes | None) -> bytes | None:
    return zlib.decompress(data) if data is not None else None


def error_codes(response: bytes) -> list[str]:
    """The XDS error codes a response carries (RegistryError, SOAP fault, OperationOutcome)."""
    found = [m.decode() for m in _ERROR_CODE.findall(response)]
    found += [m.decode() for m in _FHIR_CODE.findall(response)]
    return list(dict.fromkeys(code.rsplit(":", 1)[-1] for code in found))


def transaction_of(environ: dict[str, Any], action: str | None) -> tuple[str, str]:
    """(interface, transaction) of a request, by its SOAP action or its FHIR path."""
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "GET")
    if path.startswith("/fhir") or path.startswith("/mhd/"):
        if path.startswith("/mhd/document/"):
            return "fhir", "ITI-68"
        rest = path[len("/fhir") :].strip("/")
        if method == "POST" and not rest:
            return "fhir", "ITI-65"
        if rest.startswith("DocumentReference"):
            if method == "POST" and rest == "DocumentReference":
                return "fhir", "ITI-105"
            return "fhir", "PDSm-PATCH" if method == "PATCH" else "ITI-67"
        if rest.startswith("List"):
            return "fhir", "ITI-66"
        return "fhir", rest.split("/")[0] or "FHIR"
    if method == "GET":
        return "soap", "WSDL"
    if action in _SOAP_TRANSACTIONS:
        return "soap", _SOAP_TRANSACTIONS[action]
    if action and "records" in path:
        return "soap", "records"
    return "soap", "SOAP"


class _TeeInput:
    """The request body, as the application reads it, copied up to a limit."""

    def __init__(self, stream: Any, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.copy = bytearray()
        self.size = 0

    def _keep(self, data: bytes) -> bytes:
        self.size += len(data)
        room = self.limit - len(self.copy)
        if room > 0:
            self.copy += data[:room]
        return data

    def read(self, size: int = -1, /) -> bytes:
        return self._keep(self.stream.read(size))

    def readline(self, size: int = -1, /) -> bytes:
        return self._keep(self.stream.readline(size))

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            yield self._keep(line)


class CaptureMiddleware:
    """Capture each exchange through `app` into `log` (see the module's docstring)."""

    def __init__(self, app: WSGIApp, log: ExchangeLog) -> None:
        self.app = app
        self.log = log

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        settings = self.log.settings
        if not settings.enabled or path.startswith(settings.skip_prefixes):
            return self.app(environ, start_response)
        started_at = datetime.now(UTC)
        started = time.monotonic()
        tee = _TeeInput(environ["wsgi.input"], settings.max_body_bytes)
        environ["wsgi.input"] = tee
        reply: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            reply["status"], reply["headers"] = status, headers
            return (
                start_response(status, headers, exc_info)
                if exc_info
                else start_response(status, headers)
            )

        body = self.app(environ, start)
        return self._copied(body, environ, tee, reply, started_at, started)

    def _copied(
        self,
        body: Iterable[bytes],
        environ: dict[str, Any],
        tee: _TeeInput,
        reply: dict[str, Any],
        started_at: datetime,
        started: float,
    ) -> Iterator[bytes]:
        copy = bytearray()
        size = 0
        limit = self.log.settings.max_body_bytes
        try:
            for chunk in body:
                size += len(chunk)
                if len(copy) < limit:
                    copy += chunk[: limit - len(copy)]
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            try:
                self._write(environ, tee, reply, bytes(copy), size, started_at, started)
            except Exception:  # the exchange was served; a lost copy is only logged
                log.exception("capture failed for %s", environ.get("PATH_INFO"))

    def _write(
        self,
        environ: dict[str, Any],
        tee: _TeeInput,
        reply: dict[str, Any],
        response: bytes,
        response_size: int,
        started_at: datetime,
        started: float,
    ) -> None:
        outcome = environ.get("xds.outcome")
        status_line = reply.get("status", "500")
        http_status = int(status_line.split()[0])
        headers = {k.lower(): v for k, v in reply.get("headers", [])}
        action = getattr(outcome, "action", None)
        if action in (None, "-"):
            action = environ.get("REQUEST_METHOD")
        interface, transaction = transaction_of(environ, action)
        verdict = getattr(outcome, "status", None)
        if verdict in (None, "-"):
            verdict = "Success" if http_status < 400 else f"HTTP {http_status}"
        patient = getattr(outcome, "patient_id", None) or environ.get("xds.patient")
        self.log.record(
            interface=interface,
            endpoint=environ.get("PATH_INFO", ""),
            transaction=transaction,
            action=action,
            patient_id=patient,
            outcome=verdict,
            http_status=http_status,
            duration_ms=int((time.monotonic() - started) * 1000),
            requester=_requester(environ),
            client_address=environ.get("REMOTE_ADDR"),
            request_type=environ.get("CONTENT_TYPE"),
            request=bytes(tee.copy),
            request_size=tee.size,
            response_type=headers.get("content-type"),
            response=response,
            response_size=response_size,
            started_at=started_at,
        )


def capturing_feed(log: ExchangeLog) -> Callable[[Callable[[str], str]], Callable[[str], str]]:
    """A wrapper of the ITI-8 handler that records each HL7 v2 message and its ACK."""

    def wrap(handler: Callable[[str], str]) -> Callable[[str], str]:
        def handle(message: str) -> str:
            started_at, started = datetime.now(UTC), time.monotonic()
            ack = handler(message)
            if log.settings.enabled:
                try:
                    _record_feed(log, message, ack, started_at, started)
                except Exception:
                    log_failure = logging.getLogger("web.capture")
                    log_failure.exception("capture of an ITI-8 message failed")
            return ack

        return handle

    return wrap


def _record_feed(
    log: ExchangeLog, message: str, ack: str, started_at: datetime, started: float
) -> None:
    segments = {
        line.split("|", 1)[0]: line.split("|")
        for line in message.replace("\n", "\r").split("\r")
        if line
    }
    msh = segments.get("MSH", [])
    kind = msh[8] if len(msh) > 8 else ""
    pid = segments.get("PID", [])
    patient = pid[3].split("~")[0] if len(pid) > 3 else None
    msa = next((line.split("|") for line in ack.split("\r") if line.startswith("MSA")), [])
    code = msa[1] if len(msa) > 1 else "?"
    request, response = message.encode(), ack.encode()
    log.record(
        interface="hl7v2",
        endpoint="mllp",
        transaction="ITI-8",
        action=kind.replace("^", " ") or None,
        patient_id=patient,
        outcome={"AA": "Success", "CA": "Success"}.get(code, f"ACK {code}"),
        duration_ms=int((time.monotonic() - started) * 1000),
        request=request,
        request_size=len(request),
        request_type="x-application/hl7-v2+er7",
        response=response,
        response_size=len(response),
        response_type="x-application/hl7-v2+er7",
        started_at=started_at,
    )


def _requester(environ: dict[str, Any]) -> str | None:
    """Who acted: the professional of the assertion, else the TLS client's subject."""
    requester = environ.get("xds.requester")
    if requester is not None:
        who = f"{requester.name} ({requester.professional_id})"
        return f"{who} @ {requester.structure_id}" if requester.structure_id else who
    client = environ.get("xds.client")
    if client is not None:
        return str(client.certificate.subject.rfc4514_string())
    return None


__all__ = [
    "CaptureMiddleware",
    "CaptureSettings",
    "Captured",
    "ExchangeLog",
    "capturing_feed",
    "error_codes",
    "transaction_of",
]
