"""The access rules, table-driven, at the actor: Registry.query with a verified Requester.

Each row: who asks (kind, profession, authentication mode, purpose of use, authorisation
state) about whose record → the documents FindDocuments returns, or the refusal code.
The world (tests/policy_support.py): PATIENT's record is open, with documents of two
typeCodes (biology, dental) and each confidentiality flag, all authored by AUTHOR, one
Deleted; OPPOSED_PATIENT opposed break-the-glass; CLOSED_PATIENT's record is closed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from policy_support import (
    AUTHOR,
    AUTHORISED,
    AUTHORISED_STRUCTURE,
    BLOCKED,
    CLOSED_PATIENT,
    OPPOSED_PATIENT,
    PHARMACIST,
    STRANGER,
    PolicyWorld,
    policy_world,
    requester,
)
from registry_fixtures import BACKENDS, OTHER_PATIENT, PATIENT

from registry.policy import Decision, RequesterKind, decide_consultation
from registry.records import RecordState, RecordStatus

REFUSED = "LocalPolicyRestrictionError"
ALL = {"plain", "dental", "masked", "hidden_from_patient", "hidden_from_parents"}
PROFESSIONAL_VIEW = ALL - {"masked"}
PHARMACIST_VIEW = {"plain", "hidden_from_patient", "hidden_from_parents"}  # no dental typeCode
PATIENT_VIEW = ALL - {"hidden_from_patient"}
REPRESENTATIVE_VIEW = ALL - {"hidden_from_patient", "hidden_from_parents"}


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PolicyWorld]:
    with policy_world(request.param, tmp_path_factory, request) as built:
        yield built


Row = tuple[str, dict[str, Any], str, "set[str] | str"]
RULES: list[Row] = [
    # authorised professionals, by authentication mode
    ("authorised-direct", {"professional_id": AUTHORISED}, PATIENT, PROFESSIONAL_VIEW),
    (
        "authorised-indirect-reinforced",
        {"professional_id": AUTHORISED, "mode": "INDIRECTE_RENFORCEE"},
        PATIENT,
        PROFESSIONAL_VIEW,
    ),
    ("authorised-indirect", {"professional_id": AUTHORISED, "mode": "INDIRECTE"}, PATIENT, REFUSED),
    ("authorised-no-mode", {"professional_id": AUTHORISED, "mode": None}, PATIENT, REFUSED),
    # masking: the author sees what is masked from the other professionals
    ("author-sees-masked", {"professional_id": AUTHOR}, PATIENT, ALL),
    # authorisation states
    ("stranger", {"professional_id": STRANGER}, PATIENT, REFUSED),
    (
        "stranger-in-authorised-structure",
        {"professional_id": STRANGER, "structure": AUTHORISED_STRUCTURE},
        PATIENT,
        PROFESSIONAL_VIEW,
    ),
    ("blocked", {"professional_id": BLOCKED}, PATIENT, REFUSED),
    (
        "blocked-break-the-glass",
        {"professional_id": BLOCKED, "purpose": "bris_de_glace"},
        PATIENT,
        REFUSED,
    ),
    ("blocked-centre-15", {"professional_id": BLOCKED, "purpose": "centre_15"}, PATIENT, REFUSED),
    # purposes of use
    (
        "centre-15",
        {"professional_id": STRANGER, "purpose": "centre_15"},
        PATIENT,
        PROFESSIONAL_VIEW,
    ),
    (
        "centre-15-indirect",
        {"professional_id": STRANGER, "purpose": "centre_15", "mode": "INDIRECTE"},
        PATIENT,
        REFUSED,
    ),
    (
        "break-the-glass-direct",
        {"professional_id": STRANGER, "purpose": "bris_de_glace"},
        PATIENT,
        PROFESSIONAL_VIEW,
    ),
    (
        "break-the-glass-reinforced",
        {"professional_id": STRANGER, "purpose": "bris_de_glace", "mode": "INDIRECTE_RENFORCEE"},
        PATIENT,
        REFUSED,
    ),
    (
        "break-the-glass-opposed",
        {"professional_id": STRANGER, "purpose": "bris_de_glace", "patient": OPPOSED_PATIENT},
        OPPOSED_PATIENT,
        REFUSED,
    ),
    (
        "centre-15-despite-opposition",
        {"professional_id": STRANGER, "purpose": "centre_15", "patient": OPPOSED_PATIENT},
        OPPOSED_PATIENT,
        {"other"},
    ),
    ("unknown-purpose", {"professional_id": AUTHORISED, "purpose": "ETREAT"}, PATIENT, REFUSED),
    # the profession x typeCode matrix
    ("pharmacist", {"professional_id": PHARMACIST, "profession": "21"}, PATIENT, PHARMACIST_VIEW),
    ("unlisted-profession", {"professional_id": AUTHORISED, "profession": "99"}, PATIENT, set()),
    ("no-profession", {"professional_id": AUTHORISED, "profession": None}, PATIENT, set()),
    # the patient's side
    ("patient", {"kind": "patient"}, PATIENT, PATIENT_VIEW),
    ("patient-indirect", {"kind": "patient", "mode": "INDIRECTE"}, PATIENT, PATIENT_VIEW),
    ("legal-representative", {"kind": "legal_representative"}, PATIENT, REPRESENTATIVE_VIEW),
    # record states
    (
        "closed-record",
        {"professional_id": STRANGER, "purpose": "centre_15", "patient": CLOSED_PATIENT},
        CLOSED_PATIENT,
        REFUSED,
    ),
    (
        "closed-record-patient",
        {"kind": "patient", "patient": CLOSED_PATIENT},
        CLOSED_PATIENT,
        {"other"},
    ),
    ("never-opened-record", {"kind": "patient", "patient": OTHER_PATIENT}, OTHER_PATIENT, REFUSED),
    ("no-patient-in-assertion", {"professional_id": AUTHORISED, "patient": None}, PATIENT, REFUSED),
    # the assertion's patient bounds the answer: another patient's documents are not returned
    ("query-about-another-patient", {"professional_id": AUTHORISED}, OPPOSED_PATIENT, set()),
]


@pytest.mark.parametrize(
    ("who", "patient", "expected"),
    [pytest.param(kw, patient, expected, id=name) for name, kw, patient, expected in RULES],
)
def test_access_rule(
    world: PolicyWorld, who: dict[str, Any], patient: str, expected: set[str] | str
) -> None:
    assert world.visible_names(requester(**who), patient) == expected


def test_deleted_documents_are_never_returned_even_to_their_author(world: PolicyWorld) -> None:
    assert "deleted" not in world.visible_names(requester(AUTHOR))


def test_without_requester_the_query_is_unfiltered(world: PolicyWorld) -> None:
    from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
    from ebrim.vocabulary import ReturnType

    query = FindDocumentsQuery(
        patient_id=PATIENT,
        statuses=(
            "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved",
            "urn:asip:ci-sis:2010:StatusType:Deleted",
        ),
    )
    result = world.registry.query(StoredQueryRequest(query, ReturnType.OBJECT_REF))
    assert len(result.object_refs) == len(ALL) + 1


@pytest.mark.parametrize(
    ("purpose", "emergency"), [("normal", False), ("bris_de_glace", True), ("centre_15", True)]
)
def test_emergency_accesses_are_flagged_by_the_decision(purpose: str, emergency: bool) -> None:
    record = RecordState(
        PATIENT, RecordStatus.OPEN, authorised_professionals=frozenset({AUTHORISED})
    )
    decision = decide_consultation(requester(AUTHORISED, purpose=purpose), record)
    assert decision == Decision(True, emergency, decision.reason, RequesterKind.PROFESSIONAL)


def test_a_refusal_says_why() -> None:
    record = RecordState(PATIENT, RecordStatus.OPEN, blocked=frozenset({BLOCKED}))
    decision = decide_consultation(requester(BLOCKED), record)
    assert not decision.allowed
    assert "blocked by the patient" in decision.reason
