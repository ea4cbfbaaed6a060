"""The web console at /console: message log, validator, record browser, endpoints.

Server-rendered pages (Jinja2, every value escaped), one stylesheet and one small script
served from here, a Content-Security-Policy that allows nothing else. Who may open it:

- without TLS, only a client on the loopback interface (an integrator on the machine), and
  never a request relayed by a trusted proxy (its real client is elsewhere);
- under ``--tls``, only a client certificate named by ``--console-operator`` (its subject
  or its SHA-256 fingerprint).

Anyone else gets a 403. Captured bodies are patient data: each view or download of one is
written to the audit trail (``console:ViewMessage`` / ``console:DownloadMessage``), as is
each document opened (``console:ViewDocument``).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from cryptography.hazmat.primitives import hashes
from sqlalchemy import Engine, func, or_, select

from ebrim.profile import Profile
from registry.audit import AuditEvent, Outcome, write_event
from registry.records_schema import audit_events
from registry.schema import associations, documents, folders, patients, submission_sets
from registry.storage import write_transaction
from registry.store import of_logical_ids
from repository.api import DocumentRequest
from soap.settings import SoapSettings
from soap.tls import client_identity, is_trusted_proxy
from web.capture import ExchangeLog
from web.messages import part_bytes, parts_of
from web.pages import Answer, document_answer, templates
from web.pages import form as read_form
from web.validation import Unreadable, validate_message

log = logging.getLogger("web.console")
StartResponse = Callable[..., Any]
PREFIX = "/console"
PAGE_SIZE = 100  # objects of each kind on one page of a patient
MAX_UPLOAD = 20 * 1024 * 1024
_STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript"}


@dataclass(frozen=True)
class Endpoint:
    """A line of the endpoints page: what an integrator types into Gazelle's configuration."""

    name: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class ConsoleSettings:
    tls: bool = False
    operators: tuple[str, ...] = ()  # certificate subjects (RFC 4514) or SHA-256 fingerprints
    endpoints: tuple[Endpoint, ...] = ()
    profile: Profile = Profile.GENERIC


class ConsoleApplication:
    def __init__(
        self,
        engine: Engine,
        *,
        settings: ConsoleSettings,
        soap_settings: SoapSettings,
        capture: ExchangeLog | None = None,
        repository: Any | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.soap_settings = soap_settings
        self.capture = capture
        self.repository = repository
        self.templates = templates()
        self.templates.filters["quote"] = lambda v: quote(str(v), safe="")

    @staticmethod
    def serves(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        try:
            operator = self._operator(environ)
            if operator is None:
                response = self._page("forbidden.html", status="403 Forbidden")
            else:
                environ["xds.operator"] = operator
                response = self._route(environ)
        except Exception:
            log.exception("console page failed: %s", environ.get("PATH_INFO"))
            response = Answer("500 Internal Server Error", b"console error\n", "text/plain")
        return response.send(start_response)

    # --- who may open it ---------------------------------------------------------------------

    def _operator(self, environ: dict[str, Any]) -> str | None:
        """Who is at the console, or None when they may not be."""
        address = environ.get("REMOTE_ADDR", "")
        if self.settings.tls:
            client = client_identity(environ, self.soap_settings)
            if client is None:
                return None
            subject = client.certificate.subject.rfc4514_string()
            fingerprint = client.certificate.fingerprint(hashes.SHA256()).hex()
            allowed = {o.lower().replace(":", "") for o in self.settings.operators}
            if subject.lower() in allowed or fingerprint in allowed:
                return subject
            return None
        if _relayed(environ) or is_trusted_proxy(address, self.soap_settings.trusted_proxies):
            return None  # relayed: its real client is elsewhere
        try:
            loopback = ipaddress.ip_address(address).is_loopback
        except ValueError:
            return None
        return f"local operator ({address})" if loopback else None

    # --- routing -----------------------------------------------------------------------------

    def _route(self, environ: dict[str, Any]) -> Answer:
        path = environ.get("PATH_INFO", "")[len(PREFIX) :].strip("/")
        parts = [unquote(p) for p in path.split("/")] if path else []
        method = environ.get("REQUEST_METHOD", "GET")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if method == "POST" and parts == ["validate"]:
            return self._validate(environ)
        if method not in ("GET", "HEAD"):
            return Answer("405 Method Not Allowed", b"GET only here\n", "text/plain")
        if not parts:
            return self._home()
        match parts:
            case ["static", name] if name in _STATIC:
                return self._static(name)
            case ["endpoints"]:
                return self._page("endpoints.html", endpoints=self.settings.endpoints)
            case ["messages"]:
                return self._messages(query)
            case ["messages", number]:
                return self._message(environ, number)
            case ["messages", number, which, index] if which in ("request", "response"):
                return self._download(environ, number, which, index)
            case ["validate"]:
                return self._page("validate.html", profile=self.settings.profile.value)
            case ["patients"]:
                return self._patients(query)
            case ["patients", patient_id]:
                return self._patient(patient_id, query)
            case ["documents", entry_uuid]:
                return self._document(entry_uuid)
            case ["documents", entry_uuid, "view"]:
                return self._view_document(environ, entry_uuid)
            case ["audit"]:
                return self._audit(query)
        return self._page("missing.html", status="404 Not Found")

    def _page(self, name: str, *, status: str = "200 OK", **context: Any) -> Answer:
        html = self.templates.get_template(name).render(
            prefix=PREFIX,
            capture_on=bool(self.capture and self.capture.settings.enabled),
            **context,
        )
        return Answer(status, html.encode(), "text/html; charset=utf-8")

    def _static(self, name: str) -> Answer:
        data = (files("web") / "static" / name).read_bytes()
        return Answer("200 OK", data, _STATIC[name])

    def _home(self) -> Answer:
        with self.engine.connect() as conn:
            counts = {
                "patients": conn.execute(select(func.count()).select_from(patients)).scalar(),
                "documents": conn.execute(select(func.count()).select_from(documents)).scalar(),
                "audit events": conn.execute(
                    select(func.count()).select_from(audit_events)
                ).scalar(),
            }
        recent = self.capture.find(limit=10) if self.capture else []
        return self._page("home.html", counts=counts, recent=recent)

    # --- message log ------------------------------------------------------------------------

    def _messages(self, query: dict[str, str]) -> Answer:
        if self.capture is None:
            return self._page("messages.html", exchanges=[], filters=query, transactions=[])
        before = query.get("before")
        found = self.capture.find(
            transaction=query.get("transaction") or None,
            patient=query.get("patient") or None,
            outcome=query.get("outcome") or None,
            text=query.get("q") or None,
            before_id=int(before) if before and before.isdigit() else None,
            limit=100,
        )
        return self._page(
            "messages.html",
            exchanges=found,
            filters=query,
            transactions=self.capture.transactions(),
            older=found[-1].id if len(found) == 100 else None,
        )

    def _message(self, environ: dict[str, Any], number: str) -> Answer:
        exchange = self.capture.get(int(number)) if self.capture and number.isdigit() else None
        if exchange is None:
            return self._page("missing.html", status="404 Not Found")
        self._audit_view(environ, "console:ViewMessage", exchange.patient_id, f"exchange {number}")
        request = parts_of(exchange.request_body or b"", exchange.request_type)
        response = parts_of(exchange.response_body or b"", exchange.response_type)
        return self._page("message.html", exchange=exchange, request=request, response=response)

    def _download(self, environ: dict[str, Any], number: str, which: str, index: str) -> Answer:
        exchange = self.capture.get(int(number)) if self.capture and number.isdigit() else None
        if exchange is None or not index.isdigit():
            return self._page("missing.html", status="404 Not Found")
        body = exchange.request_body if which == "request" else exchange.response_body
        media = exchange.request_type if which == "request" else exchange.response_type
        found = part_bytes(body or b"", media, int(index))
        if found is None:
            return self._page("missing.html", status="404 Not Found")
        data, part_type = found
        detail = f"exchange {number} {which} part {index}"
        self._audit_view(environ, "console:DownloadMessage", exchange.patient_id, detail)
        extension = mimetypes.guess_extension(part_type.split(";")[0].strip()) or ".bin"
        name = f"exchange-{number}-{which}-{index}{extension}"
        return Answer(
            "200 OK",
            data,
            "application/octet-stream",  # never rendered here: saved
            [("Content-Disposition", f'attachment; filename="{name}"')],
        )

    # --- validator ---------------------------------------------------------------------------

    def _validate(self, environ: dict[str, Any]) -> Answer:
        form = read_form(environ, MAX_UPLOAD)
        data = form.get("file") or form.get("message", "").encode()
        try:
            profile = Profile(form.get("profile", self.settings.profile.value))
        except ValueError:
            profile = self.settings.profile
        if not data.strip():
            return self._page("validate.html", profile=profile.value, problem="Nothing to check.")
        try:
            report = validate_message(data, profile)
        except Unreadable as exc:
            return self._page(
                "validate.html", profile=profile.value, problem=str(exc), status="400 Bad Request"
            )
        wanted = form.get("format", "html")
        if wanted == "json":
            return Answer(
                "200 OK",
                report.as_json().encode(),
                "application/json",
                [("Content-Disposition", 'attachment; filename="validation-report.json"')],
            )
        if wanted == "xml":
            return Answer(
                "200 OK",
                report.as_xml(),
                "application/xml",
                [("Content-Disposition", 'attachment; filename="validation-report.xml"')],
            )
        return self._page("report.html", report=report, profile=profile.value)

    # --- record browser ----------------------------------------------------------------------

    def _patients(self, query: dict[str, str]) -> Answer:
        wanted = query.get("q", "")
        counts = (
            select(documents.c.patient_id, func.count().label("documents"))
            .group_by(documents.c.patient_id)
            .subquery()
        )
        statement = (
            select(
                patients.c.patient_id,
                patients.c.merged_into,
                patients.c.created_at,
                counts.c.documents,
            )
            .outerjoin(counts, counts.c.patient_id == patients.c.patient_id)
            .order_by(patients.c.created_at.desc())
            .limit(200)
        )
        if wanted:
            statement = statement.where(patients.c.patient_id.contains(wanted, autoescape=True))
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()
        return self._page("patients.html", rows=rows, q=wanted)

    def _patient(self, patient_id: str, query: dict[str, str]) -> Answer:
        """A patient's documents, submission sets and folders, newest first, a page at a time."""
        page = int(query["page"]) if query.get("page", "").isdigit() else 1
        page = max(page, 1)
        with self.engine.connect() as conn:
            known = conn.execute(
                select(patients).where(patients.c.patient_id == patient_id)
            ).first()
            if known is None:
                return self._page("missing.html", status="404 Not Found")
            kinds = {
                "documents": (documents, documents.c.creation_time),
                "sets": (submission_sets, submission_sets.c.submission_time),
                "folders": (folders, folders.c.last_update_time),
            }
            shown = {
                name: _objects(conn, table, patient_id, newest, PAGE_SIZE, (page - 1) * PAGE_SIZE)
                for name, (table, newest) in kinds.items()
            }
            totals = {
                name: conn.execute(
                    select(func.count()).select_from(table).where(table.c.patient_id == patient_id)
                ).scalar_one()
                for name, (table, _newest) in kinds.items()
            }
        return self._page(
            "patient.html",
            patient=known,
            demographics=json.loads(known.demographics) if known.demographics else {},
            documents=shown["documents"],
            sets=shown["sets"],
            folders=shown["folders"],
            totals=totals,
            page=page,
            first=(page - 1) * PAGE_SIZE + 1,
            more=any(total > page * PAGE_SIZE for total in totals.values()),
        )

    def _document(self, entry_uuid: str) -> Answer:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(documents.c.body, documents.c.status).where(
                    documents.c.entry_uuid == entry_uuid
                )
            ).first()
            if row is None:
                return self._page("missing.html", status="404 Not Found")
            doc = _decoded(row)
            versions = [
                _decoded(r)
                for r in conn.execute(
                    select(documents.c.body, documents.c.status)
                    .where(of_logical_ids(documents, [doc.get("logical_id") or entry_uuid]))
                    .order_by(documents.c.version)
                )
            ]
            links = conn.execute(
                select(
                    associations.c.entry_uuid,
                    associations.c.association_type,
                    associations.c.source_uuid,
                    associations.c.target_uuid,
                    associations.c.status,
                ).where(
                    or_(
                        associations.c.source_uuid == entry_uuid,
                        associations.c.target_uuid == entry_uuid,
                    )
                )
            ).all()
            history = conn.execute(
                select(audit_events)
                .where(
                    or_(
                        *(
                            audit_events.c.document_ids.contains(f'"{name}"', autoescape=True)
                            for name in {doc.get("unique_id"), entry_uuid, doc.get("logical_id")}
                            if name
                        )
                    )
                )
                .order_by(audit_events.c.id)
                .limit(500)
            ).all()
        return self._page("document.html", doc=doc, versions=versions, links=links, history=history)

    def _view_document(self, environ: dict[str, Any], entry_uuid: str) -> Answer:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(documents.c.body, documents.c.status, documents.c.patient_id).where(
                    documents.c.entry_uuid == entry_uuid
                )
            ).first()
        if row is None or self.repository is None:
            return self._page("missing.html", status="404 Not Found")
        doc = _decoded(row)
        request = DocumentRequest(doc.get("repository_unique_id") or "", doc.get("unique_id") or "")
        result = self.repository.retrieve([request])  # an operator: no consultation policy
        if not result.documents:
            return self._page("missing.html", status="404 Not Found")
        with result.documents[0].open() as stream:
            found = stream.read()
        self._audit_view(environ, "console:ViewDocument", row.patient_id, entry_uuid)
        return document_answer(found, "document.bin")

    def _audit(self, query: dict[str, str]) -> Answer:
        c = audit_events.c
        statement = select(audit_events).order_by(c.id.desc()).limit(200)
        if query.get("patient"):
            statement = statement.where(c.patient_id.contains(query["patient"], autoescape=True))
        if query.get("transaction"):
            statement = statement.where(c.transaction == query["transaction"])
        if query.get("outcome"):
            statement = statement.where(c.outcome == query["outcome"])
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()
            kinds = conn.execute(select(c.transaction).distinct()).scalars().all()
        return self._page("audit.html", rows=rows, filters=query, transactions=sorted(kinds))

    def _audit_view(
        self, environ: dict[str, Any], transaction: str, patient_id: str | None, detail: str
    ) -> None:
        event = AuditEvent(
            transaction=transaction,
            outcome=Outcome.SUCCESS,
            patient_id=patient_id,
            requester_kind="operator",
            professional_name=environ.get("xds.operator"),
            detail=detail,
            source_address=environ.get("REMOTE_ADDR"),
        )
        with write_transaction(self.engine) as conn:
            write_event(conn, event, datetime.now(UTC))


def _relayed(environ: dict[str, Any]) -> bool:
    """A request that came through a proxy: its loopback address is not its client's."""
    return any(k in environ for k in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"))


def _objects(
    conn: Any, table: Any, patient_id: str, newest: Any, limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    """A patient's objects of one kind, newest first (then by entryUUID: a stable order)."""
    rows = conn.execute(
        select(table.c.body, table.c.status)
        .where(table.c.patient_id == patient_id)
        .order_by(newest.desc(), table.c.entry_uuid)
        .limit(limit)
        .offset(offset)
    )
    return [_decoded(row) for row in rows]


def _decoded(row: Any) -> dict[str, Any]:
    """A stored object's JSON body, with the status column (which wins over the body)."""
    data: dict[str, Any] = json.loads(row.body)
    data["status"] = row.status
    return data


__all__ = ["PREFIX", "ConsoleApplication", "ConsoleSettings", "Endpoint"]
