"""Who may consult a patient's record: the rules of DESIGN.md §5 "Access rules", in order.

1. The assertion must name the patient (resource-id); that is the record consulted.
2. A patient or a legal representative reads their own record once it exists (what they
   see is narrowed by the masking flags, `registry.policy.visibility`).
3. A professional the patient blocked is refused, whatever the purpose.
4. Indirect authentication (the establishment's certificate alone) cannot consult; only
   DIRECTE and INDIRECTE_RENFORCEE can. An assertion with no mode is indirect.
5. The record must be open.
6. centre_15 (emergency regulation) needs no authorisation; it is flagged as an emergency.
7. bris_de_glace needs direct authentication and no opposition from the patient; allowed,
   it is flagged as an emergency.
8. Otherwise (normal) the professional, or their structure, must be authorised.

Feeding documents needs no authorisation (`decide_feed`): only an open record, and only
when the settings ask for it (the DMP profile), which the registration itself checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pki.assertion import Requester
from pki.assertion.names import AuthenticationMode, PurposeOfUse
from registry.policy.rules import AccessRules
from registry.records import RecordState, RecordStatus


class RequesterKind(StrEnum):
    PROFESSIONAL = "professional"
    PATIENT = "patient"
    LEGAL_REPRESENTATIVE = "legal_representative"


@dataclass(frozen=True)
class Decision:
    """The policy's answer: allowed or not, an emergency access or not, and why."""

    allowed: bool
    emergency: bool = False
    reason: str = ""
    kind: RequesterKind = RequesterKind.PROFESSIONAL


def kind_of(requester: Requester, rules: AccessRules) -> RequesterKind:
    """Patient, legal representative or professional, from the assertion's roles."""
    roles = {(r.code, r.code_system) for r in requester.roles}
    if roles & rules.patient_roles:
        return RequesterKind.PATIENT
    if roles & rules.legal_representative_roles:
        return RequesterKind.LEGAL_REPRESENTATIVE
    return RequesterKind.PROFESSIONAL


def purpose_of(requester: Requester) -> str:
    return requester.purpose_of_use.code if requester.purpose_of_use else PurposeOfUse.NORMAL.value


CONSULTING_MODES = frozenset(
    {AuthenticationMode.DIRECT.value, AuthenticationMode.INDIRECT_REINFORCED.value}
)


def decide_consultation(requester: Requester, record: RecordState, rules: AccessRules) -> Decision:
    """May `requester` consult (ITI-18, ITI-43) the record `record`? See the module docstring."""
    kind = kind_of(requester, rules)
    who = requester.professional_id or requester.name or "the requester"

    def refuse(reason: str) -> Decision:
        return Decision(False, False, reason, kind)

    if not requester.patient_id:
        return refuse("the assertion names no patient (resource-id): whose record is consulted?")
    if kind is not RequesterKind.PROFESSIONAL:
        if record.status is RecordStatus.NONE:
            return refuse(f"{record.patient_id} has no record")
        return Decision(True, False, f"the {kind.value.replace('_', ' ')} reads the record", kind)
    if requester.professional_id in record.blocked:
        return refuse(f"professional {who} is blocked by the patient")
    mode = requester.authentication_mode or AuthenticationMode.INDIRECT.value
    if mode not in CONSULTING_MODES:
        return refuse(
            f"authentication mode {mode} may feed documents but not consult them "
            "(DIRECTE or INDIRECTE_RENFORCEE is needed)"
        )
    if not record.is_open:
        return refuse(f"the record of {record.patient_id} is not open")
    purpose = purpose_of(requester)
    if purpose == PurposeOfUse.EMERGENCY_REGULATION:
        return Decision(
            True, True, "emergency regulation (centre_15): no authorisation needed", kind
        )
    if purpose == PurposeOfUse.BREAK_THE_GLASS:
        if mode != AuthenticationMode.DIRECT:
            return refuse("break-the-glass access needs direct authentication (DIRECTE)")
        if record.emergency_opposition:
            return refuse("the patient opposed break-the-glass access to the record")
        return Decision(True, True, "break-the-glass access, traced as such", kind)
    if purpose != PurposeOfUse.NORMAL:
        return refuse(f"purpose of use {purpose!r} is not one this registry's policy knows")
    if requester.professional_id in record.authorised_professionals:
        return Decision(True, False, f"professional {who} is authorised by the patient", kind)
    if requester.structure_id and requester.structure_id in record.authorised_structures:
        return Decision(
            True, False, f"structure {requester.structure_id} is authorised by the patient", kind
        )
    return refuse(f"professional {who} is not authorised by the patient to consult the record")


__all__ = ["Decision", "RequesterKind", "decide_consultation", "kind_of", "purpose_of"]
