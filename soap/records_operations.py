"""The record-management endpoint: consent, authorisations, blocks, access history.

Each operation (`soap.records_xml.RecordAction`) asks `registry.policy.management` first
(who may manage the record), applies `registry.records.Records`, writes an audit event
(transaction `records:<Name>`) and answers the record as it now stands. AccessHistory
answers the patient's audit trail, without the secret accesses when a legal
representative asks. The assertion's patient must be the body's (`patient_of`), so a
requester manages only the record its assertion names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pki.assertion import Requester
from registry.audit import AuditEvent, Outcome, event_for
from registry.policy.decide import RequesterKind
from registry.policy.management import decide_management
from registry.records import RecordError, Records
from soap.faults import sender
from soap.operations import Operation, Reply, Request
from soap.records_xml import (
    RecordAction,
    RecordAnswer,
    RecordErrorCode,
    RecordRequest,
    RecordRequestError,
    parse_request,
    patient_of_request,
    render_answer,
)

if TYPE_CHECKING:
    from registry.policy import Policy

OPERATOR = "operator"  # who acted, when neither an assertion nor rec:By says


class RecordsActor(Protocol):
    """What the endpoint needs of `registry.Registry`."""

    records: Records
    policy: Policy

    def record_event(self, event: AuditEvent) -> bool: ...

    def audit_history(
        self, patient_id: str, *, viewer_kind: RequesterKind | str = RequesterKind.PATIENT
    ) -> list[AuditEvent]: ...


def records_operations(registry: RecordsActor) -> dict[str, Operation]:
    """One Operation per `RecordAction`, each answering `rec:RecordResponse`."""

    def handler(action: RecordAction) -> Callable[[Request], Reply]:
        def handle(request: Request) -> Reply:
            try:
                parsed = parse_request(request.payload, action)
            except RecordRequestError as exc:
                raise sender(str(exc)) from None
            answer = perform(registry, parsed, request.requester)
            status = "Success" if answer.success else "Failure"
            return Reply(render_answer(answer), status, patient_id=parsed.patient_id)

        return handle

    return {
        action.soap_action: Operation(
            action.soap_action,
            f"{action.soap_action}Response",
            handler(action),
            patient_of=patient_of_request,
        )
        for action in RecordAction
    }


def perform(
    registry: RecordsActor, request: RecordRequest, requester: Requester | None
) -> RecordAnswer:
    """One record-management action, decided, applied and audited: the SOAP operation's
    work, and the patient portal's (`web.portal`), so that both enforce the same."""
    kind = registry.policy.kind_of(requester) if requester is not None else RequesterKind.PATIENT
    decision = decide_management(requester, request.action.value, kind)
    patient = request.patient_id
    if not decision.allowed:
        _audit(registry, request, requester, kind, Outcome.FAILURE, decision.reason)
        return RecordAnswer(False, RecordErrorCode.POLICY.value, decision.reason)
    by = _who(requester, request)
    records = registry.records
    events: list[AuditEvent] = []
    try:
        match request.action:
            case RecordAction.OPEN | RecordAction.REOPEN:
                records.open(patient, consent_by=by)
            case RecordAction.CLOSE:
                records.close(patient, by=by)
            case RecordAction.GRANT:
                assert request.grantee_id is not None  # parse_request made sure
                records.grant(
                    patient,
                    request.grantee_id,
                    kind=request.grantee_kind,
                    by=by,
                    expires_at=request.expires_at,
                )
            case RecordAction.REVOKE:
                assert request.grantee_id is not None
                records.revoke(patient, request.grantee_id, kind=request.grantee_kind, by=by)
            case RecordAction.BLOCK:
                assert request.grantee_id is not None
                records.block(patient, request.grantee_id, by=by)
            case RecordAction.UNBLOCK:
                assert request.grantee_id is not None
                records.unblock(patient, request.grantee_id)
            case RecordAction.OPPOSE_EMERGENCY_ACCESS:
                records.oppose_emergency_access(patient, request.opposed)
            case RecordAction.ACCESS_HISTORY:
                events = registry.audit_history(patient, viewer_kind=kind)
    except RecordError as exc:
        _audit(registry, request, requester, kind, Outcome.FAILURE, str(exc))
        return RecordAnswer(False, RecordErrorCode.STATE.value, str(exc))
    if request.action is not RecordAction.ACCESS_HISTORY:
        _audit(registry, request, requester, kind, Outcome.SUCCESS, None)
    return RecordAnswer(
        True,
        record=records.state(patient),
        authorisations=tuple(records.authorisations(patient)),
        events=tuple(events),
    )


def _who(requester: Requester | None, request: RecordRequest) -> str:
    if requester is not None:
        return requester.professional_id or requester.name or OPERATOR
    return request.by or OPERATOR


def _audit(
    registry: RecordsActor,
    request: RecordRequest,
    requester: Requester | None,
    kind: RequesterKind,
    outcome: Outcome,
    detail: str | None,
) -> None:
    subject = [request.grantee_id] if request.grantee_id else []
    event = event_for(
        f"records:{request.action.value}",
        outcome,
        requester,
        kind=kind if requester is not None else None,
        patient_id=request.patient_id,
        document_ids=(),
        detail="; ".join(filter(None, [detail, *subject])) or None,
    )
    registry.record_event(event)


__all__ = ["RecordsActor", "perform", "records_operations"]
