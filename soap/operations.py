"""The dispatch table: SOAP action → operation calling the registry or repository actor.

Metadata-level problems become RegistryResponse errors here (MetadataRejected → Failure);
what is wrong with the message itself (a missing MIME part, bad base64) is a SOAP fault.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import IO, TYPE_CHECKING, BinaryIO, Protocol, cast

from lxml import etree

from ebrim import xdsb
from ebrim.errors import ErrorCode, MetadataRejected, QueryRejected, Transaction, XDSError
from ebrim.model import Metadata, RegistryResponse
from ebrim.parse import parse_submit_objects_request
from ebrim.peek import query_patient_id, submission_patient_id
from ebrim.remove import parse_remove_objects_request
from ebrim.render import render_adhoc_query_response, render_registry_response
from ebrim.storedquery import StoredQueryRequest, parse_adhoc_query_request
from ebrim.vocabulary import ResponseStatus, ReturnType
from soap.faults import sender
from soap.mtom import Attachment, MtomMessage, new_content_id
from soap.records_xml import RecordAction, patient_of_request

if TYPE_CHECKING:
    from pki.assertion import Requester
    from registry.actor import Consultation
    from registry.queries import QueryResult
    from repository.api import DocumentRepository, RetrieveResult
    from soap.tls import ClientIdentity

REGISTER = "urn:ihe:iti:2007:RegisterDocumentSet-b"
STORED_QUERY = "urn:ihe:iti:2007:RegistryStoredQuery"
PROVIDE_AND_REGISTER = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
RETRIEVE = "urn:ihe:iti:2007:RetrieveDocumentSet"
UPDATE = "urn:ihe:iti:2010:UpdateDocumentSet"
DELETE = "urn:ihe:iti:2010:DeleteDocumentSet"
REMOVE_DOCUMENTS = "urn:ihe:iti:2017:RemoveDocuments"


# The patient each transaction's body names, which a signed assertion's must equal
# (`soap.security` on the server, `soap.client.security` on the client). ITI-43, ITI-62
# and ITI-86 name none; ITI-18 only in its Find*/GetAll queries.
PATIENT_OF: dict[str, Callable[[etree._Element], str | None]] = {
    PROVIDE_AND_REGISTER: submission_patient_id,
    REGISTER: submission_patient_id,
    UPDATE: submission_patient_id,
    STORED_QUERY: query_patient_id,
    **{action.soap_action: patient_of_request for action in RecordAction},
}


log = logging.getLogger(__name__)


class ConsultationGate(Protocol):
    """What ITI-43 needs of a co-located `registry.Registry`: the access decision and audit."""

    def consultation(self, requester: Requester) -> Consultation: ...

    def audit_retrieve(
        self,
        requester: Requester | None,
        consultation: Consultation | None,
        unique_ids: Sequence[str],
        *,
        success: bool,
    ) -> bool: ...


class RemovalAudit(Protocol):
    """What ITI-86 needs of a co-located `registry.Registry`: its audit trail."""

    def audit_removal(
        self,
        requester: Requester | None,
        unique_ids: Sequence[str],
        *,
        success: bool,
        detail: str | None = None,
    ) -> bool: ...


class RepositoryAuditTrail(RemovalAudit, Protocol):
    """What a repository served without its registry audits with (`registry.trail`)."""

    def audit_provide(
        self,
        requester: Requester | None,
        metadata: Metadata,
        *,
        success: bool,
        detail: str | None = None,
    ) -> bool: ...

    def audit_retrieve(
        self,
        requester: Requester | None,
        consultation: Consultation | None,
        unique_ids: Sequence[str],
        *,
        success: bool,
    ) -> bool: ...


class RemoteDecision(Protocol):
    """How a repository serving alone asks its registry who may read (`RemoteRegistry`)."""

    def visible_documents(
        self, requester: Requester, unique_ids: Sequence[str]
    ) -> tuple[bool, str, set[str]]: ...


class RegistryActor(ConsultationGate, RemovalAudit, Protocol):
    """What the wire needs of `registry.Registry`: the transactions, each told who asks."""

    def register(
        self, metadata: Metadata, *, requester: Requester | None = None
    ) -> RegistryResponse: ...

    def query(
        self, request: StoredQueryRequest, *, requester: Requester | None = None
    ) -> QueryResult: ...

    def update(
        self, metadata: Metadata, *, requester: Requester | None = None
    ) -> RegistryResponse: ...

    def delete(
        self, object_ids: Sequence[str], *, requester: Requester | None = None
    ) -> RegistryResponse: ...

    def audit_refused_query(
        self, requester: Requester | None, response: RegistryResponse, query_xml: str
    ) -> None: ...


@dataclass(frozen=True)
class Request:
    """What an operation receives: the body's element and the MTOM parts, if any.

    `client` is the establishment of the TLS client certificate, `requester` who acts as
    the verified WS-Security assertion says (None without one); the access policy reads them.
    """

    payload: etree._Element
    mtom: MtomMessage | None
    spool_threshold: int = 1024 * 1024
    requester: Requester | None = None
    client: ClientIdentity | None = None


@dataclass(frozen=True)
class Reply:
    """What an operation answers, plus what the access log wants to know."""

    payload: etree._Element
    status: str
    attachments: Sequence[Attachment] = ()
    patient_id: str | None = None


@dataclass(frozen=True)
class Operation:
    action: str
    response_action: str
    handle: Callable[[Request], Reply]
    mtom_reply: bool = False  # ITI-43 answers MTOM whatever the request was
    # The patient the request's body names, which the assertion's must equal (soap.security).
    patient_of: Callable[[etree._Element], str | None] | None = None


def registry_operations(registry: RegistryActor) -> dict[str, Operation]:
    def register(request: Request) -> Reply:
        try:
            metadata = parse_submit_objects_request(request.payload, transaction=Transaction.ITI_42)
        except MetadataRejected as exc:
            return _registry_reply(RegistryResponse.from_errors(exc.errors))
        response = registry.register(metadata, requester=request.requester)
        return _registry_reply(response, _patient(metadata))

    def query(request: Request) -> Reply:
        try:
            parsed = parse_adhoc_query_request(request.payload)
        except QueryRejected as exc:
            response = RegistryResponse.from_errors(exc.errors)
            query_xml = etree.tostring(request.payload, encoding="unicode")
            registry.audit_refused_query(request.requester, response, query_xml)
            element = render_adhoc_query_response(response, Metadata(), ReturnType.OBJECT_REF)
            return Reply(element, _short(response))
        result = registry.query(parsed, requester=request.requester)
        metadata = result.metadata or Metadata(object_refs=result.object_refs)
        element = render_adhoc_query_response(result.response, metadata, parsed.return_type)
        patient = getattr(parsed.query, "patient_id", None)
        return Reply(element, _short(result.response), patient_id=patient)

    return {
        REGISTER: Operation(
            REGISTER, f"{REGISTER}Response", register, patient_of=PATIENT_OF[REGISTER]
        ),
        STORED_QUERY: Operation(
            STORED_QUERY, f"{STORED_QUERY}Response", query, patient_of=PATIENT_OF[STORED_QUERY]
        ),
    }


def update_operations(registry: RegistryActor) -> dict[str, Operation]:
    """ITI-57 Update Document Set (its own endpoint: see `soap.wsdl` on its WSDL)."""

    def update(request: Request) -> Reply:
        try:
            metadata = parse_submit_objects_request(request.payload, transaction=Transaction.ITI_57)
        except MetadataRejected as exc:
            return _registry_reply(RegistryResponse.from_errors(exc.errors))
        response = registry.update(metadata, requester=request.requester)
        return _registry_reply(response, _patient(metadata))

    return {UPDATE: Operation(UPDATE, f"{UPDATE}Response", update, patient_of=PATIENT_OF[UPDATE])}


def delete_operations(registry: RegistryActor) -> dict[str, Operation]:
    """ITI-62 Delete Document Set (RMD)."""

    def delete(request: Request) -> Reply:
        try:
            parsed = parse_remove_objects_request(request.payload)
        except MetadataRejected as exc:
            return _registry_reply(RegistryResponse.from_errors(exc.errors))
        return _registry_reply(registry.delete(parsed.ids, requester=request.requester))

    return {DELETE: Operation(DELETE, f"{DELETE}Response", delete)}


def remove_documents_operations(
    repository: DocumentRepository, audit: RemovalAudit | None = None
) -> dict[str, Operation]:
    """ITI-86 Remove Documents (RMD); audited by the co-located registry when there is one."""

    def remove(request: Request) -> Reply:
        try:
            locators = xdsb.parse_remove_documents_request(request.payload)
        except MetadataRejected as exc:
            return _registry_reply(RegistryResponse.from_errors(exc.errors))
        response = repository.remove(locators)
        if audit is not None:
            failed = "; ".join(f"{e.code.value}: {e.message}" for e in response.errors)
            audit.audit_removal(
                request.requester,
                [w.document_unique_id for w in locators],
                success=response.status is ResponseStatus.SUCCESS,
                detail=failed or None,
            )
        return _registry_reply(response)

    return {REMOVE_DOCUMENTS: Operation(REMOVE_DOCUMENTS, f"{REMOVE_DOCUMENTS}Response", remove)}


def repository_operations(
    repository: DocumentRepository,
    gate: ConsultationGate | None = None,
    *,
    trail: RepositoryAuditTrail | None = None,
    remote: RemoteDecision | None = None,
) -> dict[str, Operation]:
    """ITI-41 and ITI-43. `gate` is the co-located registry that decides who may read what.

    With a requester (a verified assertion), ITI-43 asks `gate.consultation` first: a refusal
    answers Failure with LocalPolicyRestrictionError, and a document the requester may not
    see answers as an unknown one; the retrieve is then audited. A repository without a
    co-located registry cannot decide, so it refuses every retrieve that names a requester
    (with `--security required`, all of them): access control needs the registry's records.
    """

    def provide_and_register(request: Request) -> Reply:
        try:
            parsed = xdsb.parse_provide_and_register_request(request.payload)
        except MetadataRejected as exc:
            return _registry_reply(RegistryResponse.from_errors(exc.errors))
        streams = _document_streams(parsed.documents, request)
        try:
            if request.requester is None:
                response = repository.provide_and_register(parsed.metadata, streams)
            else:
                response = repository.provide_and_register(
                    parsed.metadata, streams, requester=request.requester
                )
        finally:
            for stream in streams.values():
                stream.close()
        if gate is None and trail is not None:
            failed = "; ".join(f"{e.code.value}: {e.message}" for e in response.errors)
            trail.audit_provide(
                request.requester,
                parsed.metadata,
                success=response.status is ResponseStatus.SUCCESS,
                detail=failed or None,
            )
        return _registry_reply(response, _patient(parsed.metadata))

    def retrieve(request: Request) -> Reply:
        try:
            locators = xdsb.parse_retrieve_document_set_request(request.payload)
        except MetadataRejected as exc:
            response = RegistryResponse.from_errors(exc.errors)
            return Reply(xdsb.render_retrieve_document_set_response(response, []), _short(response))
        requester = request.requester
        consultation = None
        if requester is not None and gate is None and remote is not None:
            return _retrieve_decided_remotely(requester, locators, remote)
        if requester is not None:
            if gate is None:
                if trail is not None:
                    unique_ids = [w.document_unique_id for w in locators]
                    trail.audit_retrieve(requester, None, unique_ids, success=False)
                return _retrieve_refused(
                    "this repository has no co-located registry to decide who may read"
                    " its documents: retrieves naming a requester are refused"
                )
            consultation = gate.consultation(requester)
            if not consultation.decision.allowed:
                unique_ids = [w.document_unique_id for w in locators]
                gate.audit_retrieve(requester, consultation, unique_ids, success=False)
                return _retrieve_refused(consultation.decision.reason)
        if consultation is None:
            result = repository.retrieve(locators)
        else:
            result = repository.retrieve(locators, visible=consultation.visible)
        if gate is None and trail is not None:
            returned = [d.request.document_unique_id for d in result.documents]
            success = result.response.status is not ResponseStatus.FAILURE
            trail.audit_retrieve(
                None, None, returned or [w.document_unique_id for w in locators], success=success
            )
        if gate is not None:
            returned = [d.request.document_unique_id for d in result.documents]
            success = result.response.status is not ResponseStatus.FAILURE
            unique_ids = returned or [w.document_unique_id for w in locators]
            traced = gate.audit_retrieve(requester, consultation, unique_ids, success=success)
            if not traced and requester is not None:
                return _retrieve_refused(
                    "the access could not be traced; retry", ErrorCode.XDSRegistryBusy
                )
        return _retrieved(result)

    def _retrieve_decided_remotely(
        requester: Requester, locators: Sequence[xdsb.DocumentLocator], remote: RemoteDecision
    ) -> Reply:
        """ITI-43 by a repository alone: the registry decides (one ITI-18 as the requester)."""
        asked = [w.document_unique_id for w in locators]
        try:
            allowed, reason, visible = remote.visible_documents(requester, asked)
        except Exception as exc:  # the registry unreachable or failing: refuse, never guess
            log.warning("ITI-43: the registry could not decide: %s", exc)
            allowed, reason, visible = False, "the registry could not be asked; retry", set()
        if not allowed:
            if trail is not None:
                trail.audit_retrieve(requester, None, asked, success=False)
            return _retrieve_refused(reason)
        result = repository.retrieve(locators, visible=visible.__contains__)
        returned = [d.request.document_unique_id for d in result.documents]
        if trail is not None:
            success = result.response.status is not ResponseStatus.FAILURE
            traced = trail.audit_retrieve(requester, None, returned or asked, success=success)
            if not traced:
                return _retrieve_refused(
                    "the access could not be traced; retry", ErrorCode.XDSRegistryBusy
                )
        return _retrieved(result)

    return {
        PROVIDE_AND_REGISTER: Operation(
            PROVIDE_AND_REGISTER,
            f"{PROVIDE_AND_REGISTER}Response",
            provide_and_register,
            patient_of=PATIENT_OF[PROVIDE_AND_REGISTER],
        ),
        RETRIEVE: Operation(RETRIEVE, f"{RETRIEVE}Response", retrieve, mtom_reply=True),
    }


def _document_streams(
    documents: Sequence[xdsb.DocumentContent], request: Request
) -> dict[str, BinaryIO]:
    """Each document's bytes: its MIME part as is, or its inline base64 decoded to a spool."""
    streams: dict[str, BinaryIO] = {}
    for content in documents:
        if content.content_id is not None:
            part = request.mtom.attachment(content.content_id) if request.mtom else None
            if part is None:
                for stream in streams.values():
                    stream.close()
                raise sender(
                    f"xop:Include {content.content_id} of document {content.document_id}"
                    " names no MIME part of the message"
                )
            streams[content.document_id] = cast(BinaryIO, part.body)
        else:
            streams[content.document_id] = _decode_inline(content, request.spool_threshold)
    return streams


def _decode_inline(content: xdsb.DocumentContent, threshold: int) -> BinaryIO:
    text = "".join((content.inline or "").split())
    spool: IO[bytes] = SpooledTemporaryFile(max_size=threshold)  # noqa: SIM115
    step = 4 * 64 * 1024  # a multiple of 4 base64 characters decodes on its own
    try:
        for start in range(0, len(text), step):
            spool.write(base64.b64decode(text[start : start + step], validate=True))
    except (binascii.Error, ValueError):
        spool.close()
        raise sender(f"document {content.document_id}: invalid inline base64") from None
    spool.seek(0)
    return cast(BinaryIO, spool)


def _retrieved(result: RetrieveResult) -> Reply:
    """The ITI-43 answer: the response and each document as an MTOM part."""
    entries, attachments = [], []
    for document in result.documents:
        content_id = new_content_id()
        entries.append((document.request, document.mime_type, content_id))
        attachments.append(Attachment(content_id, document.mime_type, document.open))
    element = xdsb.render_retrieve_document_set_response(result.response, entries)
    return Reply(element, _short(result.response), attachments)


def _retrieve_refused(
    reason: str, code: ErrorCode = ErrorCode.LocalPolicyRestrictionError
) -> Reply:
    response = RegistryResponse.from_errors([XDSError(code, reason)])
    return Reply(xdsb.render_retrieve_document_set_response(response, []), _short(response))


def _registry_reply(response: RegistryResponse, patient: str | None = None) -> Reply:
    return Reply(render_registry_response(response), _short(response), patient_id=patient)


def _patient(metadata: Metadata) -> str | None:
    submission_set = metadata.submission_set
    return submission_set.patient_id if submission_set is not None else None


def _short(response: RegistryResponse) -> str:
    return response.status.value.rsplit(":", 1)[-1]
