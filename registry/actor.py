"""`Registry`: the in-process Document Registry actor that `soap/` and `repository/` call."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from lxml import etree
from sqlalchemy import Connection, Engine, Table, and_, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ebrim.errors import ErrorCode, Transaction, XDSError
from ebrim.model import (
    Association,
    DocumentEntry,
    Metadata,
    RegistryObject,
    RegistryResponse,
    SubmissionSet,
)
from ebrim.storedquery import StoredQueryRequest, render_adhoc_query_request
from ebrim.update import new_status, original_status
from ebrim.validate import validate
from ebrim.validate.update import validate_update
from ebrim.vocabulary import AssociationType, ResponseStatus
from ebrim.vocabulary import ClassificationScheme as Scheme
from pki.assertion import Requester
from registry import audit, express, store
from registry.audit import AuditEvent, AuditTransaction, Outcome
from registry.delete import delete_in
from registry.patients import Patients
from registry.policy import Decision, Policy, RequesterKind, Visibility
from registry.policy.visibility import INVISIBLE_REPRESENTANTS_LEGAUX
from registry.queries import QueryResult, run_query
from registry.queries.answer import refused
from registry.queries.filters import owned_by
from registry.queries.find import answering_id
from registry.records import Records, record_state
from registry.records_schema import audit_events
from registry.register import register_in
from registry.rejection import Rejected
from registry.replicas import Replicas, parse_lsn
from registry.schema import codes, documents
from registry.settings import RegistrySettings
from registry.status import StatusPolicy, VersionPolicy
from registry.storage import autocommit_engine, write_transaction
from registry.times import now_dtm
from registry.update import update_in

log = logging.getLogger(__name__)
# The AdhocQueryRequest kept in the failure event of a query refused unread.
REFUSED_QUERY_CHARS = 8192

Validator = Callable[..., list[XDSError]]
_T = TypeVar("_T")


class IndexCheckNeeded(Exception):
    """`Registry.register_stored` wrote nothing: the repository must look up these document
    uniqueIds in its index first (one is there, or the submission is not a plain one)."""

    def __init__(self, unique_ids: Sequence[str]) -> None:
        super().__init__(", ".join(unique_ids))
        self.unique_ids = tuple(unique_ids)


@dataclass(frozen=True)
class Consultation:
    """A requester's right to consult one record: the decision and, if allowed, what is visible.

    `visible(unique_id)` is what `Repository.retrieve(..., visible=)` asks (ITI-43): a
    document the requester may not see answers as an unknown one.
    """

    decision: Decision
    visibility: Visibility | None
    engine: Engine

    def visible(self, unique_id: str) -> bool:
        if not self.decision.allowed or self.visibility is None:
            return False
        with self.engine.connect() as conn:
            return conn.execute(self.visibility.document_is_visible(unique_id)).first() is not None


@dataclass(frozen=True)
class Submitted:
    """The answer to a submission, and the entryUUID given to each submitted id on success."""

    response: RegistryResponse
    ids: dict[str, str] = field(default_factory=dict)


class Registry:
    """The Document Registry: ITI-42 registration, ITI-57 update, ITI-62 delete, ITI-18 query.

    `clock` (UTC) is there so tests can fix folder lastUpdateTime; `validator` defaults
    to `ebrim.validate.validate`.
    """

    def __init__(
        self,
        engine: Engine,
        settings: RegistrySettings,
        *,
        clock: Callable[[], datetime] | None = None,
        validator: Validator = validate,
        replicas: Replicas | None = None,
    ) -> None:
        """`replicas`: streaming replicas of `engine`'s PostgreSQL that answer stored
        queries (`registry.replicas`); writes and the policy's reads stay on `engine`."""
        self.engine = engine
        self.replicas = replicas if replicas is not None and replicas.engines else None
        self.settings = settings
        self.patients = Patients(engine)
        self.records = Records(engine, self._now)
        self.policy = Policy.load(settings.access_rules)
        self._clock = clock
        self._validate = validator

    def _now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(UTC)

    def register(
        self, metadata: Metadata, *, requester: Requester | None = None
    ) -> RegistryResponse:
        """ITI-42: validate, then register everything or nothing (ITI TF-2b 3.42.4.1.3).

        Feeding needs no authorisation; in the DMP profile the record must be open
        (`settings.records_required`). The audit event is written with the documents.
        """
        return self.submit(metadata, requester=requester).response

    def submit(self, metadata: Metadata, *, requester: Requester | None = None) -> Submitted:
        """`register`, also telling which entryUUID each submitted object received."""
        return self._submit_audited(metadata, requester)

    def register_stored(
        self,
        metadata: Metadata,
        index_rows: Mapping[Table, Sequence[Mapping[str, Any]]],
        *,
        findings: Sequence[XDSError] = (),
        requester: Requester | None = None,
        unindexed: Sequence[tuple[str, str]] = (),
    ) -> RegistryResponse:
        """ITI-42 from the co-located repository (ITI-41): `index_rows` commit with it.

        The repository has validated `metadata` already (ITI-41 rules; `findings` are its
        warnings) and filled hash, size and repositoryUniqueId, so it is not validated
        again. `index_rows` (its uniqueId -> object rows) are written in the registration's
        transaction: the document is registered exactly when its bytes can be found.

        `unindexed`: (repositoryUniqueId, uniqueId) of the documents the repository has not
        looked up in its index.
        They are checked by the registration itself (PostgreSQL: the index's key refuses
        its row; SQLite: the check before the INSERTs); when one is there, or
        when the submission takes the general path, nothing is written and
        `IndexCheckNeeded` asks the repository to look them up and call again without them.
        """
        return self._submit_audited(
            metadata,
            requester,
            findings=list(findings),
            index_rows=index_rows,
            unindexed=tuple(unindexed),
        ).response

    def _submit_audited(
        self, metadata: Metadata, requester: Requester | None, **options: Any
    ) -> Submitted:
        """`_submit`, and the failure event of a submission that registered nothing."""
        submitted = self._submit(metadata, requester, **options)
        if submitted.response.status is not ResponseStatus.SUCCESS and not submitted.ids:
            self._audit_failure(AuditTransaction.REGISTER, requester, metadata, submitted.response)
        return submitted

    def _submit(
        self,
        metadata: Metadata,
        requester: Requester | None,
        *,
        findings: list[XDSError] | None = None,
        index_rows: Mapping[Table, Sequence[Mapping[str, Any]]] | None = None,
        unindexed: tuple[tuple[str, str], ...] = (),
    ) -> Submitted:
        limit = self.settings.max_objects_per_submission
        if len(metadata.objects()) > limit:
            return _failed(
                ErrorCode.XDSRegistryOutOfResources,
                f"submission of {len(metadata.objects())} objects exceeds the limit of {limit}",
            )
        if findings is None:
            findings = self._validate(
                metadata, transaction=Transaction.ITI_42, profile=self.settings.profile
            )
            if any(f.is_error for f in findings):
                return Submitted(RegistryResponse.from_errors(findings))
        now = now_dtm(self._clock() if self._clock else None)
        required = self.settings.records_required
        extra = dict(index_rows or {})
        event = self._event_about(AuditTransaction.REGISTER, requester, metadata)
        plain = express.plan(metadata, now)
        if plain is not None:
            rows = {**extra, audit_events: [audit.event_row(event, self._now())]}
            written = self._express(plain, rows, required, unindexed)
            if isinstance(written, RegistryResponse):
                return Submitted(_with_findings(findings, written))
            if written:
                if self.replicas is not None and not isinstance(written, bool):
                    self.replicas.wrote(written)
                return Submitted(RegistryResponse.from_errors(findings), plain.ids)
        if unindexed:
            raise IndexCheckNeeded([unique_id for _repository, unique_id in unindexed])

        def work(conn: Connection) -> Any:
            registered = register_in(conn, metadata, now=now, require_open_record=required)
            for table, rows in extra.items():
                if rows:
                    conn.execute(insert(table), list(rows))
            audit.write_event(conn, event, self._now())
            return registered

        outcome = self._write(work)
        if isinstance(outcome, RegistryResponse):
            return Submitted(_with_findings(findings, outcome))
        return Submitted(RegistryResponse.from_errors(findings), outcome.ids)

    def _express(
        self,
        plain: express.PlainSubmission,
        rows: dict[Table, Any],
        required: bool,
        unindexed: Sequence[tuple[str, str]],
    ) -> bool | int | RegistryResponse:
        try:
            return express.register(
                self.engine,
                plain,
                rows,
                require_open_record=required,
                unindexed=unindexed,
                commit_lsn=self.replicas is not None,
            )
        except express.Unavailable as exc:
            log.warning("registry database unavailable: %s", exc)
            return _failed(ErrorCode.XDSRegistryBusy, f"registry database busy: {exc}").response

    def update(
        self,
        metadata: Metadata,
        *,
        policy: StatusPolicy | None = None,
        version_policy: VersionPolicy | None = None,
        requester: Requester | None = None,
    ) -> RegistryResponse:
        """ITI-57 Update Document Set: validate, then apply every operation or none.

        New DocumentEntry and Folder versions, UpdateAvailabilityStatus and new associations
        (see `registry.update`). `policy` is asked about each status change once the rules
        allow it, with the caller's rights in mind (the DMP: deletion by the author only);
        `version_policy` about each new version (who may change the masking flags). With a
        `requester` and no policies given, those of `registry.policy.updates` apply.
        """
        if requester is not None:
            policy = policy or self.policy.status_policy(requester)
            version_policy = version_policy or self.policy.version_policy(requester)
        response = self._update(metadata, policy, version_policy, requester)
        if response.status is not ResponseStatus.SUCCESS:
            self._audit_failure(AuditTransaction.UPDATE, requester, metadata, response)
        return response

    def _update(
        self,
        metadata: Metadata,
        policy: StatusPolicy | None,
        version_policy: VersionPolicy | None,
        requester: Requester | None,
    ) -> RegistryResponse:
        limit = self.settings.max_objects_per_submission
        if len(metadata.objects()) > limit:
            return _failed(
                ErrorCode.XDSRegistryOutOfResources,
                f"update of {len(metadata.objects())} objects exceeds the limit of {limit}",
            ).response
        profile = self.settings.profile
        findings = [
            *self._validate(metadata, transaction=Transaction.ITI_57, profile=profile),
            *validate_update(metadata, profile=profile),
        ]
        if any(f.is_error for f in findings):
            return RegistryResponse.from_errors(findings)
        now = now_dtm(self._clock() if self._clock else None)

        def work(conn: Connection) -> Any:
            updated = update_in(
                conn,
                metadata,
                now=now,
                profile=profile,
                policy=policy,
                version_policy=version_policy,
            )
            self._audit_in(conn, AuditTransaction.UPDATE, requester, metadata)
            return updated

        outcome = self._write(work)
        if isinstance(outcome, RegistryResponse):
            return _with_findings(findings, outcome)
        return RegistryResponse.from_errors(findings)

    def delete(
        self, object_ids: Sequence[str], *, requester: Requester | None = None
    ) -> RegistryResponse:
        """ITI-62 Delete Document Set: remove these metadata objects, all or none (RMD).

        Unknown ids answer UnresolvedReferenceException, objects an association kept would
        still point at ReferencesExistException (see `registry.delete`).
        """
        if not object_ids:
            response = _failed(ErrorCode.XDSRegistryError, "no object to remove").response
            self._audit_failure(AuditTransaction.DELETE, requester, None, response)
            return response
        now = now_dtm(self._clock() if self._clock else None)

        def work(conn: Connection) -> Any:
            described = _documents_of(conn, object_ids)
            patient = described[0][1] if described else None
            delete_in(conn, object_ids, now=now)
            event = audit.event_for(
                AuditTransaction.DELETE,
                Outcome.SUCCESS,
                requester,
                kind=self._kind(requester),
                patient_id=patient,
                document_ids=[uid for uid, _p, _s in described] or list(object_ids),
                secret=any(secret for _u, _p, secret in described),
            )
            audit.write_event(conn, event, self._now())

        outcome = self._write(work)
        if isinstance(outcome, RegistryResponse):
            self._audit_failure(AuditTransaction.DELETE, requester, None, outcome, object_ids)
            return outcome
        return RegistryResponse.from_errors([])

    # --- audit ---------------------------------------------------------------------------------

    def _kind(self, requester: Requester | None) -> RequesterKind | None:
        return self.policy.kind_of(requester) if requester is not None else None

    def _audit_in(
        self,
        conn: Connection,
        transaction: AuditTransaction,
        requester: Requester | None,
        metadata: Metadata,
    ) -> None:
        """The success event of a write, in its own transaction. A status change names the
        entries it changes (the targets of its UpdateAvailabilityStatus associations), so that
        the trail tells each document's history."""
        changes = [
            a
            for a in metadata.associations
            if a.association_type == AssociationType.UPDATE_AVAILABILITY_STATUS.value
        ]
        detail = "; ".join(
            f"status {_short(original_status(a))} -> {_short(new_status(a))}" for a in changes
        )
        event = self._event_about(
            transaction,
            requester,
            metadata,
            detail=detail or None,
            object_ids=[a.target for a in changes],
        )
        audit.write_event(conn, event, self._now())

    def _event_about(
        self,
        transaction: AuditTransaction,
        requester: Requester | None,
        metadata: Metadata | None,
        outcome: Outcome = Outcome.SUCCESS,
        detail: str | None = None,
        object_ids: Sequence[str] = (),
    ) -> AuditEvent:
        docs = metadata.documents if metadata is not None else ()
        sets = metadata.submission_sets if metadata is not None else ()
        owners: list[DocumentEntry | SubmissionSet] = [*docs, *sets]
        patient = next((o.patient_id for o in owners if o.patient_id), None)
        return audit.event_for(
            transaction,
            outcome,
            requester,
            kind=self._kind(requester),
            patient_id=patient,
            document_ids=[d.unique_id or d.entry_uuid for d in docs] or list(object_ids),
            secret=any(_audited(d)[2] for d in docs),
            detail=detail,
            submission_set_id=next((s.unique_id for s in sets if s.unique_id), None),
        )

    def _audit_failure(
        self,
        transaction: AuditTransaction,
        requester: Requester | None,
        metadata: Metadata | None,
        response: RegistryResponse,
        object_ids: Sequence[str] = (),
    ) -> None:
        """A refused write leaves a failure event, in a transaction of its own."""
        detail = "; ".join(f"{e.code.value}: {e.message}" for e in response.errors if e.is_error)
        event = self._event_about(
            transaction, requester, metadata, Outcome.FAILURE, detail, object_ids
        )
        self.record_event(event)

    def audit_refused_query(
        self, requester: Requester | None, response: RegistryResponse, query_xml: str
    ) -> None:
        """The failure event of an ITI-18 request refused before it could be read."""
        if len(query_xml) > REFUSED_QUERY_CHARS:  # it may be what made it unreadable
            query_xml = query_xml[:REFUSED_QUERY_CHARS] + "…"
        event = audit.event_for(
            AuditTransaction.QUERY,
            Outcome.FAILURE,
            requester,
            detail="; ".join(f"{e.code.value}: {e.message}" for e in response.errors),
            query=query_xml,
        )
        self.record_event(event)

    def record_event(self, event: AuditEvent) -> bool:
        """Append an audit event in its own transaction (retrieves, refusals); False on failure."""
        try:
            with write_transaction(self.engine) as conn:
                audit.write_event(conn, event, self._now())
        except DBAPIError as exc:
            log.error("audit event not recorded (%s): %s", event.transaction, exc)
            return False
        return True

    def audit_history(
        self, patient_id: str, *, viewer_kind: RequesterKind | str = RequesterKind.PATIENT
    ) -> list[AuditEvent]:
        """Who accessed the patient's record, oldest first.

        A legal representative does not see the secret accesses (those touching documents
        hidden from them, see `registry.audit`).
        """
        secret_visible = RequesterKind(viewer_kind) is not RequesterKind.LEGAL_REPRESENTATIVE
        with self.engine.connect() as conn:
            return audit.history(conn, patient_id, include_secret=secret_visible)

    def _write(self, work: Callable[[Connection], _T]) -> _T | RegistryResponse:
        """Run `work` in a write transaction; a refusal or a failure becomes the response.

        A unique-key conflict means another request committed the same id between our
        check and our insert: run once more so that the check names it precisely. So does
        a connection found dead (the pool does not ping before each checkout).
        """
        for attempt in (1, 2):
            try:
                with write_transaction(self.engine) as conn:
                    done = work(conn)
                if self.replicas is not None:
                    self._note_commit()
                return done
            except Rejected as rejected:
                return RegistryResponse.from_errors(list(rejected.errors))
            except IntegrityError as exc:
                if attempt == 2:
                    log.warning("registry write conflict persisted: %s", exc)
                    return _failed(
                        ErrorCode.XDSRegistryError, f"conflicting submission: {exc.orig}"
                    ).response
            except OperationalError as exc:
                if attempt == 1 and exc.connection_invalidated:
                    continue
                log.warning("registry database unavailable: %s", exc)
                return _failed(
                    ErrorCode.XDSRegistryBusy, f"registry database busy: {exc.orig}"
                ).response
        raise AssertionError("unreachable")

    def _read(self, work: Callable[[Connection], _T]) -> _T:
        """`work` on a replica fit for this client, else (or when it fails) on the primary."""
        reader = self.replicas.reader() if self.replicas is not None else None
        if reader is not None and self.replicas is not None:
            try:
                with reader.connect() as conn:
                    return work(conn)
            except DBAPIError as exc:
                self.replicas.failed(reader, exc)
        with self.engine.connect() as conn:
            return work(conn)

    def _note_commit(self) -> None:
        """With replicas: this client's reads must see what it has just committed."""
        assert self.replicas is not None
        try:
            with autocommit_engine(self.engine).connect() as conn:
                lsn = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
        except DBAPIError as exc:
            # Committed, but its position unknown: this client's next read may come from a
            # replica a few milliseconds behind it (the primary is failing anyway).
            log.warning("commit LSN not read: %s", exc)
            return
        self.replicas.wrote(parse_lsn(lsn))

    def consultation(self, requester: Requester) -> Consultation:
        """May `requester` consult the record its assertion names, and what may it see."""
        now = self._now()
        with self.engine.connect() as conn:
            patient = answering_id(conn, requester.patient_id) if requester.patient_id else ""
            decision = self.policy.decide_consultation(requester, record_state(conn, patient, now))
        visibility = self.policy.visibility(requester, patient) if decision.allowed else None
        return Consultation(decision, visibility, self.engine)

    def query(
        self,
        request: StoredQueryRequest,
        *,
        requester: Requester | None = None,
        transaction: AuditTransaction = AuditTransaction.QUERY,
        asked: str | None = None,
        audit_success: bool = True,
        max_results: int | None = None,
    ) -> QueryResult:
        """ITI-18: answer a parsed stored query (ObjectRef or LeafClass) from SQL.

        Failures are answers, not exceptions: XDSTooManyResults beyond
        `settings.max_query_results` objects, XDSResultNotSinglePatient for a LeafClass
        answer about several patients, XDSRegistryBusy when the database is unavailable.
        With a `requester`, the policy decides first (LocalPolicyRestrictionError when it
        refuses) and the answer holds only what the requester may see, counted as such.
        Every query leaves an audit event: an ITI-18 holding the AdhocQueryRequest, or the
        MHD search (`transaction` ITI-66/ITI-67) that asked, holding its query string `asked`;
        `audit_success` False leaves a successful answer unrecorded (the first step of a
        search whose second step records what was disclosed), a refusal always recorded.
        `max_results` replaces `settings.max_query_results` (an MHD search pages its answer).
        """
        settings = self.settings
        if max_results is not None:
            settings = dataclasses.replace(settings, max_query_results=max_results)
        for attempt in (1, 2):  # a pooled connection found dead is replaced, once
            decision: Decision | None = None
            try:
                scope = None
                if requester is not None:
                    consultation = self.consultation(requester)
                    decision = consultation.decision
                    if not decision.allowed:
                        result = refused(ErrorCode.LocalPolicyRestrictionError, decision.reason)
                        return self._audited_query(
                            request, requester, decision, result, (), transaction, asked
                        )
                    scope = consultation.visibility

                def read(
                    conn: Connection, scope: Visibility | None = scope
                ) -> tuple[QueryResult, list[Any]]:
                    result = run_query(conn, request, settings, scope)
                    if not audit_success and result.response.status is ResponseStatus.SUCCESS:
                        return result, []
                    if result.metadata is not None:  # LeafClass: the audit needs no second read
                        return result, [_audited(d) for d in result.metadata.documents]
                    if not result.ids:
                        return result, []
                    return result, _documents_of(conn, result.ids, patients=result.patients)

                result, found = self._read(read)
                if not audit_success and result.response.status is ResponseStatus.SUCCESS:
                    return result
            except OperationalError as exc:
                if attempt == 1 and exc.connection_invalidated:
                    continue
                log.warning("registry database unavailable: %s", exc)
                return refused(ErrorCode.XDSRegistryBusy, f"registry database busy: {exc.orig}")
            return self._audited_query(
                request, requester, decision, result, found, transaction, asked
            )
        raise AssertionError("unreachable")

    def _audited_query(
        self,
        request: StoredQueryRequest,
        requester: Requester | None,
        decision: Decision | None,
        result: QueryResult,
        found: Sequence[tuple[str, str, bool]] = (),
        transaction: AuditTransaction = AuditTransaction.QUERY,
        asked: str | None = None,
    ) -> QueryResult:
        success = result.response.status is ResponseStatus.SUCCESS
        patient = getattr(request.query, "patient_id", None) or next(
            (p for _u, p, _s in found), None
        )
        event = audit.event_for(
            transaction,
            Outcome.SUCCESS if success else Outcome.FAILURE,
            requester,
            kind=decision.kind if decision else None,
            patient_id=patient,
            document_ids=[uid for uid, _p, _s in found],
            emergency=bool(decision and decision.emergency),
            secret=any(secret for _u, _p, secret in found),
            detail=None if success else "; ".join(e.message for e in result.response.errors),
            query_id=request.query_id.value,
            query=asked
            if asked is not None
            else etree.tostring(render_adhoc_query_request(request), encoding="unicode"),
        )
        if not self.record_event(event):
            return refused(ErrorCode.XDSRegistryBusy, "the access could not be traced; retry")
        return result

    def audit_retrieve(
        self,
        requester: Requester | None,
        consultation: Consultation | None,
        unique_ids: Sequence[str],
        *,
        success: bool,
        transaction: AuditTransaction = AuditTransaction.RETRIEVE,
    ) -> bool:
        """The audit event of an ITI-43 retrieve (the SOAP layer calls it after the repository),
        or of an MHD ITI-68 (`transaction`)."""
        decision = consultation.decision if consultation else None
        return self._audit_documents(
            transaction,
            requester,
            unique_ids,
            success=success,
            kind=decision.kind if decision else None,
            emergency=bool(decision and decision.emergency),
            detail=decision.reason if decision and not decision.allowed else None,
        )

    def audit_removal(
        self,
        requester: Requester | None,
        unique_ids: Sequence[str],
        *,
        success: bool,
        detail: str | None = None,
    ) -> bool:
        """The audit event of an ITI-86 Remove Documents (the SOAP layer calls it after the
        repository). The patient is named when the registry still describes a document."""
        return self._audit_documents(
            AuditTransaction.REMOVE_DOCUMENTS,
            requester,
            unique_ids,
            success=success,
            kind=self._kind(requester),
            detail=detail,
        )

    def _audit_documents(
        self,
        transaction: AuditTransaction,
        requester: Requester | None,
        unique_ids: Sequence[str],
        *,
        success: bool,
        kind: RequesterKind | None,
        emergency: bool = False,
        detail: str | None = None,
    ) -> bool:
        """An event about documents named by uniqueId; their patient as the registry knows it."""
        with self.engine.connect() as conn:
            found = _documents_of(conn, unique_ids, by_unique_id=True)
        event = audit.event_for(
            transaction,
            Outcome.SUCCESS if success else Outcome.FAILURE,
            requester,
            kind=kind,
            patient_id=next((p for _u, p, _s in found), None),
            document_ids=list(unique_ids),
            emergency=emergency,
            secret=any(secret for _u, _p, secret in found),
            detail=detail,
        )
        return self.record_event(event)

    def registered_documents(self, unique_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """uniqueId -> (sha-1 hash, repositoryUniqueId) of the registered documents among these."""
        doc = documents.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(doc.unique_id, doc.hash, doc.repository_unique_id).where(
                    doc.unique_id.in_(list(unique_ids))
                )
            )
            return {row[0]: (row[1] or "", row[2] or "") for row in rows}

    def get(self, entry_uuid: str) -> RegistryObject | None:
        """The stored object with this entryUUID (document, submission set, folder, association)."""
        return self.get_many([entry_uuid]).get(entry_uuid)

    def get_many(self, entry_uuids: Iterable[str]) -> dict[str, RegistryObject]:
        with self.engine.connect() as conn:
            return store.load(conn, entry_uuids)

    def find_by_unique_id(self, unique_id: str) -> list[RegistryObject]:
        """Every version of the document, submission set or folder with this uniqueId."""
        with self.engine.connect() as conn:
            return store.load_by_unique_id(conn, unique_id)

    def associations(
        self, *, source: str | None = None, target: str | None = None
    ) -> list[Association]:
        """Stored associations from `source` and/or to `target`."""
        with self.engine.connect() as conn:
            return store.load_associations(conn, source=source, target=target)


def _audited(document: DocumentEntry) -> tuple[str, str, bool]:
    """(uniqueId, patient id, secret) of a document, as `_documents_of` reads them."""
    flag = (INVISIBLE_REPRESENTANTS_LEGAUX.code, INVISIBLE_REPRESENTANTS_LEGAUX.scheme)
    secret = any((c.code, c.scheme) == flag for c in document.confidentiality_codes)
    return document.unique_id or "", document.patient_id or "", secret


def _documents_of(
    conn: Connection,
    ids: Sequence[str],
    *,
    by_unique_id: bool = False,
    patients: Sequence[str] | None = None,
) -> list[tuple[str, str, bool]]:
    """(uniqueId, patient id, secret) of the documents among `ids` (entryUUIDs or uniqueIds).

    Read in their patients' partitions only (`registry.queries.pinned`): `patients` when the
    caller knows them (a pinned query's answer), else from the global lookups.
    """
    doc = documents.c
    flag = INVISIBLE_REPRESENTANTS_LEGAUX
    if patients is None:
        lookup = store.patients_by_unique_id if by_unique_id else store.patients_by_uuid
        patients = lookup(conn, ids)
    secret = (
        select(codes.c.object_uuid)
        .where(
            and_(
                *owned_by(codes, doc.entry_uuid),
                codes.c.patient_id.in_(patients),  # a constant: pruned as it is planned
                codes.c.scheme == Scheme.DOC_CONFIDENTIALITY_CODE.value,
                codes.c.code == flag.code,
                codes.c.coding_scheme == flag.scheme,
            )
        )
        .exists()
    )
    key = doc.unique_id if by_unique_id else doc.entry_uuid
    rows = conn.execute(
        select(doc.unique_id, doc.patient_id, secret)
        .where(key.in_(list(ids)), doc.patient_id.in_(patients))
        .order_by(doc.unique_id)
    ).all()
    return [(row[0], row[1], bool(row[2])) for row in rows]


def _failed(code: ErrorCode, message: str) -> Submitted:
    return Submitted(RegistryResponse.from_errors([XDSError(code, message)]))


def _with_findings(findings: list[XDSError], response: RegistryResponse) -> RegistryResponse:
    """A refusal, with the validation warnings found before it."""
    return RegistryResponse.from_errors([*findings, *response.errors])


__all__ = ["Consultation", "IndexCheckNeeded", "Registry", "Submitted"]


def _short(status: str | None) -> str:
    """A status URN's last part ("?" when the slot is missing)."""
    return status.rsplit(":", 1)[-1] if status else "?"
