"""What every validator shares: the message, the transaction, the profile, and the findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ebrim.errors import Transaction, XDSError
from ebrim.model import Metadata, RegistryObject, SubmissionSet
from ebrim.profile import Profile
from ebrim.validate.messages import Rule
from ebrim.validate.update_messages import UpdateRule
from ebrim.vocabulary import AssociationType

UUID_PREFIX = "urn:uuid:"


def kind(obj: RegistryObject) -> str:
    """The ebXML name of an object's kind, as messages spell it."""
    return type(obj).__name__


def describe(obj: RegistryObject) -> str:
    """``DocumentEntry Document01 (uniqueId 1.2.3)``: how messages name an object."""
    unique_id = getattr(obj, "unique_id", None)
    suffix = f" (uniqueId {unique_id})" if unique_id else ""
    return f"{kind(obj)} {obj.entry_uuid or '<no id>'}{suffix}"


def location_of(obj: RegistryObject) -> str:
    return obj.entry_uuid or getattr(obj, "unique_id", None) or ""


@dataclass
class Context:
    """One validation run; validators append to `findings` through `report`."""

    metadata: Metadata
    transaction: Transaction
    profile: Profile
    findings: list[XDSError] = field(default_factory=list)

    def report(
        self, rule: Rule | UpdateRule, obj: RegistryObject | None = None, /, **fields: Any
    ) -> None:
        """Record one violation of `rule` by `obj` (None for the message as a whole)."""
        if obj is None:
            self.findings.append(rule.error(self.transaction, "", **fields))
        else:
            fields.setdefault("object", describe(obj))
            self.findings.append(rule.error(self.transaction, location_of(obj), **fields))

    @property
    def is_provide_and_register(self) -> bool:
        """ITI-41: the repository computes hash, size and repositoryUniqueId itself."""
        return self.transaction is Transaction.ITI_41

    @cached_property
    def submission_set(self) -> SubmissionSet | None:
        return self.metadata.submission_set

    @cached_property
    def objects_by_id(self) -> dict[str, RegistryObject]:
        return self.metadata.by_id()

    @cached_property
    def document_ids(self) -> frozenset[str]:
        return frozenset(d.entry_uuid for d in self.metadata.documents)

    @cached_property
    def folder_ids(self) -> frozenset[str]:
        return frozenset(f.entry_uuid for f in self.metadata.folders)

    @cached_property
    def submission_set_ids(self) -> frozenset[str]:
        return frozenset(s.entry_uuid for s in self.metadata.submission_sets)

    @cached_property
    def association_ids(self) -> frozenset[str]:
        return frozenset(a.entry_uuid for a in self.metadata.associations)

    @cached_property
    def reference_ids(self) -> frozenset[str]:
        return frozenset(ref.id for ref in self.metadata.object_refs)

    @cached_property
    def submission_set_members(self) -> frozenset[str]:
        """Targets of the associations by which a SubmissionSet of the message holds an object.

        That is HasMember, and in ITI-57 SubmitAssociation too (the only transaction that
        allows it).
        """
        holding = (AssociationType.HAS_MEMBER, AssociationType.SUBMIT_ASSOCIATION)
        return frozenset(
            a.target
            for a in self.metadata.associations
            if a.known_type in holding and a.source in self.submission_set_ids
        )

    def in_message(self, ref: str) -> RegistryObject | None:
        return self.objects_by_id.get(ref)

    def resolves(self, ref: str) -> bool:
        """A reference names an object of the message, an ObjectRef, or a registry urn:uuid."""
        return ref in self.objects_by_id or ref in self.reference_ids or ref.startswith(UUID_PREFIX)
