"""The MHD Document Responder over HTTP: a WSGI application beside the SOAP one.

Served under `fhir_path` (``/fhir``), FHIR R4, JSON by default and XML on request (the
``_format`` parameter or the Accept header):

- ``GET metadata``: the CapabilityStatement;
- ITI-67 ``GET DocumentReference?…`` and ``POST DocumentReference/_search``, and the read
  ``GET DocumentReference/<id>``;
- ITI-66 ``GET List?…`` and ``POST List/_search``;
- ITI-68 at `document_path` (``/mhd/document/<repositoryUniqueId>/<uniqueId>``), the
  address each DocumentReference gives in ``content.attachment.url``: the bytes, streamed
  from the repository with their media type, as ITI-43 would return them.

Every search is one stored query of the registry (`mhd.search`), so the access policy,
the limits and the audit trail are those of ITI-18; each retrieve is audited as ITI-43 is.
This first version answers requests without a requester's identity only (the registry's
``--security off``): with security on, every request but ``metadata`` is refused with 401
until the FHIR side verifies a professional's token (IUA) or VIHF.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode

from ebrim.errors import ErrorCode
from ebrim.model import DocumentEntry, Folder, SubmissionSet
from ebrim.storedquery import (
    GetDocumentsQuery,
    GetFoldersQuery,
    GetSubmissionSetAndContentsQuery,
)
from ebrim.storedquery.params import StoredQueryRequest
from ebrim.vocabulary import ResponseStatus
from mhd.outcome import FhirError, operation_outcome
from mhd.resources import MHD, document_reference, list_of, resource_id
from mhd.search import Search, SearchError, document_search, list_search
from registry.audit import AuditTransaction
from repository.api import DocumentRequest
from soap.settings import SecurityMode

log = logging.getLogger("mhd")
access_log = logging.getLogger("mhd.access")

StartResponse = Callable[..., Any]
FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
MAX_FORM_BYTES = 64 * 1024
CHUNK = 64 * 1024
_DEFINITIONS = f"{MHD}/StructureDefinition"
SEARCH_PROFILES = {
    "DocumentReference": (
        f"{_DEFINITIONS}/IHE.MHD.FindDocumentReferencesComprehensiveResponseMessage"
    ),
    "List": f"{_DEFINITIONS}/IHE.MHD.FindDocumentListsResponseMessage",
}


class MhdApplication:
    """WSGI: the FHIR endpoints of one registry, and ITI-68 of its co-located repository."""

    def __init__(
        self,
        registry: Any,
        repository: Any | None = None,
        *,
        public_url: str | None = None,
        security: SecurityMode = SecurityMode.OFF,
        fhir_path: str = "/fhir",
        document_path: str = "/mhd/document",
    ) -> None:
        self.registry = registry
        self.repository = repository
        self.public_url = public_url.rstrip("/") if public_url else None
        self.security = security
        self.fhir_path = fhir_path.rstrip("/")
        self.document_path = document_path.rstrip("/")

    def serves(self, path: str) -> bool:
        return (
            path == self.fhir_path
            or path.startswith(self.fhir_path + "/")
            or path.startswith(self.document_path + "/")
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.monotonic()
        request_id = uuid.uuid4().hex
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        status, patient = 500, "-"
        try:
            response = self._route(environ, path, method)
            status, patient = response.status, response.patient or "-"
            start_response(_status_line(status), response.headers)
            return _logged(response.body, request_id, method, path, status, patient, started)
        except FhirError as exc:
            status = exc.status
            body, headers = self._render(environ, exc.outcome())
            if exc.status == 401:
                headers.append(("WWW-Authenticate", 'Bearer realm="xds-registry"'))
            start_response(_status_line(exc.status), headers)
            log.info("request %s refused (%d): %s", request_id, exc.status, exc.message)
            return _logged([body], request_id, method, path, status, patient, started)
        except Exception:
            log.exception("request %s failed", request_id)
            body, headers = self._render(
                environ,
                operation_outcome(f"internal error (request {request_id})", code="exception"),
            )
            start_response(_status_line(500), headers)
            return _logged([body], request_id, method, path, 500, patient, started)

    # --- routing ---------------------------------------------------------------------------

    def _route(self, environ: dict[str, Any], path: str, method: str) -> _Response:
        if path.startswith(self.document_path + "/"):
            self._require_identity(environ)
            if method not in ("GET", "HEAD"):
                raise FhirError(405, f"{method} is not allowed on a document", code="not-supported")
            return self._retrieve(
                environ, path[len(self.document_path) + 1 :], head=method == "HEAD"
            )
        rest = path[len(self.fhir_path) :].strip("/")
        parts = rest.split("/") if rest else []
        if parts == ["metadata"] and method == "GET":
            return self._resource(environ, self._capability_statement(environ))
        self._require_identity(environ)
        if len(parts) >= 1 and parts[0] in ("DocumentReference", "List"):
            kind = parts[0]
            searching = parts[1:] == ["_search"] and method == "POST"
            if (len(parts) == 1 and method == "GET") or searching:
                return self._search(environ, kind, self._params(environ, method))
            if len(parts) == 2 and method == "GET":
                return self._read(environ, kind, parts[1])
            raise FhirError(405, f"{method} {path} is not supported here", code="not-supported")
        raise FhirError(404, f"no FHIR endpoint at {path}", code="not-found")

    def _require_identity(self, environ: dict[str, Any]) -> None:
        if self.security is not SecurityMode.OFF:
            raise FhirError(
                401,
                "this registry requires the acting professional's identity, which the FHIR "
                "endpoints do not verify yet: use the SOAP transactions",
                code="security",
            )

    def _params(self, environ: dict[str, Any], method: str) -> dict[str, list[str]]:
        params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if method == "POST":
            media = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
            if media != "application/x-www-form-urlencoded":
                raise FhirError(
                    415, "a _search body is application/x-www-form-urlencoded", code="invalid"
                )
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                raise FhirError(400, "unreadable Content-Length", code="invalid") from None
            if length > MAX_FORM_BYTES:
                raise FhirError(413, f"search body over {MAX_FORM_BYTES} bytes", code="too-costly")
            form = environ["wsgi.input"].read(length).decode("utf-8", "replace")
            for name, values in parse_qs(form, keep_blank_values=True).items():
                params.setdefault(name, []).extend(values)
        return params

    # --- ITI-67 / ITI-66 ---------------------------------------------------------------------

    def _search(
        self, environ: dict[str, Any], kind: str, params: dict[str, list[str]]
    ) -> _Response:
        try:
            search = document_search(params) if kind == "DocumentReference" else list_search(params)
        except SearchError as exc:
            raise FhirError(400, str(exc), code="invalid") from None
        asked = urlencode([(k, v) for k, values in search.used.items() for v in values])
        objects = self._run(search.query, kind, asked)
        if kind == "DocumentReference":
            objects = self._kept(objects, search)
        objects.sort(key=_newest_first)
        total = len(objects)
        page = objects[search.page.offset : search.page.offset + search.page.count]
        base = self._base(environ)
        entries = [
            {
                "fullUrl": f"{base}{self.fhir_path}/{kind}/{resource_id(o.entry_uuid)}",
                "resource": self._as_resource(base, o),
                "search": {"mode": "match"},
            }
            for o in page
        ]
        links = [
            {"relation": "self", "url": self._page_url(base, kind, search, search.page.offset)}
        ]
        following = search.page.offset + search.page.count
        if search.page.count and following < total:
            links.append({"relation": "next", "url": self._page_url(base, kind, search, following)})
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "meta": {"profile": [SEARCH_PROFILES[kind]]},
            "type": "searchset",
            "total": total,
            "link": links,
        }
        if entries:
            bundle["entry"] = entries
        patient = getattr(search.query, "patient_id", None) or search.patient_id
        return self._resource(environ, bundle, patient=patient)

    def _kept(self, objects: list[Any], search: Search) -> list[Any]:
        """GetDocuments by identifier answers any patient and status: keep what was asked."""
        if search.patient_id is None:
            return objects
        from ebrim.hl7 import patient_key

        wanted = patient_key(search.patient_id)
        return [
            o
            for o in objects
            if patient_key(o.patient_id or "") == wanted and o.status in search.statuses
        ]

    def _read(self, environ: dict[str, Any], kind: str, resource: str) -> _Response:
        entry_uuid = f"urn:uuid:{resource}"
        base = self._base(environ)
        asked = f"_id={resource}"
        if kind == "DocumentReference":
            found = self._run(GetDocumentsQuery(uuids=(entry_uuid,)), kind, asked)
        else:
            found = self._run(GetFoldersQuery(uuids=(entry_uuid,)), kind, asked) or [
                o
                for o in self._run(GetSubmissionSetAndContentsQuery(uuid=entry_uuid), kind, asked)
                if isinstance(o, SubmissionSet)
            ]
        if not found:
            raise FhirError(404, f"{kind}/{resource} is not known", code="not-found")
        obj = found[0]
        return self._resource(environ, self._as_resource(base, obj), patient=obj.patient_id)

    def _run(self, query: Any, kind: str, asked: str) -> list[Any]:
        """The objects the stored query answers, audited as the MHD search that asked."""
        transaction = (
            AuditTransaction.FIND_DOCUMENT_REFERENCES
            if kind == "DocumentReference"
            else AuditTransaction.FIND_DOCUMENT_LISTS
        )
        result = self.registry.query(
            StoredQueryRequest(query), transaction=transaction, asked=asked
        )
        if result.response.status is ResponseStatus.FAILURE:
            error = result.response.errors[0]
            status = {
                ErrorCode.XDSTooManyResults: 400,
                ErrorCode.XDSRegistryBusy: 503,
                ErrorCode.LocalPolicyRestrictionError: 403,
            }.get(error.code, 400)
            code = "too-costly" if status == 400 else "transient" if status == 503 else "forbidden"
            raise FhirError(status, error.message, code=code, xds_code=error.code.value)
        metadata = result.metadata
        if metadata is None:
            return []
        return [*metadata.documents, *metadata.submission_sets, *metadata.folders]

    def _as_resource(
        self, base: str, obj: DocumentEntry | SubmissionSet | Folder
    ) -> dict[str, Any]:
        if isinstance(obj, DocumentEntry):
            return document_reference(obj, self._retrieve_url(base, obj))
        return list_of(obj)

    def _retrieve_url(self, base: str, doc: DocumentEntry) -> str | None:
        if not doc.repository_unique_id or not doc.unique_id:
            return None
        repository = quote(doc.repository_unique_id, safe="")
        return f"{base}{self.document_path}/{repository}/{quote(doc.unique_id, safe='')}"

    def _page_url(self, base: str, kind: str, search: Search, offset: int) -> str:
        params = [
            (k, v)
            for k, values in search.used.items()
            if k not in ("_offset", "_count")
            for v in values
        ]
        params += [("_count", str(search.page.count)), ("_offset", str(offset))]
        return f"{base}{self.fhir_path}/{kind}?{urlencode(params)}"

    # --- ITI-68 ------------------------------------------------------------------------------

    def _retrieve(self, environ: dict[str, Any], rest: str, *, head: bool) -> _Response:
        repository_id, slash, unique_id = rest.partition("/")
        repository_id, unique_id = unquote(repository_id), unquote(unique_id)
        missing = FhirError(
            404,
            f"no document {unique_id} in repository {repository_id}",
            code="not-found",
            xds_code=ErrorCode.XDSDocumentUniqueIdError.value,
        )
        if not slash or not unique_id or self.repository is None:
            raise missing
        if repository_id != self.repository.repository_unique_id:
            raise missing
        result = self.repository.retrieve([DocumentRequest(repository_id, unique_id)])
        found = result.documents[0] if result.documents else None
        traced = self.registry.audit_retrieve(
            None,
            None,
            [unique_id],
            success=found is not None,
            transaction=AuditTransaction.RETRIEVE_DOCUMENT,
        )
        if not traced:
            raise FhirError(503, "the access could not be traced; retry", code="transient")
        if found is None:
            raise missing
        accept = environ.get("HTTP_ACCEPT", "")
        if accept and not _accepts(accept, found.mime_type):
            raise FhirError(
                406, f"the document is {found.mime_type}, not {accept}", code="not-supported"
            )
        headers = [("Content-Type", found.mime_type), ("Content-Length", str(found.size))]
        if head:
            return _Response(200, headers, [])
        return _Response(200, headers, _stream(found.open))

    # --- rendering ---------------------------------------------------------------------------

    def _resource(
        self, environ: dict[str, Any], resource: dict[str, Any], *, patient: str | None = None
    ) -> _Response:
        body, headers = self._render(environ, resource)
        return _Response(200, headers, [body], patient)

    def _render(
        self, environ: dict[str, Any], resource: dict[str, Any]
    ) -> tuple[bytes, list[tuple[str, str]]]:
        if _wants_xml(environ):
            body = _xml(resource)
            media = FHIR_XML
        else:
            body = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
            media = FHIR_JSON
        return body, [
            ("Content-Type", f"{media}; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ]

    def _base(self, environ: dict[str, Any]) -> str:
        if self.public_url:
            return self.public_url
        host = (
            environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        )
        return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"

    def _capability_statement(self, environ: dict[str, Any]) -> dict[str, Any]:
        from mhd.capability import capability_statement

        return capability_statement(self._base(environ) + self.fhir_path)


class _Response:
    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: Iterable[bytes],
        patient: str | None = None,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.patient = patient


def _newest_first(obj: Any) -> tuple[str, str]:
    when = getattr(obj, "creation_time", None) or getattr(obj, "submission_time", None)
    when = when or getattr(obj, "last_update_time", None) or ""
    return (when.ljust(14, "0"), obj.entry_uuid)


def _stream(opener: Callable[[], Any]) -> Iterator[bytes]:
    with opener() as source:
        while chunk := source.read(CHUNK):
            yield chunk


def _accepts(accept: str, media: str) -> bool:
    wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    major = media.split("/")[0].lower()
    return any(w in ("*/*", media.lower(), f"{major}/*") for w in wanted)


def _wants_xml(environ: dict[str, Any]) -> bool:
    formats = parse_qs(environ.get("QUERY_STRING", "")).get("_format", [])
    if formats:
        return "xml" in formats[-1].lower()
    accept = environ.get("HTTP_ACCEPT", "").lower()
    return "xml" in accept and "json" not in accept


def _xml(resource: dict[str, Any]) -> bytes:
    """The XML form, through the R4B models (which also check the resource's structure)."""
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    xml: bytes = model.model_dump_xml()  # type: ignore[assignment]  # typed str, is bytes
    return xml


def _status_line(status: int) -> str:
    from http import HTTPStatus

    return f"{status} {HTTPStatus(status).phrase}"


def _logged(
    body: Iterable[bytes],
    request_id: str,
    method: str,
    path: str,
    status: int,
    patient: str,
    started: float,
) -> Iterator[bytes]:
    try:
        yield from body
    finally:
        access_log.info(
            "request_id=%s action=%s patient=%s status=%d duration_ms=%.1f",
            request_id,
            f"{method} {path.split('?')[0]}",
            patient,
            status,
            (time.monotonic() - started) * 1000,
        )


def combined(
    soap_app: Callable[..., Iterable[bytes]], mhd_app: MhdApplication
) -> Callable[..., Iterable[bytes]]:
    """One WSGI application: MHD's paths to `mhd_app`, everything else to `soap_app`."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if mhd_app.serves(environ.get("PATH_INFO", "")):
            return mhd_app(environ, start_response)
        return soap_app(environ, start_response)

    return application


__all__ = ["FHIR_JSON", "FHIR_XML", "MhdApplication", "combined"]
