"""The record-management vocabulary (`soap.records_xml`) and its endpoint, in process.

Requests and answers read back as written; a malformed request is a Sender fault; a
refusal by the record's state or by the policy is a Failure answer with its error code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from policy_support import requester
from registry_fixtures import PATIENT, migrated_engine, new_registry
from soap_support import call, envelope

from registry import Registry
from registry.audit import AuditEvent, Outcome
from registry.records import Authorisation, GranteeKind, RecordState, RecordStatus
from soap import make_app
from soap.records_operations import perform
from soap.records_xml import (
    NS,
    RecordAction,
    RecordAnswer,
    RecordRequest,
    RecordRequestError,
    parse_answer,
    parse_request,
    render_answer,
    render_request,
)

PATH = "/xds/records"
WHEN = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

REQUESTS = [
    RecordRequest(RecordAction.OPEN, PATIENT, by="Dr House"),
    RecordRequest(RecordAction.REOPEN, PATIENT),
    RecordRequest(RecordAction.CLOSE, PATIENT),
    RecordRequest(RecordAction.GRANT, PATIENT, "810000000001", expires_at=WHEN),
    RecordRequest(RecordAction.GRANT, PATIENT, "10123456789", GranteeKind.STRUCTURE),
    RecordRequest(RecordAction.REVOKE, PATIENT, "810000000001"),
    RecordRequest(RecordAction.BLOCK, PATIENT, "810000000003"),
    RecordRequest(RecordAction.UNBLOCK, PATIENT, "810000000003"),
    RecordRequest(RecordAction.OPPOSE_EMERGENCY_ACCESS, PATIENT, opposed=False),
    RecordRequest(RecordAction.ACCESS_HISTORY, PATIENT),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.action.value)
def test_request_reads_back_as_written(request_: RecordRequest) -> None:
    element = etree.fromstring(etree.tostring(render_request(request_)))
    assert parse_request(element, request_.action) == request_


BAD = {
    "no patient": ("<rec:GrantRequest xmlns:rec='{ns}'/>", RecordAction.GRANT),
    "no grantee": (
        "<rec:GrantRequest xmlns:rec='{ns}'><rec:PatientId>P</rec:PatientId></rec:GrantRequest>",
        RecordAction.GRANT,
    ),
    "bad grantee kind": (
        "<rec:RevokeRequest xmlns:rec='{ns}'><rec:PatientId>P</rec:PatientId>"
        "<rec:Grantee kind='cousin'>X</rec:Grantee></rec:RevokeRequest>",
        RecordAction.REVOKE,
    ),
    "bad date": (
        "<rec:GrantRequest xmlns:rec='{ns}'><rec:PatientId>P</rec:PatientId>"
        "<rec:Grantee>X</rec:Grantee><rec:ExpiresAt>soon</rec:ExpiresAt></rec:GrantRequest>",
        RecordAction.GRANT,
    ),
    "bad boolean": (
        "<rec:OpposeEmergencyAccessRequest xmlns:rec='{ns}'><rec:PatientId>P</rec:PatientId>"
        "<rec:Opposed>maybe</rec:Opposed></rec:OpposeEmergencyAccessRequest>",
        RecordAction.OPPOSE_EMERGENCY_ACCESS,
    ),
    "another action's body": (
        "<rec:OpenRecordRequest xmlns:rec='{ns}'><rec:PatientId>P</rec:PatientId>"
        "</rec:OpenRecordRequest>",
        RecordAction.CLOSE,
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_request_is_rejected(case: str) -> None:
    text, action = BAD[case]
    with pytest.raises(RecordRequestError):
        parse_request(etree.fromstring(text.format(ns=NS)), action)


def test_answer_reads_back_as_written() -> None:
    state = RecordState(PATIENT, RecordStatus.OPEN, True, blocked=frozenset({"B1"}))
    granted = Authorisation(PATIENT, GranteeKind.PROFESSIONAL, "P1", "me", WHEN, WHEN)
    event = AuditEvent(
        "ITI-18",
        Outcome.SUCCESS,
        document_ids=("1.2.3",),
        requester_kind="professional",
        professional_id="P2",
        purpose_of_use="bris_de_glace",
        emergency=True,
        detail="why",
        occurred_at=WHEN,
    )
    answer = RecordAnswer(True, record=state, authorisations=(granted,), events=(event,))
    read = parse_answer(etree.fromstring(etree.tostring(render_answer(answer))))
    assert read.success and read.record is not None
    assert (read.record.status, read.record.emergency_opposition, read.record.blocked) == (
        RecordStatus.OPEN,
        True,
        {"B1"},
    )
    assert read.authorisations == (granted,)
    assert read.events == (event,)
    failure = RecordAnswer(False, "RecordStateError", "not open")
    back = parse_answer(render_answer(failure))
    assert (back.success, back.error_code, back.error) == (False, "RecordStateError", "not open")


# --- the endpoint ------------------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Registry]:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        yield new_registry(engine, PATIENT)


def _send(app, record_request: RecordRequest):
    action = record_request.action.soap_action
    return call(app, PATH, envelope(action, render_request(record_request)))


def test_endpoint_opens_grants_and_answers_the_record(registry) -> None:
    app = make_app(registry=registry)
    assert parse_answer(_send(app, REQUESTS[0]).payload()).success
    answer = _send(app, REQUESTS[3])
    assert answer.status == 200
    read = parse_answer(answer.payload())
    assert read.success and read.record is not None and read.record.status is RecordStatus.OPEN
    assert [a.grantee_id for a in read.authorisations] == ["810000000001"]
    assert registry.records.state(PATIENT).authorised_professionals == {"810000000001"}


def test_endpoint_answers_a_state_error_as_failure(registry) -> None:
    answer = parse_answer(_send(make_app(registry=registry), REQUESTS[2]).payload())
    assert (answer.success, answer.error_code) == (False, "RecordStateError")


def test_endpoint_answers_a_malformed_request_with_a_sender_fault(registry) -> None:
    body = etree.fromstring(f"<rec:GrantRequest xmlns:rec='{NS}'/>")
    answer = call(make_app(registry=registry), PATH, envelope(RecordAction.GRANT.soap_action, body))
    assert answer.status == 400 and answer.fault_codes()[0].endswith("Sender")


def test_policy_refuses_a_professional_closing_the_record(registry) -> None:
    registry.records.open(PATIENT, consent_by="the patient")
    doctor = requester("810000000001")
    answer = perform(registry, RecordRequest(RecordAction.CLOSE, PATIENT), doctor)
    assert (answer.success, answer.error_code) == (False, "LocalPolicyRestrictionError")
    assert registry.records.state(PATIENT).is_open


def test_professional_with_indirect_authentication_cannot_open(registry) -> None:
    indirect = requester("810000000001", mode="INDIRECTE")
    answer = perform(registry, RecordRequest(RecordAction.OPEN, PATIENT), indirect)
    assert not answer.success and "DIRECTE" in (answer.error or "")
    direct = requester("810000000001")
    assert perform(registry, RecordRequest(RecordAction.OPEN, PATIENT), direct).success


def test_history_hides_secret_events_from_a_legal_representative(registry) -> None:
    registry.record_event(AuditEvent("ITI-18", Outcome.SUCCESS, PATIENT, secret=True))
    registry.record_event(AuditEvent("ITI-18", Outcome.SUCCESS, PATIENT))
    history = RecordRequest(RecordAction.ACCESS_HISTORY, PATIENT)
    guardian = requester("G1", kind="legal_representative")
    own = requester("P1", kind="patient")
    assert len(perform(registry, history, guardian).events) == 1
    assert len(perform(registry, history, own).events) == 2
