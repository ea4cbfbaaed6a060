"""The audit trail: one event per transaction, emergency accesses flagged, secret ones hidden
from legal representatives, refusals traced as failures, and the table append-only."""

from __future__ import annotations

import pytest
from policy_support import (
    AUTHOR,
    AUTHORISED,
    STRANGER,
    consenting_registry,
    flag,
    requester,
)
from registry_fixtures import PATIENT, Submission
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import DatabaseError
from update_support import APPROVED, DELETED, status_change

from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from ebrim.vocabulary import ReturnType
from registry import Registry
from registry.audit import Outcome
from registry.policy import RequesterKind
from registry.records_schema import audit_events


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return consenting_registry(engine)


def find(registry: Registry, who: object) -> None:
    query = FindDocumentsQuery(patient_id=PATIENT, statuses=(APPROVED,))
    registry.query(StoredQueryRequest(query, ReturnType.OBJECT_REF), requester=who)  # type: ignore[arg-type]


def submit(registry: Registry, *flags: str) -> dict[str, str]:
    submission = Submission()
    doc = submission.add()
    if flags:
        submission.documents[0] = doc.__class__(
            **{**doc.__dict__, "confidentiality_codes": tuple(flag(f) for f in flags)}
        )
    submitted = registry.submit(submission.build(), requester=requester(AUTHOR))
    assert submitted.ids, submitted.response.errors
    return {"uuid": submitted.ids["Document01"], "unique_id": doc.unique_id or ""}


def test_each_transaction_writes_one_event_with_who_and_what(registry: Registry) -> None:
    doc = submit(registry)
    find(registry, requester(AUTHORISED))
    registry.update(status_change(doc["uuid"], APPROVED, DELETED), requester=requester(AUTHOR))

    register, query, deletion = registry.audit_history(PATIENT)
    assert (register.transaction, register.outcome) == ("ITI-42", Outcome.SUCCESS)
    assert register.document_ids == (doc["unique_id"],)
    assert (register.professional_id, register.software) == (AUTHOR, "LPS-Test 1.0")
    assert (query.transaction, query.professional_id, query.purpose_of_use) == (
        "ITI-18",
        AUTHORISED,
        "normal",
    )
    assert query.document_ids == (doc["unique_id"],)
    assert (query.structure_id, query.authentication_mode) == ("19999999999", "DIRECTE")
    assert not query.emergency
    assert (deletion.transaction, deletion.outcome) == ("ITI-57", Outcome.SUCCESS)
    assert deletion.document_ids == (doc["uuid"],)  # the entry whose status changed
    assert deletion.detail == "status Approved -> Deleted"


def test_an_emergency_access_is_flagged_in_the_history(registry: Registry) -> None:
    submit(registry)
    find(registry, requester(STRANGER, purpose="bris_de_glace"))
    last = registry.audit_history(PATIENT)[-1]
    assert (last.professional_id, last.emergency, last.purpose_of_use) == (
        STRANGER,
        True,
        "bris_de_glace",
    )


def test_a_refused_consultation_is_traced_as_a_failure(registry: Registry) -> None:
    find(registry, requester(STRANGER))
    [event] = registry.audit_history(PATIENT)
    assert (event.outcome, event.professional_id) == (Outcome.FAILURE, STRANGER)
    assert "not authorised" in (event.detail or "")


def test_a_failed_register_writes_a_failure_event_only(registry: Registry) -> None:
    registry.records.close(PATIENT, by="patient")
    submission = Submission()
    submission.add()
    registry.register(submission.build(), requester=requester(AUTHOR))
    [event] = registry.audit_history(PATIENT)
    assert event.outcome is Outcome.FAILURE
    assert "XDSUnknownPatientId" in (event.detail or "")


def test_deletion_by_another_than_the_author_is_refused_and_traced(registry: Registry) -> None:
    doc = submit(registry)
    response = registry.update(
        status_change(doc["uuid"], APPROVED, DELETED), requester=requester(AUTHORISED)
    )
    assert [e.code.value for e in response.errors] == ["LocalPolicyRestrictionError"]
    assert registry.audit_history(PATIENT)[-1].outcome is Outcome.FAILURE


def test_secret_accesses_are_hidden_from_legal_representatives(registry: Registry) -> None:
    submit(registry, "INVISIBLE_REPRESENTANTS_LEGAUX")
    find(registry, requester(AUTHORISED))
    everything = registry.audit_history(PATIENT, viewer_kind=RequesterKind.PATIENT)
    assert [e.secret for e in everything] == [True, True]
    assert registry.audit_history(PATIENT, viewer_kind=RequesterKind.LEGAL_REPRESENTATIVE) == []


def test_a_query_without_requester_is_traced_too(registry: Registry) -> None:
    submit(registry)
    find(registry, None)
    last = registry.audit_history(PATIENT)[-1]
    assert (last.transaction, last.professional_id, last.requester_kind) == ("ITI-18", None, None)


def test_the_audit_table_is_append_only(registry: Registry, engine: Engine) -> None:
    submit(registry)
    for statement in (update(audit_events).values(outcome="x"), delete(audit_events)):
        with pytest.raises(DatabaseError), engine.begin() as conn:
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(select(audit_events.c.outcome)).scalars().all() == ["success"]
