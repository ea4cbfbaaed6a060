"""Record management: consent, close and reopen, authorisations, blocks, emergency opposition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from policy_support import AUTHORISED, STRANGER, open_registry, requester
from registry_fixtures import PATIENT, Submission, codes_of
from sqlalchemy import Engine

from ebrim.profile import Profile
from ebrim.vocabulary import ResponseStatus
from registry import Registry
from registry.records import GranteeKind, RecordError, RecordStatus

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return open_registry(engine)


def test_open_close_reopen(registry: Registry) -> None:
    records = registry.records
    assert records.state(PATIENT).status is RecordStatus.NONE
    assert records.open(PATIENT, consent_by="patient").status is RecordStatus.OPEN
    with pytest.raises(RecordError):
        records.open(PATIENT, consent_by="patient")
    records.close(PATIENT, by="patient")
    assert records.state(PATIENT).status is RecordStatus.CLOSED
    with pytest.raises(RecordError):
        records.close(PATIENT, by="patient")
    assert records.reopen(PATIENT, consent_by="Dr X").status is RecordStatus.OPEN


def test_dmp_register_needs_an_open_record(registry: Registry) -> None:
    submission = Submission()
    submission.add()
    [error] = registry.register(submission.build()).errors
    assert (error.code.value, error.location) == ("XDSUnknownPatientId", PATIENT)

    registry.records.open(PATIENT, consent_by="patient")
    assert registry.register(submission.build()).status is ResponseStatus.SUCCESS


def test_dmp_register_on_a_closed_record_is_refused(registry: Registry) -> None:
    registry.records.open(PATIENT, consent_by="patient")
    registry.records.close(PATIENT, by="patient")
    submission = Submission()
    submission.add()
    assert codes_of(registry.register(submission.build())) == ["XDSUnknownPatientId"]


def test_generic_profile_registers_without_a_record(engine: Engine) -> None:
    registry = open_registry(engine, Profile.GENERIC)
    submission = Submission()
    submission.add()
    assert registry.register(submission.build()).status is ResponseStatus.SUCCESS


def test_grant_revoke_and_list(registry: Registry) -> None:
    records = registry.records
    records.open(PATIENT, consent_by="patient")
    records.grant(PATIENT, AUTHORISED, by="patient")
    records.grant(PATIENT, "10123", kind=GranteeKind.STRUCTURE, by="patient")
    assert {(a.grantee_kind, a.grantee_id) for a in records.authorisations(PATIENT)} == {
        (GranteeKind.PROFESSIONAL, AUTHORISED),
        (GranteeKind.STRUCTURE, "10123"),
    }
    assert registry.consultation(requester(AUTHORISED)).decision.allowed

    assert records.revoke(PATIENT, AUTHORISED, by="patient") == 1
    assert records.state(PATIENT).authorised_professionals == frozenset()
    assert not registry.consultation(requester(AUTHORISED)).decision.allowed
    [revoked] = [a for a in records.authorisations(PATIENT, active_only=False) if a.revoked_at]
    assert revoked.revoked_by == "patient"


def test_an_authorisation_expires(registry: Registry) -> None:
    records = registry.records
    records.open(PATIENT, consent_by="patient")
    records.grant(PATIENT, AUTHORISED, by="patient", expires_at=NOW + timedelta(days=1))
    records.grant(PATIENT, STRANGER, by="patient", expires_at=NOW - timedelta(seconds=1))
    assert records.state(PATIENT).authorised_professionals == frozenset({AUTHORISED})
    assert [a.grantee_id for a in records.authorisations(PATIENT)] == [AUTHORISED]
    assert not registry.consultation(requester(STRANGER)).decision.allowed


def test_a_blocked_professional_is_refused_even_when_authorised(registry: Registry) -> None:
    records = registry.records
    records.open(PATIENT, consent_by="patient")
    records.grant(PATIENT, AUTHORISED, by="patient")
    records.block(PATIENT, AUTHORISED, by="patient")
    records.block(PATIENT, AUTHORISED, by="patient")  # idempotent
    assert records.blocked(PATIENT) == [AUTHORISED]
    for purpose in ("normal", "bris_de_glace", "centre_15"):
        decision = registry.consultation(requester(AUTHORISED, purpose=purpose)).decision
        assert not decision.allowed and "blocked" in decision.reason
    records.unblock(PATIENT, AUTHORISED)
    assert registry.consultation(requester(AUTHORISED)).decision.allowed


def test_opposition_to_emergency_access(registry: Registry) -> None:
    records = registry.records
    records.open(PATIENT, consent_by="patient")
    glass = requester(STRANGER, purpose="bris_de_glace")
    assert registry.consultation(glass).decision.emergency
    records.oppose_emergency_access(PATIENT)
    assert not registry.consultation(glass).decision.allowed
    records.oppose_emergency_access(PATIENT, opposed=False)
    assert registry.consultation(glass).decision.allowed


def test_operations_on_a_patient_without_record_are_refused(registry: Registry) -> None:
    with pytest.raises(RecordError):
        registry.records.grant(PATIENT, AUTHORISED, by="patient")
    with pytest.raises(RecordError):
        registry.records.block(PATIENT, AUTHORISED, by="patient")
