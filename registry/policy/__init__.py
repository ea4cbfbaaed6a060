"""The access policy: one place that decides who may consult what (DESIGN.md §5).

Public API::

    policy = Policy.load(settings.access_rules)    # None: the shipped defaults
    decision = policy.decide_consultation(requester, record_state)  # allowed, emergency, reason
    visibility = policy.visibility(requester, patient_id)        # SQL the queries apply
    registry.update(metadata, policy=policy.status_policy(requester))

The rules are data (`access_rules.json`, format in `registry.policy.rules`); the decisions
are `registry.policy.decide`, the masking `registry.policy.visibility`, the lifecycle
rights `registry.policy.updates`. The Registry uses this package when a query, a retrieve
or an update names its requester.
"""

from __future__ import annotations

from pathlib import Path

from ebrim.hl7 import patient_key
from pki.assertion import Requester
from registry.policy.decide import Decision, RequesterKind, kind_of
from registry.policy.decide import decide_consultation as _decide
from registry.policy.rules import AccessRules, RulesError, load_rules
from registry.policy.updates import VersionPolicy, status_policy, version_policy
from registry.policy.visibility import Visibility
from registry.records import RecordState
from registry.status import StatusPolicy


class Policy:
    """The access rules, loaded once, and the decisions made with them."""

    def __init__(self, rules: AccessRules) -> None:
        self.rules = rules

    @classmethod
    def load(cls, path: Path | None = None) -> Policy:
        return cls(load_rules(path))

    def kind_of(self, requester: Requester) -> RequesterKind:
        return kind_of(requester, self.rules)

    def decide_consultation(self, requester: Requester, record: RecordState) -> Decision:
        return _decide(requester, record, self.rules)

    def visibility(self, requester: Requester, patient_id: str) -> Visibility:
        """What `requester` may see of the record stored under `patient_id`."""
        patient_id = patient_key(patient_id)
        kind = self.kind_of(requester)
        professions = [c.code for c in requester.roles_in(self.rules.profession_system)]
        return Visibility(
            patient_id=patient_id,
            kind=kind,
            professional_id=requester.professional_id,
            readable_types=self.rules.readable_types(professions),
        )

    def status_policy(self, requester: Requester) -> StatusPolicy:
        return status_policy(requester, self.kind_of(requester))

    def version_policy(self, requester: Requester) -> VersionPolicy:
        return version_policy(requester, self.kind_of(requester))


def decide_consultation(
    requester: Requester, record: RecordState, rules: AccessRules | None = None
) -> Decision:
    """May `requester` consult `record`? (with the shipped rules unless `rules` is given)."""
    return _decide(requester, record, rules or load_rules())


__all__ = [
    "AccessRules",
    "Decision",
    "Policy",
    "RequesterKind",
    "RulesError",
    "Visibility",
    "decide_consultation",
]
