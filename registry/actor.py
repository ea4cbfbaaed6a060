"""`Registry`: the in-process Document Registry actor that `soap/` and `repository/` call."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from ebrim.errors import ErrorCode, Transaction, XDSError
from ebrim.model import Association, Metadata, RegistryObject, RegistryResponse
from ebrim.storedquery import StoredQueryRequest
from ebrim.validate import validate
from ebrim.validate.update import validate_update
from registry import store
from registry.delete import delete_in
from registry.patients import Patients
from registry.queries import QueryResult, run_query
from registry.queries.answer import refused
from registry.register import register_in
from registry.rejection import Rejected
from registry.settings import RegistrySettings
from registry.status import StatusPolicy
from registry.storage import write_transaction
from registry.times import now_dtm
from registry.update import update_in

log = logging.getLogger(__name__)

Validator = Callable[..., list[XDSError]]
_T = TypeVar("_T")


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
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.patients = Patients(engine)
        self._clock = clock
        self._validate = validator

    def register(self, metadata: Metadata) -> RegistryResponse:
        """ITI-42: validate, then register everything or nothing (ITI TF-2b 3.42.4.1.3)."""
        return self.submit(metadata).response

    def submit(self, metadata: Metadata) -> Submitted:
        """`register`, also telling which entryUUID each submitted object received."""
        limit = self.settings.max_objects_per_submission
        if len(metadata.objects()) > limit:
            return _failed(
                ErrorCode.XDSRegistryOutOfResources,
                f"submission of {len(metadata.objects())} objects exceeds the limit of {limit}",
            )
        findings = self._validate(
            metadata, transaction=Transaction.ITI_42, profile=self.settings.profile
        )
        if any(f.is_error for f in findings):
            return Submitted(RegistryResponse.from_errors(findings))
        now = now_dtm(self._clock() if self._clock else None)
        outcome = self._write(lambda conn: register_in(conn, metadata, now=now))
        if isinstance(outcome, RegistryResponse):
            return Submitted(_with_findings(findings, outcome))
        return Submitted(RegistryResponse.from_errors(findings), outcome.ids)

    def update(self, metadata: Metadata, *, policy: StatusPolicy | None = None) -> RegistryResponse:
        """ITI-57 Update Document Set: validate, then apply every operation or none.

        New DocumentEntry and Folder versions, UpdateAvailabilityStatus and new associations
        (see `registry.update`). `policy` is asked about each status change once the rules
        allow it, with the caller's rights in mind (the DMP: deletion by the author only).
        """
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
        outcome = self._write(
            lambda conn: update_in(conn, metadata, now=now, profile=profile, policy=policy)
        )
        if isinstance(outcome, RegistryResponse):
            return _with_findings(findings, outcome)
        return RegistryResponse.from_errors(findings)

    def delete(self, object_ids: Sequence[str]) -> RegistryResponse:
        """ITI-62 Delete Document Set: remove these metadata objects, all or none (RMD).

        Unknown ids answer UnresolvedReferenceException, objects an association kept would
        still point at ReferencesExistException (see `registry.delete`).
        """
        if not object_ids:
            return _failed(ErrorCode.XDSRegistryError, "no object to remove").response
        now = now_dtm(self._clock() if self._clock else None)
        outcome = self._write(lambda conn: delete_in(conn, object_ids, now=now))
        if isinstance(outcome, RegistryResponse):
            return outcome
        return RegistryResponse.from_errors([])

    def _write(self, work: Callable[[Connection], _T]) -> _T | RegistryResponse:
        """Run `work` in a write transaction; a refusal or a failure becomes the response.

        A unique-key conflict means another request committed the same id between our
        check and our insert: run once more so that the check names it precisely.
        """
        for attempt in (1, 2):
            try:
                with write_transaction(self.engine) as conn:
                    return work(conn)
            except Rejected as rejected:
                return RegistryResponse.from_errors(list(rejected.errors))
            except IntegrityError as exc:
                if attempt == 2:
                    log.warning("registry write conflict persisted: %s", exc)
                    return _failed(
                        ErrorCode.XDSRegistryError, f"conflicting submission: {exc.orig}"
                    ).response
            except OperationalError as exc:
                log.warning("registry database unavailable: %s", exc)
                return _failed(
                    ErrorCode.XDSRegistryBusy, f"registry database busy: {exc.orig}"
                ).response
        raise AssertionError("unreachable")

    def query(self, request: StoredQueryRequest) -> QueryResult:
        """ITI-18: answer a parsed stored query (ObjectRef or LeafClass) from SQL.

        Failures are answers, not exceptions: XDSTooManyResults beyond
        `settings.max_query_results` objects, XDSResultNotSinglePatient for a LeafClass
        answer about several patients, XDSRegistryBusy when the database is unavailable.
        """
        try:
            with self.engine.connect() as conn:
                return run_query(conn, request, self.settings)
        except OperationalError as exc:
            log.warning("registry database unavailable: %s", exc)
            return refused(ErrorCode.XDSRegistryBusy, f"registry database busy: {exc.orig}")

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


def _failed(code: ErrorCode, message: str) -> Submitted:
    return Submitted(RegistryResponse.from_errors([XDSError(code, message)]))


def _with_findings(findings: list[XDSError], response: RegistryResponse) -> RegistryResponse:
    """A refusal, with the validation warnings found before it."""
    return RegistryResponse.from_errors([*findings, *response.errors])


__all__ = ["Registry", "Submitted"]
