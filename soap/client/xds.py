"""The XDS.b transactions from the client side: ITI-41, ITI-42, ITI-18, ITI-43, ITI-57, ITI-62,
ITI-86.

ITI-41 and ITI-43 carry documents as MTOM/XOP, which zeep cannot send (its issues #599,
#674, #1344): they use the project's own MTOM writer and reader. ITI-18 goes through zeep
driven by the registry's served WSDL (`soap.client.query`). ITI-42 uses our own envelope
too: a repository forwards metadata it has just validated, and a round trip through zeep's
object model would parse and re-serialise every slot for nothing (and risk dropping what
zeep's typed view does not keep, such as foreign attributes). The lifecycle transactions
(ITI-57, ITI-62, ITI-86) use our own envelope for the same reason, each sent to its own
endpoint under the registry or repository address (`soap.SoapSettings` names them).
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from ebrim import xdsb
from ebrim.errors import ErrorCode, MetadataRejected
from ebrim.model import Metadata, RegistryResponse
from ebrim.parse import parse_adhoc_query_response, parse_registry_response
from ebrim.remove import RemoveObjectsRequest, render_remove_objects_request
from ebrim.render import render_submit_objects_request
from ebrim.storedquery import GetDocumentsQuery, StoredQueryRequest
from ebrim.storedquery.render import render_adhoc_query_request
from ebrim.vocabulary import ResponseStatus
from pki.assertion import Requester
from soap.client.errors import ClientError
from soap.client.exchange import DEFAULT_TIMEOUT, Answer, SoapExchange
from soap.client.query import ZeepStoredQuery
from soap.client.records import RECORDS_PATH, RecordsClient
from soap.client.security import AssertionSource, ForwardingSigner
from soap.mtom import Attachment, new_content_id
from soap.operations import (
    DELETE,
    PROVIDE_AND_REGISTER,
    REGISTER,
    REMOVE_DOCUMENTS,
    RETRIEVE,
    STORED_QUERY,
    UPDATE,
)

DEFAULT_URL = "http://127.0.0.1:8080"
REGISTRY_PATH = "/xds/registry"
REPOSITORY_PATH = "/xds/repository"
UPDATE_SUFFIX = "/update"  # ITI-57, under the registry endpoint
DELETE_SUFFIX = "/delete"  # ITI-62, under the registry endpoint
REMOVE_DOCUMENTS_SUFFIX = "/remove"  # ITI-86, under the repository endpoint

DocumentSource = Path | bytes


def endpoint(url: str, path: str) -> str:
    """`url` itself when it names an endpoint, else `url` + `path` (a bare server address)."""
    parts = urlsplit(url)
    return url if parts.path.strip("/") else url.rstrip("/") + path


@dataclass(frozen=True)
class QueryAnswer:
    """An ITI-18 answer: the status and errors, and the objects (LeafClass or ObjectRef)."""

    response: RegistryResponse
    metadata: Metadata


@dataclass(frozen=True)
class RetrievedFile:
    """A document ITI-43 wrote to `path`: its locator, mime type, size and sha-1."""

    locator: xdsb.DocumentLocator
    mime_type: str
    path: Path
    size: int
    hash: str


@dataclass(frozen=True)
class RetrieveAnswer:
    response: RegistryResponse
    documents: tuple[RetrievedFile, ...]


class XdsClient:
    """A Document Source / Consumer talking to one server (or a registry and a repository)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        registry_url: str | None = None,
        repository_url: str | None = None,
        records_url: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        use_zeep: bool = True,
        cert: tuple[Path, Path] | None = None,
        verify: Path | bool = True,
        assertions: AssertionSource | None = None,
    ) -> None:
        """`cert`, `verify` and `assertions` as `SoapExchange` takes them (mutual TLS and
        the signed assertion of each request)."""
        self.registry_url = endpoint(registry_url or url, REGISTRY_PATH)
        self.repository_url = endpoint(repository_url or url, REPOSITORY_PATH)
        self.exchange = SoapExchange(
            timeout=timeout, cert=cert, verify=verify, assertions=assertions
        )
        self._zeep = ZeepStoredQuery(self.registry_url, self.exchange) if use_zeep else None
        self.records = RecordsClient(endpoint(records_url or url, RECORDS_PATH), self.exchange)
        """Record management (consent, authorisations, access history) at `/xds/records`."""

    def provide_and_register(
        self, metadata: Metadata, documents: Mapping[str, DocumentSource]
    ) -> RegistryResponse:
        """ITI-41: `documents` maps each DocumentEntry id to a file or bytes, sent as MTOM."""
        mime_types = {
            doc.entry_uuid: doc.mime_type or "application/octet-stream"
            for doc in metadata.documents
        }
        content_ids = {document_id: new_content_id() for document_id in documents}
        attachments = [
            Attachment(
                content_ids[key], mime_types.get(key, "application/octet-stream"), _opener(source)
            )
            for key, source in documents.items()
        ]
        payload = xdsb.render_provide_and_register_request(metadata, content_ids)
        answer = self.exchange.call(self.repository_url, PROVIDE_AND_REGISTER, payload, attachments)
        return _registry_response(answer)

    def register(self, metadata: Metadata) -> RegistryResponse:
        """ITI-42 Register Document Set-b (metadata only)."""
        return RemoteRegistry(self.registry_url, self.exchange).register(metadata)

    def update(self, metadata: Metadata) -> RegistryResponse:
        """ITI-57 Update Document Set: new versions, UpdateAvailabilityStatus, associations."""
        payload = render_submit_objects_request(metadata)
        answer = self.exchange.call(self.registry_url + UPDATE_SUFFIX, UPDATE, payload)
        return _registry_response(answer)

    def delete(self, object_ids: Sequence[str]) -> RegistryResponse:
        """ITI-62 Delete Document Set: remove these metadata objects (entryUUIDs), all or none."""
        payload = render_remove_objects_request(RemoveObjectsRequest(tuple(object_ids)))
        answer = self.exchange.call(self.registry_url + DELETE_SUFFIX, DELETE, payload)
        return _registry_response(answer)

    def remove_documents(self, locators: Sequence[xdsb.DocumentLocator]) -> RegistryResponse:
        """ITI-86 Remove Documents: delete these documents' bytes from their repository."""
        payload = xdsb.render_remove_documents_request(locators)
        url = self.repository_url + REMOVE_DOCUMENTS_SUFFIX
        return _registry_response(self.exchange.call(url, REMOVE_DOCUMENTS, payload))

    def query(self, request: StoredQueryRequest) -> QueryAnswer:
        """ITI-18: any stored query, through zeep unless the client was made without it."""
        if self._zeep is not None:
            answer = self._zeep(request)
        else:
            payload = render_adhoc_query_request(request)
            answer = self.exchange.call(self.registry_url, STORED_QUERY, payload)
        return _query_answer(answer)

    def retrieve(
        self,
        locators: Sequence[xdsb.DocumentLocator],
        target: Callable[[xdsb.DocumentLocator], Path],
    ) -> RetrieveAnswer:
        """ITI-43: each document returned is streamed to the file `target(locator)`."""
        payload = xdsb.render_retrieve_document_set_request(locators)
        answer = self.exchange.call(self.repository_url, RETRIEVE, payload)
        try:
            response, entries = xdsb.parse_retrieve_document_set_response(answer.payload)
            files = tuple(_write(entry, answer, target(entry.locator)) for entry in entries)
        except MetadataRejected as exc:
            raise ClientError(f"unreadable RetrieveDocumentSetResponse: {exc}") from exc
        finally:
            answer.close()
        return RetrieveAnswer(response, files)


class RemoteRegistry:
    """ITI-42 over SOAP: a `repository.api.RegistryClient` for a registry in another process."""

    def __init__(
        self,
        url: str,
        exchange: SoapExchange | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        signer: ForwardingSigner | None = None,
    ) -> None:
        """`exchange` carries the repository's TLS client certificate; `signer` makes the
        assertion of each forwarded ITI-42 (none without it)."""
        self.url = endpoint(url, REGISTRY_PATH)
        self.exchange = exchange or SoapExchange(timeout=timeout)
        self.signer = signer

    def register(
        self, metadata: Metadata, *, requester: Requester | None = None
    ) -> RegistryResponse:
        """ITI-42 to the remote registry, asserting the ITI-41's `requester` (ForwardingSigner)."""
        source = self.signer.for_requester(requester) if self.signer is not None else None
        payload = render_submit_objects_request(metadata)
        answer = self.exchange.call(self.url, REGISTER, payload, assertions=source)
        return _registry_response(answer)

    def visible_documents(
        self, requester: Requester, unique_ids: Sequence[str]
    ) -> tuple[bool, str, set[str]]:
        """Which of these documents `requester` may read, as the registry decides: one ITI-18
        GetDocuments asked as the requester (`ForwardingSigner`), its policy applied there.
        (allowed, the refusal's reason, the visible uniqueIds). Raises ClientError when the
        registry cannot be asked."""
        if self.signer is None:
            raise ClientError("no signing certificate to ask the registry as the requester")
        request = StoredQueryRequest(GetDocumentsQuery(unique_ids=tuple(unique_ids)))
        answer = self.exchange.call(
            self.url,
            STORED_QUERY,
            render_adhoc_query_request(request),
            assertions=self.signer.for_requester(requester),
        )
        found = _query_answer(answer)
        if found.response.status is ResponseStatus.FAILURE:
            errors = found.response.errors
            refusals = [e for e in errors if e.code is ErrorCode.LocalPolicyRestrictionError]
            if refusals:
                return False, refusals[0].message, set()
            raise ClientError("; ".join(f"{e.code.value}: {e.message}" for e in errors))
        return True, "", {d.unique_id for d in found.metadata.documents if d.unique_id}

    def registered_documents(self, unique_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """ITI-18 GetDocuments: uniqueId -> (hash, repositoryUniqueId) of the registered ones.

        How a repository serving alone settles the rows it left pending (`repository.reconcile`).
        """
        request = StoredQueryRequest(GetDocumentsQuery(unique_ids=tuple(unique_ids)))
        answer = self.exchange.call(self.url, STORED_QUERY, render_adhoc_query_request(request))
        found = _query_answer(answer)
        if found.response.status is not ResponseStatus.SUCCESS:
            errors = found.response.errors
            raise ClientError("; ".join(f"{e.code.value}: {e.message}" for e in errors))
        return {
            doc.unique_id: (doc.hash or "", doc.repository_unique_id or "")
            for doc in found.metadata.documents
            if doc.unique_id
        }


def _opener(source: DocumentSource) -> Callable[[], BinaryIO]:
    if isinstance(source, bytes):
        return lambda: io.BytesIO(source)
    return lambda: source.open("rb")


def _query_answer(answer: Answer) -> QueryAnswer:
    try:
        response, metadata = parse_adhoc_query_response(answer.payload)
    except MetadataRejected as exc:
        raise ClientError(f"unreadable AdhocQueryResponse: {exc}") from exc
    finally:
        answer.close()
    return QueryAnswer(response, metadata)


def _registry_response(answer: Answer) -> RegistryResponse:
    try:
        return parse_registry_response(answer.payload)
    except MetadataRejected as exc:
        raise ClientError(f"unreadable RegistryResponse: {exc}") from exc
    finally:
        answer.close()


def _write(entry: xdsb.RetrievedEntry, answer: Answer, path: Path) -> RetrievedFile:
    digest, size = hashlib.sha1(), 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        if entry.content.content_id is not None:
            part = answer.mtom.attachment(entry.content.content_id) if answer.mtom else None
            if part is None:
                raise ClientError(f"document {entry.locator.document_unique_id}: no MIME part")
            while chunk := part.body.read(64 * 1024):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        else:
            data = base64.b64decode("".join((entry.content.inline or "").split()))
            digest.update(data)
            size = len(data)
            out.write(data)
    return RetrievedFile(entry.locator, entry.mime_type, path, size, digest.hexdigest())


__all__ = [
    "DEFAULT_URL",
    "QueryAnswer",
    "RemoteRegistry",
    "RetrieveAnswer",
    "RetrievedFile",
    "XdsClient",
    "endpoint",
]
