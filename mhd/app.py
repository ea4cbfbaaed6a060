"""MHD's Document Recipient and Responder over HTTP: a WSGI application beside the SOAP one.

Served under `fhir_path` (``/fhir``), FHIR R4, JSON by default and XML on request (the
``_format`` parameter or the Accept header):

- ``GET metadata``: the CapabilityStatement;
- ITI-67 ``GET DocumentReference?…`` and ``POST DocumentReference/_search``, and the read
  ``GET DocumentReference/<id>``;
- ITI-66 ``GET List?…`` and ``POST List/_search``;
- ITI-68 at `document_path` (``/mhd/document/<repositoryUniqueId>/<uniqueId>``), the
  address each DocumentReference gives in ``content.attachment.url``: the bytes, streamed
  from the repository with their media type, as ITI-43 would return them.

- ITI-65 ``POST`` of a transaction Bundle at the base: one ITI-41 (`mhd.publish`).

Every search is one stored query of the registry (`mhd.search`), so the access policy and
the limits are those of ITI-18; searches are audited as ITI-67/ITI-66, retrieves as ITI-68.
Who acts is read as on the SOAP side (`mhd.security`): the TLS client's certificate and,
when security is on, the professional's signed assertion (the VIHF) carried in the
Authorization header; the access policy, refusals and audit are the registry's.
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode

from ebrim.errors import ErrorCode, Severity, XDSError
from ebrim.model import Association, DocumentEntry, Folder, SubmissionSet
from ebrim.storedquery import (
    FindDocumentsByReferenceIdQuery,
    FindDocumentsQuery,
    GetAssociationsQuery,
    GetDocumentsQuery,
    GetFoldersQuery,
    GetSubmissionSetAndContentsQuery,
)
from ebrim.storedquery.params import StoredQueryRequest
from ebrim.update import UpdateSource, new_version, status_change
from ebrim.vocabulary import AssociationType, ResponseStatus, ReturnType
from mhd.models import model_class
from mhd.outcome import FhirError, operation_outcome
from mhd.publish import (
    MAX_BUNDLE_BYTES,
    Published,
    publish_request,
    read_bundle,
    read_resource,
)
from mhd.resources import MHD, RELATES_TO, document_reference, list_of, resource_id
from mhd.search import (
    Search,
    SearchError,
    document_identifiers,
    document_search,
    list_search,
)
from mhd.security import requester_of
from mhd.simplified import simplified_bundle
from mhd.systems import is_oid, scheme_of
from mhd.update import change_of, patched
from registry.audit import (
    AuditTransaction,
    Outcome,
    RequestOrigin,
    audited_as,
    event_for,
    requests_from,
)
from registry.records import RecordStatus
from registry.times import now_dtm
from repository.api import DocumentRequest
from soap.settings import SecurityMode, SoapSettings
from soap.tls import client_identity

if TYPE_CHECKING:
    from pki.assertion import AssertionVerifier, Requester

log = logging.getLogger("mhd")
access_log = logging.getLogger("mhd.access")

StartResponse = Callable[..., Any]
FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
MAX_FORM_BYTES = 64 * 1024
MAX_MATCHES = 100_000  # entryUUIDs an ITI-67 may page through
ONE_STEP = 200  # matches read in one query; more are paged in two
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
        settings: SoapSettings | None = None,
        verifier: AssertionVerifier | None = None,
        fhir_path: str = "/fhir",
        document_path: str = "/mhd/document",
    ) -> None:
        """`settings` and `verifier` are the SOAP side's: the same public URL, security mode,
        trusted proxies and assertion trust."""
        self.registry = registry
        self.repository = repository
        self.settings = settings or SoapSettings()
        if self.settings.security is not SecurityMode.OFF and verifier is None:
            raise ValueError("security on needs an assertion verifier")
        self.verifier = verifier
        public_url = self.settings.public_url
        self.public_url = public_url.rstrip("/") if public_url else None
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
            client = client_identity(environ, self.settings)
            origin = RequestOrigin(
                address=environ.get("REMOTE_ADDR"),
                structure_id=client.structure_id if client is not None else None,
            )
            environ["xds.client"] = client
            with requests_from(origin):
                response = self._route(environ, path, method)
            status, patient = response.status, response.patient or "-"
            start_response(_status_line(status), response.headers)
            return _logged(response.body, environ, request_id, status, patient, started)
        except FhirError as exc:
            status = exc.status
            body, headers = self._render(environ, exc.outcome())
            if exc.status == 401:
                headers.append(("WWW-Authenticate", 'Bearer realm="xds-registry"'))
            start_response(_status_line(exc.status), headers)
            log.info("request %s refused (%d): %s", request_id, exc.status, exc.message)
            return _logged([body], environ, request_id, status, patient, started)
        except Exception:
            log.exception("request %s failed", request_id)
            body, headers = self._render(
                environ,
                operation_outcome(f"internal error (request {request_id})", code="exception"),
            )
            start_response(_status_line(500), headers)
            return _logged([body], environ, request_id, 500, patient, started)

    # --- routing ---------------------------------------------------------------------------

    def _route(self, environ: dict[str, Any], path: str, method: str) -> _Response:
        if path.startswith(self.document_path + "/"):
            if method not in ("GET", "HEAD"):
                raise FhirError(405, f"{method} is not allowed on a document", code="not-supported")
            return self._retrieve(
                environ, path[len(self.document_path) + 1 :], head=method == "HEAD"
            )
        rest = path[len(self.fhir_path) :].strip("/")
        parts = rest.split("/") if rest else []
        if not parts and method == "POST":
            return self._provide(environ)
        if parts == ["metadata"] and method == "GET":
            return self._resource(environ, self._capability_statement(environ))
        if parts and parts[0] == "Patient":
            searching = parts[1:] == ["_search"] and method == "POST"
            if (len(parts) == 1 and method == "GET") or searching:
                return self._patient_record(environ, self._params(environ, method))
            raise FhirError(
                405, "Patient answers the record existence search only", code="not-supported"
            )
        if len(parts) >= 1 and parts[0] in ("DocumentReference", "List"):
            kind = parts[0]
            searching = parts[1:] == ["_search"] and method == "POST"
            if (len(parts) == 1 and method == "GET") or searching:
                return self._search(environ, kind, self._params(environ, method))
            if len(parts) == 2 and method == "GET":
                return self._read(environ, kind, parts[1])
            if kind == "DocumentReference" and method == "POST" and len(parts) == 1:
                return self._simplified_publish(environ)
            if kind == "DocumentReference" and method == "PATCH" and len(parts) <= 2:
                return self._patch(environ, parts[1] if len(parts) == 2 else None)
            raise FhirError(405, f"{method} {path} is not supported here", code="not-supported")
        raise FhirError(404, f"no FHIR endpoint at {path}", code="not-found")

    def _requester(self, environ: dict[str, Any], patient_id: str | None) -> Requester | None:
        environ["xds.requester"] = requester = requester_of(
            environ,
            settings=self.settings,
            verifier=self.verifier,
            client=environ.get("xds.client"),
            patient_id=patient_id,
            audience=(self._base(environ) + self.fhir_path, self._base(environ)),
        )
        return requester

    def _params(self, environ: dict[str, Any], method: str) -> dict[str, list[str]]:
        params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if method == "POST":
            media = _media(environ)
            if media != "application/x-www-form-urlencoded":
                raise FhirError(
                    415, "a _search body is application/x-www-form-urlencoded", code="invalid"
                )
            length = _content_length(environ)
            if length is None:
                raise FhirError(400, "unreadable Content-Length", code="invalid")
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
        patient = getattr(search.query, "patient_id", None) or search.patient_id
        requester = self._requester(environ, patient)
        if isinstance(search.query, FindDocumentsQuery | FindDocumentsByReferenceIdQuery):
            total, page = self._document_page(search, asked, requester)
        else:
            objects = self._run(search.query, kind, asked, requester)
            if search.archived_only:  # only documents are archived
                objects = []
            if kind == "DocumentReference":
                objects = self._kept(objects, search)
            objects.sort(key=_newest_first)
            total = len(objects)
            page = objects[search.page.offset : search.page.offset + search.page.count]
        base = self._base(environ)
        resources = self._resources(base, page, kind, asked, requester)
        entries = [
            {
                "fullUrl": f"{base}{self.fhir_path}/{kind}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
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
        return self._resource(environ, bundle, patient=patient)

    def _document_page(
        self, search: Search, asked: str, requester: Requester | None
    ) -> tuple[int, list[Any]]:
        """FindDocuments, a page of it. Up to `ONE_STEP` matches, one LeafClass query; beyond,
        two steps: the matching entryUUIDs (ObjectRef, no metadata read), then the metadata
        of this page only (GetDocuments), so that a patient with thousands of documents
        costs a page's worth. Pages are in entryUUID order, stable from one request to the
        next; each page is shown newest first. The audit event of the two steps is the
        second's, naming the documents disclosed (the first's when there is nothing to
        show)."""
        small = self.registry.query(
            StoredQueryRequest(search.query),
            requester=requester,
            transaction=AuditTransaction.FIND_DOCUMENT_REFERENCES,
            asked=asked,
            max_results=ONE_STEP,
        )
        too_many = any(e.code is ErrorCode.XDSTooManyResults for e in small.response.errors)
        if not too_many:  # most patients: one query reads them all
            self._check(small)
            matched = sorted(small.metadata.documents if small.metadata else (), key=_by_id)
            page = matched[search.page.offset : search.page.offset + search.page.count]
            return len(matched), sorted(page, key=_newest_first)
        first = self.registry.query(
            StoredQueryRequest(search.query, return_type=ReturnType.OBJECT_REF),
            requester=requester,
            transaction=AuditTransaction.FIND_DOCUMENT_REFERENCES,
            asked=asked,
            audit_success=False,
            max_results=MAX_MATCHES,  # ids only: the registry's cap applies to each page
        )
        self._check(first)
        ids = sorted(first.ids)  # the same order as _by_id
        page_ids = ids[search.page.offset : search.page.offset + search.page.count]
        if not page_ids:
            self._check(
                self.registry.query(
                    StoredQueryRequest(search.query, return_type=ReturnType.OBJECT_REF),
                    requester=requester,
                    transaction=AuditTransaction.FIND_DOCUMENT_REFERENCES,
                    asked=asked,
                )
            )
            return len(ids), []
        found = self._run(
            GetDocumentsQuery(uuids=tuple(page_ids)), "DocumentReference", asked, requester
        )
        return len(ids), sorted(found, key=_newest_first)

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
        who = self._requester(environ, None)
        if kind == "DocumentReference":
            found = self._run(GetDocumentsQuery(uuids=(entry_uuid,)), kind, asked, who)
        else:
            by_set = GetSubmissionSetAndContentsQuery(uuid=entry_uuid)
            found = self._run(GetFoldersQuery(uuids=(entry_uuid,)), kind, asked, who) or [
                o for o in self._run(by_set, kind, asked, who) if isinstance(o, SubmissionSet)
            ]
        if not found:
            raise FhirError(404, f"{kind}/{resource} is not known", code="not-found")
        obj = found[0]
        (found_resource,) = self._resources(base, [obj], kind, asked, who)
        return self._resource(environ, found_resource, patient=obj.patient_id)

    def _run(
        self,
        query: Any,
        kind: str,
        asked: str,
        requester: Requester | None,
        *,
        audit: bool = True,
    ) -> list[Any]:
        """The objects the stored query answers, audited as the MHD search that asked
        (unless `audit` is False: a step whose disclosure another step records)."""
        transaction = (
            AuditTransaction.FIND_DOCUMENT_REFERENCES
            if kind == "DocumentReference"
            else AuditTransaction.FIND_DOCUMENT_LISTS
        )
        result = self.registry.query(
            StoredQueryRequest(query),
            requester=requester,
            transaction=transaction,
            asked=asked,
            audit_success=audit,
            max_results=None if audit else MAX_MATCHES,
        )
        self._check(result)
        metadata = result.metadata
        if metadata is None:
            return []
        return [
            *metadata.documents,
            *metadata.submission_sets,
            *metadata.folders,
            *metadata.associations,
        ]

    def _check(self, result: Any) -> None:
        """A failed query as the FHIR error it means."""
        if result.response.status is ResponseStatus.FAILURE:
            error = result.response.errors[0]
            status = {
                ErrorCode.XDSTooManyResults: 400,
                ErrorCode.XDSRegistryBusy: 503,
                ErrorCode.LocalPolicyRestrictionError: 403,
            }.get(error.code, 400)
            code = "too-costly" if status == 400 else "transient" if status == 503 else "forbidden"
            raise FhirError(status, error.message, code=code, xds_code=error.code.value)

    def _resources(
        self,
        base: str,
        objects: Sequence[DocumentEntry | SubmissionSet | Folder],
        kind: str,
        asked: str,
        requester: Requester | None,
    ) -> list[dict[str, Any]]:
        """The resources of a page, with what their associations say: a DocumentReference's
        relatesTo, a List's entries. One GetAssociations for the page, under the same policy
        (an association touching a document the requester may not see is not answered)."""
        if not objects:
            return []
        links = self._run(
            GetAssociationsQuery(uuids=tuple(o.entry_uuid for o in objects)),
            kind,
            asked,
            requester,
            audit=False,
        )
        outgoing: dict[str, list[Association]] = {}
        for link in links:
            if isinstance(link, Association):
                outgoing.setdefault(link.source, []).append(link)
        if kind == "DocumentReference":
            return [
                document_reference(
                    o,
                    self._retrieve_url(base, o),
                    [
                        (RELATES_TO[a.association_type], a.target)
                        for a in outgoing.get(o.entry_uuid, ())
                        if a.association_type in RELATES_TO
                    ],
                )
                for o in objects
                if isinstance(o, DocumentEntry)
            ]
        held = {
            o.entry_uuid: [
                a.target
                for a in outgoing.get(o.entry_uuid, ())
                if a.association_type == AssociationType.HAS_MEMBER.value
            ]
            for o in objects
        }
        targets = tuple(dict.fromkeys(t for members in held.values() for t in members))
        kinds = dict.fromkeys(
            self._ids(GetDocumentsQuery(uuids=targets), asked, requester), "DocumentReference"
        )
        rest = tuple(t for t in targets if t not in kinds)
        if rest:
            kinds.update(
                dict.fromkeys(self._ids(GetFoldersQuery(uuids=rest), asked, requester), "List")
            )
        return [
            list_of(o, [(kinds[t], t) for t in held[o.entry_uuid] if t in kinds])
            for o in objects
            if isinstance(o, SubmissionSet | Folder)
        ]

    def _ids(self, query: Any, asked: str, requester: Requester | None) -> list[str]:
        """The entryUUIDs a query answers (ObjectRef), unaudited: a step of a List search."""
        if not getattr(query, "uuids", None):
            return []
        result = self.registry.query(
            StoredQueryRequest(query, return_type=ReturnType.OBJECT_REF),
            requester=requester,
            transaction=AuditTransaction.FIND_DOCUMENT_LISTS,
            asked=asked,
            audit_success=False,
            max_results=MAX_MATCHES,
        )
        self._check(result)
        return list(result.ids)

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

    # --- the PDSm metadata update -------------------------------------------------------------

    def _patch(self, environ: dict[str, Any], resource: str | None) -> _Response:
        """PATCH of a DocumentReference (by id, or conditional on its identifier): ITI-57."""
        requester = self._requester(environ, None)
        if resource is not None:
            query: Any = GetDocumentsQuery(uuids=(f"urn:uuid:{resource}",))
            asked = f"_id={resource}"
        else:
            params = parse_qs(environ.get("QUERY_STRING", ""))
            identifiers = [v for raw in params.get("identifier", []) for v in raw.split(",") if v]
            if len(identifiers) != 1:
                raise FhirError(400, "a conditional PATCH names one identifier", code="invalid")
            try:  # as ITI-67's identifier parameter reads it (OID, OID^extension, UUID)
                uuids, unique_ids = document_identifiers(identifiers)
            except SearchError as exc:
                raise FhirError(400, str(exc), code="invalid") from None
            query = GetDocumentsQuery(uuids=tuple(uuids), unique_ids=tuple(unique_ids))
            asked = urlencode({"identifier": identifiers[0]})
        found = self._run(query, "DocumentReference", asked, requester)
        entries = [d for d in found if isinstance(d, DocumentEntry)]
        if not entries:
            raise FhirError(404, "no such DocumentReference", code="not-found")
        entry = max(entries, key=_version)
        base = self._base(environ)
        (before,) = self._resources(base, [entry], "DocumentReference", asked, requester)
        media = _media(environ)
        length = _content_length(environ) or 0
        if length <= 0 or length > MAX_FORM_BYTES:
            raise FhirError(400, "a PATCH needs a body (64 KiB at most)", code="invalid")
        change = change_of(before, patched(before, environ["wsgi.input"].read(length), media))
        source = UpdateSource(
            f"2.25.{uuid.uuid4().int}",
            self.repository.repository_unique_id if self.repository else "2.25.0",
            now_dtm(),
        )
        if change.status is not None:
            metadata = status_change(entry, change.status, source)
        else:
            metadata = new_version(entry, source, confidentiality_codes=change.labels)
        response = self.registry.update(metadata, requester=requester)
        if response.status is not ResponseStatus.SUCCESS:
            raise _refused(response.errors, 422, "business-rule")
        lid = entry.logical_id or entry.entry_uuid
        versions = self._run(
            GetDocumentsQuery(logical_ids=(lid,)), "DocumentReference", asked, requester
        )
        latest = [d for d in versions if isinstance(d, DocumentEntry)] or [entry]
        now = max(latest, key=_version)
        (after,) = self._resources(base, [now], "DocumentReference", asked, requester)
        return self._resource(environ, after, patient=now.patient_id)

    # --- the DMP's record check (PDSm4DMP TD0.2) -----------------------------------------------

    def _patient_record(self, environ: dict[str, Any], params: dict[str, list[str]]) -> _Response:
        """``Patient?identifier=urn:oid:<OID>|<INS>``: the patient when a record exists,
        `active` when it is open; no entry when the patient has no record."""
        values = [v for raw in params.get("identifier", []) for v in raw.split(",") if v]
        if len(values) != 1 or "|" not in values[0]:
            raise FhirError(
                400, "identifier=urn:oid:<OID>|<value> is required, once", code="invalid"
            )
        system, _, value = values[0].partition("|")
        oid = scheme_of(system)
        if not value or not is_oid(oid):
            raise FhirError(
                400, f"identifier {values[0]!r}: the system is urn:oid:<OID>", code="invalid"
            )
        patient = f"{value}^^^&{oid}&ISO"
        requester = self._requester(environ, patient)
        state = self.registry.records.state(patient)
        event = event_for("records:RecordStatus", Outcome.SUCCESS, requester, patient_id=patient)
        if not self.registry.record_event(event):
            raise FhirError(503, "the access could not be traced; retry", code="transient")
        base = self._base(environ)
        entries = []
        if state.status is not RecordStatus.NONE:
            resource_id_ = "".join(c if c.isalnum() or c in "-." else "-" for c in value)[:64]
            entries.append(
                {
                    "fullUrl": f"{base}{self.fhir_path}/Patient/{resource_id_}",
                    "resource": {
                        "resourceType": "Patient",
                        "id": resource_id_,
                        "identifier": [{"system": f"urn:oid:{oid}", "value": value}],
                        "active": state.is_open,
                    },
                    "search": {"mode": "match"},
                }
            )
        query = urlencode({"identifier": values[0]})
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "searchset",
            "total": len(entries),
            "link": [{"relation": "self", "url": f"{base}{self.fhir_path}/Patient?{query}"}],
        }
        if entries:
            bundle["entry"] = entries
        return self._resource(environ, bundle, patient=patient)

    # --- ITI-65 ------------------------------------------------------------------------------

    def _provide(self, environ: dict[str, Any]) -> _Response:
        """ITI-65: the transaction Bundle becomes one ITI-41 on the co-located repository."""
        body, media = self._upload(environ, "ITI-65", "Bundle")
        published = publish_request(read_bundle(body, media))
        response = self._publish(
            environ, published, refusal=400, transaction=AuditTransaction.PROVIDE_BUNDLE
        )
        entries = []
        for status_line, location in published.locations:
            answer: dict[str, Any] = {"status": status_line}
            if location:
                answer["location"] = location
            entries.append({"response": answer})
        warnings = [e for e in response.errors if e.severity is not Severity.ERROR]
        if warnings and entries:
            entries[0]["response"]["outcome"] = {
                "resourceType": "OperationOutcome",
                "issue": [
                    operation_outcome(w.message, severity="warning", xds_code=w.code.value)[
                        "issue"
                    ][0]
                    for w in warnings
                ],
            }
        bundle = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "meta": {"profile": [f"{_DEFINITIONS}/IHE.MHD.ProvideDocumentBundleResponse"]},
            "type": "transaction-response",
            "entry": entries,
        }
        patient = published.metadata.submission_sets[0].patient_id
        return self._resource(environ, bundle, patient=patient)

    def _simplified_publish(self, environ: dict[str, Any]) -> _Response:
        """ITI-105: one DocumentReference with its document inline, published as the ITI-65
        Bundle it stands for (`mhd.simplified`); 201 with the created DocumentReference."""
        body, media = self._upload(environ, "ITI-105", "DocumentReference")
        reference = read_resource(body, media, "DocumentReference")
        assert self.repository is not None  # _upload refused otherwise
        bundle = simplified_bundle(reference, self.repository.repository_unique_id)
        try:
            published = publish_request(bundle)
        except FhirError as exc:  # metadata a resource cannot carry: 422 to a create
            if exc.status == 400:
                exc.status = 422
            raise
        self._publish(
            environ, published, refusal=422, transaction=AuditTransaction.SIMPLIFIED_PUBLISH
        )
        entry = published.metadata.documents[0]
        base = self._base(environ)
        requester = environ.get("xds.requester")
        asked = f"_id={resource_id(entry.entry_uuid)}"
        found = self._run(
            GetDocumentsQuery(uuids=(entry.entry_uuid,)),
            "DocumentReference",
            asked,
            requester,
            audit=False,
        )
        (created,) = self._resources(base, found or [entry], "DocumentReference", asked, requester)
        return self._resource(
            environ,
            created,
            patient=entry.patient_id,
            status=201,
            headers=[("Location", f"{base}{self.fhir_path}/DocumentReference/{created['id']}")],
        )

    def _upload(self, environ: dict[str, Any], transaction: str, kind: str) -> tuple[bytes, str]:
        """The body of a publication (a Bundle, a DocumentReference), with its media type."""
        if self.repository is None:
            raise FhirError(
                501, "no repository is served here to store documents", code="not-supported"
            )
        media = _media(environ)
        if media not in (FHIR_JSON, FHIR_XML, "application/json", "application/xml", "text/xml"):
            raise FhirError(
                415,
                f"{transaction} takes {FHIR_JSON} or {FHIR_XML}, not {media or '(none)'}",
                code="invalid",
            )
        length = _content_length(environ, missing=-1)
        if length is None or length < 0:
            raise FhirError(411, f"a {kind} needs a Content-Length", code="invalid")
        if length > MAX_BUNDLE_BYTES:
            raise FhirError(413, f"{kind} over {MAX_BUNDLE_BYTES} bytes", code="too-costly")
        return environ["wsgi.input"].read(length), media

    def _publish(
        self,
        environ: dict[str, Any],
        published: Published,
        *,
        refusal: int,
        transaction: AuditTransaction,
    ) -> Any:
        """One ITI-41 on the co-located repository, audited as `transaction` (ITI-65 or
        ITI-105); a refusal answers `refusal` with one OperationOutcome issue per XDS error,
        and leaves nothing."""
        assert self.repository is not None
        streams = {key: io.BytesIO(data) for key, data in published.documents.items()}
        patient = published.metadata.submission_sets[0].patient_id
        requester = self._requester(environ, patient)
        with audited_as({AuditTransaction.REGISTER: transaction}):
            response = self.repository.provide_and_register(
                published.metadata, streams, requester=requester
            )
        errors = [e for e in response.errors if e.severity is Severity.ERROR]
        if response.status is ResponseStatus.FAILURE or errors:
            raise _refused(errors or response.errors, refusal, "invalid")
        return response

    # --- ITI-68 ------------------------------------------------------------------------------

    def _retrieve(self, environ: dict[str, Any], rest: str, *, head: bool) -> _Response:
        requester = self._requester(environ, None)  # who asks, before anything is said
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
        consultation = None
        if requester is not None:
            consultation = self.registry.consultation(requester)
            if not consultation.decision.allowed:
                self.registry.audit_retrieve(
                    requester,
                    consultation,
                    [unique_id],
                    success=False,
                    transaction=AuditTransaction.RETRIEVE_DOCUMENT,
                )
                raise FhirError(
                    403,
                    consultation.decision.reason,
                    code="forbidden",
                    xds_code=ErrorCode.LocalPolicyRestrictionError.value,
                )
        request = DocumentRequest(repository_id, unique_id)
        if consultation is None:
            result = self.repository.retrieve([request])
        else:
            result = self.repository.retrieve([request], visible=consultation.visible)
        found = result.documents[0] if result.documents else None
        traced = self.registry.audit_retrieve(
            requester,
            consultation,
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
        self,
        environ: dict[str, Any],
        resource: dict[str, Any],
        *,
        patient: str | None = None,
        status: int = 200,
        headers: Sequence[tuple[str, str]] = (),
    ) -> _Response:
        body, rendered = self._render(environ, resource)
        return _Response(status, [*rendered, *headers], [body], patient)

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


_STATUS_OF_CODE = {
    ErrorCode.LocalPolicyRestrictionError: (403, "forbidden"),
    ErrorCode.XDSRegistryBusy: (503, "transient"),
    ErrorCode.XDSRepositoryBusy: (503, "transient"),
}


def _refused(errors: Sequence[XDSError], status: int, code: str) -> FhirError:
    """The FHIR error of a refused ITI-41 or ITI-57: the first error's HTTP status (403 for
    the policy, 503 when busy, else `status`), every error an issue with its XDS code."""
    first, *rest = errors
    status, code = _STATUS_OF_CODE.get(first.code, (status, code))
    more = tuple((e.message, e.code.value) for e in rest)
    return FhirError(status, first.message, code=code, xds_code=first.code.value, more=more)


def _media(environ: dict[str, Any]) -> str:
    """The request body's media type, lower case, without its parameters."""
    return (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()


def _content_length(environ: dict[str, Any], *, missing: int = 0) -> int | None:
    """The declared body length (`missing` when there is none); None when unreadable."""
    try:
        return int(environ.get("CONTENT_LENGTH") or missing)
    except ValueError:
        return None


def _by_id(obj: Any) -> str:
    return str(obj.entry_uuid)


def _version(doc: DocumentEntry) -> int:
    version = doc.version or ""
    return int(version) if version.isdigit() else 1


def _warning(message: str, xds_code: str) -> dict[str, Any]:
    return operation_outcome(message, severity="warning", xds_code=xds_code)["issue"][0]


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
    model = model_class(resource["resourceType"]).model_validate(resource)
    xml: bytes = model.model_dump_xml()  # typed Any here: it is bytes
    return xml


def _status_line(status: int) -> str:
    from http import HTTPStatus

    return f"{status} {HTTPStatus(status).phrase}"


def _logged(
    body: Iterable[bytes],
    environ: dict[str, Any],
    request_id: str,
    status: int,
    patient: str,
    started: float,
) -> Iterator[bytes]:
    """Pass the body through, then write the access line: ids and the outcome, as SOAP's."""
    try:
        yield from body
    finally:
        if patient != "-":
            environ["xds.patient"] = patient  # for the console's capture (`web.capture`)
        requester = environ.get("xds.requester")
        client = environ.get("xds.client")
        structure = (client.structure_id if client is not None else None) or (
            requester.structure_id if requester is not None else None
        )
        access_log.info(
            "request_id=%s action=%s patient=%s professional=%s structure=%s status=%d"
            " duration_ms=%.1f",
            request_id,
            f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '')}",
            patient,
            requester.professional_id if requester is not None else "-",
            structure or "-",
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
