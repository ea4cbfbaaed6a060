"""The audit trail of a repository serving alone (`xds serve --role repository`).

A co-located registry records ITI-41 (as the ITI-42 it registers), ITI-43 and ITI-86 in its
`audit_events`. A repository in a process of its own has no registry beside it, yet what it
serves must be traced too: `AuditTrail` writes the same events, in the same table and format
(`registry.audit`), into the repository's own database (its index database, migrated with
the registry's schema). A write that fails is logged and reported, as the registry does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from ebrim.model import Metadata
from pki.assertion import Requester
from registry import audit
from registry.audit import AuditTransaction, Outcome
from registry.storage import write_transaction

log = logging.getLogger(__name__)


class AuditTrail:
    """ITI-41, ITI-43 and ITI-86 events of a repository serving alone, in its own database."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))

    def audit_provide(
        self,
        requester: Requester | None,
        metadata: Metadata,
        *,
        success: bool,
        detail: str | None = None,
    ) -> bool:
        submission_set = metadata.submission_sets[0] if metadata.submission_sets else None
        return self._record(
            AuditTransaction.PROVIDE,
            requester,
            [d.unique_id for d in metadata.documents if d.unique_id],
            success=success,
            patient_id=submission_set.patient_id if submission_set else None,
            detail=detail,
            submission_set_id=submission_set.unique_id if submission_set else None,
        )

    def audit_retrieve(
        self,
        requester: Requester | None,
        consultation: object | None,
        unique_ids: Sequence[str],
        *,
        success: bool,
    ) -> bool:
        return self._record(AuditTransaction.RETRIEVE, requester, unique_ids, success=success)

    def audit_removal(
        self,
        requester: Requester | None,
        unique_ids: Sequence[str],
        *,
        success: bool,
        detail: str | None = None,
    ) -> bool:
        return self._record(
            AuditTransaction.REMOVE_DOCUMENTS, requester, unique_ids, success=success, detail=detail
        )

    def _record(
        self,
        transaction: AuditTransaction,
        requester: Requester | None,
        unique_ids: Sequence[str],
        *,
        success: bool,
        patient_id: str | None = None,
        detail: str | None = None,
        submission_set_id: str | None = None,
    ) -> bool:
        event = audit.event_for(
            transaction,
            Outcome.SUCCESS if success else Outcome.FAILURE,
            requester,
            patient_id=patient_id or (requester.patient_id if requester else None),
            document_ids=list(unique_ids),
            detail=detail,
            submission_set_id=submission_set_id,
        )
        try:
            with write_transaction(self.engine) as conn:
                audit.write_event(conn, event, self._clock())
        except DBAPIError as exc:
            log.error("audit event not recorded (%s): %s", transaction.value, exc)
            return False
        return True

    def history(self, patient_id: str) -> list[audit.AuditEvent]:
        """The events recorded here about a patient (as the registry's access history)."""
        with self.engine.connect() as conn:
            return audit.history(conn, patient_id)


__all__ = ["AuditTrail"]
