"""`Repository`: the Document Repository actor, ITI-41 Provide and Register and ITI-43 Retrieve.

ITI-41 (ITI TF-2b 3.41.4.1.3): validate, pair entries with documents, stage the bytes
(sha-1 and size computed while streaming, durable before anything names them), check what
the submitter claimed against them, fill hash/size/repositoryUniqueId, and register. Beside
its registry the repository hands it the index rows, which commit with the registration
(`IndexingRegistry`): the metadata is validated once and the registry's commit is the
commit point. Serving alone, it writes its rows `pending`, forwards ITI-42, then serves the
bytes once the registry accepted (see `repository.index`). A refused submission's files are
deleted, unless a row names them after all (a commit whose answer was lost): then they stay.

A document uniqueId already held here with other content is refused before the registry is
asked, with XDSRepositoryMetadataError: XDSNonIdenticalHash is what a registry reports about
its own contents (ITI TF-3 Table 4.2.4.1-2), and a registry that no longer knew the uniqueId
would accept metadata whose bytes this repository could never serve. The same content under
the same uniqueId is forwarded: the registry answers that resubmission, and the stored
bytes stay as they were (the new copy is dropped).

A CDA document (mimeType text/xml, root ClinicalDocument in urn:hl7-org:v3, sniffed from
its first bytes) is read back from the staged file and its header compared with the
submitted patient, uniqueId, typeCode, confidentiality and creation time: each difference
is an XDSRepositoryMetadataError or a warning, as `RepositorySettings.cda_mismatch` says.

ITI-86 Remove Documents (RMD, ITI TF-2 3.86.4.1.3) deletes stored bytes only; the metadata
is the registry's business (ITI-62, usually sent first by the Document Administrator).
Each document is judged alone: Success, PartialSuccess or Failure.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, BinaryIO, cast

from sqlalchemy.exc import SQLAlchemyError

from cda import CDA_MIME_TYPE, CdaError, NotCda, checked_fields, compare, parse_cda
from cda.sniff import SNIFF_BYTES, is_cda_start
from ebrim.errors import ErrorCode, Transaction, XDSError
from ebrim.model import DocumentEntry, Metadata, RegistryResponse, evolve
from ebrim.validate import validate
from ebrim.vocabulary import ResponseStatus, Severity
from registry.actor import IndexCheckNeeded
from registry.schema import repository_documents
from repository.api import (
    DocumentRepository,
    DocumentRequest,
    IndexingRegistry,
    RegistryClient,
    RetrievedDocument,
    RetrieveResult,
)
from repository.index import DocumentIndex
from repository.settings import RepositorySettings
from repository.store import DocumentStore, Staged, StoredDocument, StoreError

if TYPE_CHECKING:
    from pki.assertion import Requester

log = logging.getLogger(__name__)
CDA_KEEP_BYTES = 1024 * 1024  # a text/xml document up to this size is read back from memory


class Repository:
    """The Document Repository (implements `repository.api.DocumentRepository`).

    `registry` receives the ITI-42 forward: `registry.Registry` in process or a SOAP client.
    """

    def __init__(
        self,
        store: DocumentStore,
        index: DocumentIndex,
        registry: RegistryClient,
        settings: RepositorySettings,
    ) -> None:
        self.store = store
        self.index = index
        self.registry = registry
        self.settings = settings
        self.repository_unique_id = settings.repository_unique_id
        # A runtime Protocol's isinstance is slow (it inspects the members): asked once.
        self._colocated = isinstance(registry, IndexingRegistry)

    # --- ITI-41 --------------------------------------------------------------------------

    def provide_and_register(
        self,
        metadata: Metadata,
        documents: Mapping[str, BinaryIO],
        *,
        requester: Requester | None = None,
    ) -> RegistryResponse:
        """ITI-41: store the documents and register their metadata, all or nothing.

        `requester` goes with the ITI-42 forward (the registry audits who fed the record).

        An exception raised while reading a document stream (the client went away) propagates
        after every staged byte is discarded; the store's own failures are XDSRepositoryError.
        """
        submission = _submission_id(metadata)
        profile = self.settings.profile
        findings = validate(metadata, transaction=Transaction.ITI_41, profile=profile)
        errors = [f for f in findings if f.is_error] + self._check_pairing(metadata, documents)
        if errors:
            return _refused(submission, errors)
        try:
            staged = self._stage_all(metadata, documents)
        except StoreError as exc:
            log.error("ITI-41 %s: cannot stage documents: %s", submission, exc)
            return _refused(submission, [_error(ErrorCode.XDSRepositoryError, str(exc))])
        entries: list[StoredDocument] = []  # the documents new to this repository
        response: RegistryResponse | None = None
        try:
            content = self._check_all_content(metadata, staged)
            # Beside its registry, the index is not looked up first: its rows go in the
            # registration's transaction, whose key refuses a uniqueId stored already; it
            # is looked up here only when the registry asks (`IndexCheckNeeded`).
            colocated = self._colocated
            known: dict[str, StoredDocument] = {}
            if not colocated:
                content += self._check_index(metadata, staged, known)
            if any(finding.is_error for finding in content):
                return _refused(submission, content)
            filled = self._fill(metadata, staged)
            entries = self._new_entries(filled, staged, known)
            try:
                response = self._register(
                    submission, filled, entries, [*findings, *content], requester,
                    unindexed=colocated,
                )  # fmt: skip
            except IndexCheckNeeded:
                content += self._check_index(metadata, staged, known)
                if any(finding.is_error for finding in content):
                    return _refused(submission, content)
                entries = self._new_entries(filled, staged, known)
                response = self._register(
                    submission, filled, entries, [*findings, *content], requester
                )
            log.debug("ITI-41 %s: %d documents, %s", submission, len(staged), response.status.name)
            return response
        finally:
            # Files a row names stay, whatever happened after the rows were written.
            if response is not None and response.status is ResponseStatus.SUCCESS:
                kept = {entry.object_key for entry in entries}
            else:
                kept = self._still_named(entries)
            for item in staged.values():
                if item.key in kept:
                    self.store.release(item)
                else:
                    self.store.discard(item)

    @staticmethod
    def _new_entries(
        filled: Metadata, staged: Mapping[str, Staged], known: Mapping[str, StoredDocument]
    ) -> list[StoredDocument]:
        return [
            staged[doc.entry_uuid].describe(doc.unique_id or "", doc.mime_type or "")
            for doc in filled.documents
            if (doc.unique_id or "") not in known
        ]

    def _register(
        self,
        submission: str,
        metadata: Metadata,
        entries: list[StoredDocument],
        warnings: list[XDSError],
        requester: Requester | None,
        *,
        unindexed: bool = False,
    ) -> RegistryResponse:
        """ITI-42 with the index rows: in the registry's transaction, or pending then confirmed.

        `unindexed`: the index was not looked up (`IndexCheckNeeded` may come back)."""
        if self._colocated:
            rows = {repository_documents: [self.index.row(entry) for entry in entries]}
            return cast(IndexingRegistry, self.registry).register_stored(
                metadata,
                rows,
                findings=warnings,
                requester=requester,
                unindexed=[(self.repository_unique_id, e.unique_id) for e in entries]
                if unindexed
                else (),
            )
        try:
            self.index.add_pending(entries)
        except SQLAlchemyError as exc:
            log.error("ITI-41 %s: cannot write the index: %s", submission, exc)
            return _refused(submission, [_error(ErrorCode.XDSRepositoryError, str(exc))])
        response = self._forward(submission, metadata, requester)
        if response is None:  # no answer: the rows stay pending, settled by a retry or at start
            message = "the registry could not be reached or did not answer"
            return _refused(submission, [_error(ErrorCode.XDSRegistryNotAvailable, message)])
        try:
            if response.status is ResponseStatus.SUCCESS:
                self.index.confirm(doc.unique_id or "" for doc in metadata.documents)
            else:
                self.index.forget(entry.unique_id for entry in entries)
        except SQLAlchemyError as exc:  # rows stay pending: settled at the next start
            log.error(
                "ITI-41 %s: index not updated after the registry's answer: %s", submission, exc
            )
        if warnings:  # they travel with the registry's answer
            response = dataclasses.replace(response, errors=(*warnings, *response.errors))
        return response

    def _still_named(self, entries: Sequence[StoredDocument]) -> set[str]:
        """Keys of a refused submission that a row names anyway (a commit whose answer was
        lost, or rows left pending): those files stay. All of them when the index is down."""
        keys = [entry.object_key for entry in entries]
        if not keys:
            return set()
        try:
            return self.index.named(keys)
        except SQLAlchemyError as exc:
            log.warning("index unreachable, %d files kept for the next start: %s", len(keys), exc)
            return set(keys)

    def _check_pairing(
        self, metadata: Metadata, documents: Mapping[str, BinaryIO]
    ) -> list[XDSError]:
        """The entry/document pairing, and the repositoryUniqueId claimed."""
        errors = []
        entry_ids = {doc.entry_uuid for doc in metadata.documents}
        for doc in metadata.documents:
            if doc.entry_uuid not in documents:
                errors.append(
                    _error(
                        ErrorCode.XDSMissingDocument,
                        f"DocumentEntry {doc.entry_uuid} has no document in the request",
                        doc.entry_uuid,
                    )
                )
            claimed = doc.repository_unique_id
            if claimed and claimed != self.repository_unique_id:
                errors.append(
                    _error(
                        ErrorCode.XDSRepositoryMetadataError,
                        f"DocumentEntry {doc.entry_uuid}: repositoryUniqueId {claimed} is not "
                        f"this repository ({self.repository_unique_id})",
                        _name(doc),
                    )
                )
        for document_id in documents:
            if document_id not in entry_ids:
                errors.append(
                    _error(
                        ErrorCode.XDSMissingDocumentMetadata,
                        f"document {document_id} has no DocumentEntry in the metadata",
                        document_id,
                    )
                )
        return errors

    def _stage_all(
        self, metadata: Metadata, documents: Mapping[str, BinaryIO]
    ) -> dict[str, Staged]:
        staged: dict[str, Staged] = {}
        try:
            for doc in metadata.documents:
                keep = CDA_KEEP_BYTES if _is_xml(doc) else 0
                staged[doc.entry_uuid] = self.store.stage(documents[doc.entry_uuid], keep=keep)
        except BaseException:
            for item in staged.values():
                self.store.discard(item)
            raise
        return staged

    def _check_all_content(
        self, metadata: Metadata, staged: Mapping[str, Staged]
    ) -> list[XDSError]:
        """Every document's bytes against its entry: hash, size, the CDA header."""
        errors: list[XDSError] = []
        for doc in metadata.documents:
            errors.extend(self._check_content(doc, staged[doc.entry_uuid]))
        return errors

    def _check_content(self, doc: DocumentEntry, staged: Staged) -> list[XDSError]:
        """The submitted hash and size against the bytes, and the CDA header."""
        errors = []
        code = ErrorCode.XDSRepositoryMetadataError
        if doc.hash and doc.hash.lower() != staged.hash:
            message = f"DocumentEntry {doc.entry_uuid}: hash {doc.hash} does not match the "
            errors.append(_error(code, f"{message}document's sha-1 {staged.hash}", _name(doc)))
        if doc.size and doc.size != str(staged.size):
            message = f"DocumentEntry {doc.entry_uuid}: size {doc.size} does not match the "
            errors.append(_error(code, f"{message}document's {staged.size} bytes", _name(doc)))
        return [*errors, *self._check_cda(doc, staged)]

    def _check_index(
        self,
        metadata: Metadata,
        staged: Mapping[str, Staged],
        known: dict[str, StoredDocument],
    ) -> list[XDSError]:
        """Each uniqueId against the index; `known` gets those stored already, same bytes."""
        errors = []
        for doc in metadata.documents:
            try:
                existing = self.index.lookup(doc.unique_id or "", pending=True)
            except SQLAlchemyError as exc:
                errors.append(_error(ErrorCode.XDSRepositoryError, str(exc), _name(doc)))
                continue
            if existing is not None and existing.sha256 == staged[doc.entry_uuid].sha256:
                known[existing.unique_id] = existing
            elif existing is not None:
                errors.append(
                    _error(
                        ErrorCode.XDSRepositoryMetadataError,
                        f"document uniqueId {doc.unique_id} is already stored in this repository "
                        f"with other content (sha-1 {existing.hash})",
                        _name(doc),
                    )
                )
        return errors

    def _check_cda(self, doc: DocumentEntry, staged: Staged) -> list[XDSError]:
        """The submitted metadata against the CDA header, when the document is CDA.

        The document is parsed once: a text/xml document that turns out not to be a
        ClinicalDocument in urn:hl7-org:v3 is not checked. Only when it cannot be parsed
        at all (or is over the size limit) do its first bytes say whether it was CDA.
        """
        if not _is_xml(doc):
            return []
        severity = self.settings.cda_mismatch_severity
        where = f"DocumentEntry {doc.entry_uuid}"
        code = ErrorCode.XDSRepositoryMetadataError
        limit = self.settings.cda_max_bytes
        try:
            data = staged.whole
            if data is None:
                with open(staged.path, "rb") as file:
                    data = file.read(limit + 1 if staged.size <= limit else SNIFF_BYTES)
        except OSError as exc:
            return [_error(ErrorCode.XDSRepositoryError, f"{where}: {exc}", _name(doc))]
        if staged.size > limit:
            if not is_cda_start(data):
                return []
            message = f"{where}: CDA document of {staged.size} bytes is over {limit}; its "
            return [_error(code, message + "header was not compared", _name(doc), Severity.WARNING)]
        try:
            header = checked_fields(parse_cda(data, max_bytes=limit, blank_text=False))
        except NotCda:
            return []
        except CdaError as exc:
            if not is_cda_start(data[:SNIFF_BYTES]):
                return []  # text/xml that is not even XML: not a CDA document to compare
            message = f"{where}: the CDA document cannot be read: {exc}"
            return [_error(code, message, _name(doc), severity)]
        return [
            _error(code, f"{where}: {mismatch} (CDA header)", _name(doc), severity)
            for mismatch in compare(doc, header)
        ]

    def _fill(self, metadata: Metadata, staged: Mapping[str, Staged]) -> Metadata:
        """The metadata as registered: hash, size and repositoryUniqueId set on each entry."""
        entries = tuple(
            evolve(
                doc,
                hash=staged[doc.entry_uuid].hash,
                size=str(staged[doc.entry_uuid].size),
                repository_unique_id=self.repository_unique_id,
            )
            for doc in metadata.documents
        )
        return evolve(metadata, documents=entries)

    def _forward(
        self, submission: str, metadata: Metadata, requester: Requester | None = None
    ) -> RegistryResponse | None:
        """The registry's answer, or None when there was none (it may have registered)."""
        try:
            if requester is None:
                return self.registry.register(metadata)
            return self.registry.register(metadata, requester=requester)
        except Exception as exc:
            log.error("ITI-41 %s: registry unavailable: %s", submission, exc)
            return None

    # --- ITI-86 --------------------------------------------------------------------------

    def remove(self, requests: Sequence[DocumentRequest]) -> RegistryResponse:
        """ITI-86: remove each requested document's bytes; unknown ones are errors, not faults.

        XDSUnknownRepositoryId for another repository, XDSDocumentUniqueIdError for a
        document not held here, XDSRepositoryError when the store fails; each error's
        location is the document uniqueId. A uniqueId asked twice is removed once.
        """
        errors: list[XDSError] = []
        wanted: list[str] = []
        for request in requests:
            unique_id = request.document_unique_id
            if request.repository_unique_id != self.repository_unique_id:
                message = (
                    f"document {unique_id}: repository {request.repository_unique_id} is not "
                    f"this repository ({self.repository_unique_id})"
                )
                errors.append(_error(ErrorCode.XDSUnknownRepositoryId, message, unique_id))
            elif unique_id not in wanted:
                wanted.append(unique_id)
        removed: list[StoredDocument] = []
        try:
            removed, orphans = self.index.remove(wanted) if wanted else ([], set())
        except SQLAlchemyError as exc:
            log.error("ITI-86: index unavailable: %s", exc)
            for unique_id in wanted:
                errors.append(_error(ErrorCode.XDSRepositoryError, str(exc), unique_id))
            wanted = []
        else:
            for key in sorted(orphans):  # after the commit: a crash leaves files to collect
                self.store.delete(key)
        gone = {entry.unique_id for entry in removed}
        for unique_id in wanted:
            if unique_id not in gone:
                message = f"document {unique_id} is not in repository {self.repository_unique_id}"
                errors.append(_error(ErrorCode.XDSDocumentUniqueIdError, message, unique_id))
        if not errors:
            status = ResponseStatus.SUCCESS
        elif removed:
            status = ResponseStatus.PARTIAL_SUCCESS
        else:
            status = ResponseStatus.FAILURE
        if log.isEnabledFor(logging.INFO):
            log.info(
                "ITI-86: removed [%s], not removed [%s], %s",
                ", ".join(entry.unique_id for entry in removed),
                ", ".join(f"{e.location} {e.code.value}" for e in errors),
                status.name,
            )
        return RegistryResponse(status, tuple(errors))

    # --- ITI-43 --------------------------------------------------------------------------

    def retrieve(
        self,
        requests: Sequence[DocumentRequest],
        *,
        visible: Callable[[str], bool] | None = None,
    ) -> RetrieveResult:
        """ITI-43: Success when all are found, PartialSuccess when some, Failure when none.

        `visible(unique_id)` (the registry's access policy, `Registry.consultation`) says
        whether the requester may see a document: one it may not is answered exactly as a
        document this repository does not hold, so that its existence does not leak.
        """
        errors: list[XDSError] = []
        found: list[RetrievedDocument] = []
        for request in requests:
            document = self._retrieve_one(request, errors, visible)
            if document is not None:
                found.append(document)
        if not errors:
            status = ResponseStatus.SUCCESS
        elif found:
            status = ResponseStatus.PARTIAL_SUCCESS
        else:
            status = ResponseStatus.FAILURE
        log.info("ITI-43: %d requested, %d found, %s", len(requests), len(found), status.name)
        return RetrieveResult(RegistryResponse(status, tuple(errors)), tuple(found))

    def _retrieve_one(
        self,
        request: DocumentRequest,
        errors: list[XDSError],
        visible: Callable[[str], bool] | None = None,
    ) -> RetrievedDocument | None:
        unique_id = request.document_unique_id
        if request.repository_unique_id != self.repository_unique_id:
            errors.append(
                _error(
                    ErrorCode.XDSUnknownRepositoryId,
                    f"repository {request.repository_unique_id} is not this repository "
                    f"({self.repository_unique_id})",
                    request.repository_unique_id,
                )
            )
            return None
        if visible is not None and not visible(unique_id):
            entry = None
        else:
            try:
                entry = self.index.lookup(unique_id)
            except SQLAlchemyError as exc:
                log.error("ITI-43 %s: %s", unique_id, exc)
                errors.append(_error(ErrorCode.XDSRepositoryError, str(exc), unique_id))
                return None
        if entry is None:
            message = f"document {unique_id} is not in repository {self.repository_unique_id}"
            errors.append(_error(ErrorCode.XDSDocumentUniqueIdError, message, unique_id))
            return None
        opener = functools.partial(self.store.open, entry.object_key)
        return RetrievedDocument(request, entry.mime_type, entry.size, opener)


def _error(
    code: ErrorCode, message: str, location: str = "", severity: Severity = Severity.ERROR
) -> XDSError:
    return XDSError(code, message, location, severity)


def _is_xml(doc: DocumentEntry) -> bool:
    """A document the CDA consistency check looks at (mimeType text/xml)."""
    return (doc.mime_type or "").split(";")[0].strip().lower() == CDA_MIME_TYPE


def _name(doc: DocumentEntry) -> str:
    return doc.unique_id or doc.entry_uuid


def _submission_id(metadata: Metadata) -> str:
    submission_set = metadata.submission_set
    return (submission_set.unique_id if submission_set else None) or "(no submission set)"


def _refused(submission: str, errors: list[XDSError]) -> RegistryResponse:
    if log.isEnabledFor(logging.INFO):  # the join costs nothing when the log is off
        log.info("ITI-41 %s refused: %s", submission, ", ".join(e.code.value for e in errors))
    return RegistryResponse.from_errors(errors)


if TYPE_CHECKING:
    _implements: type[DocumentRepository] = Repository

__all__ = ["Repository"]
