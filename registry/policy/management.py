"""Who may manage a patient's record (the record-management operations of `/xds/records`).

The record is the patient's: the patient, or a minor's legal representative, may do
everything (close it, grant and revoke authorisations, block professionals, oppose
emergency access, read the access history). A professional may only open or reopen the
record, recording the patient's consent, and only with an authentication that may
consult (DIRECTE or INDIRECTE_RENFORCEE). Without a requester (security off, or optional
and no assertion) the caller is a trusted operator and everything is allowed.
"""

from __future__ import annotations

from pki.assertion import Requester
from registry.policy.decide import CONSULTING_MODES, Decision, RequesterKind

OPENING = frozenset({"OpenRecord", "ReopenRecord"})


def decide_management(requester: Requester | None, action: str, kind: RequesterKind) -> Decision:
    """May `requester` (of `kind`) perform the record operation named `action`?"""
    if requester is None or kind is not RequesterKind.PROFESSIONAL:
        return Decision(
            True, reason=f"{kind.value.replace('_', ' ')} manages the record", kind=kind
        )
    who = requester.professional_id or requester.name or "the requester"
    if action not in OPENING:
        return Decision(
            False,
            reason=f"only the patient or a legal representative may {action} (not {who})",
            kind=kind,
        )
    mode = requester.authentication_mode or "INDIRECTE"
    if mode not in CONSULTING_MODES:
        return Decision(
            False,
            reason=f"opening a record records the patient's consent: authentication mode {mode}"
            " is not enough (DIRECTE or INDIRECTE_RENFORCEE)",
            kind=kind,
        )
    return Decision(True, reason=f"professional {who} records the patient's consent", kind=kind)


__all__ = ["decide_management"]
