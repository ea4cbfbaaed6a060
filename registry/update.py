"""ITI-57 Update Document Set inside one database transaction (ITI TF-2b 3.57.4.1.3).

One request may mix the operations; all are checked before anything is written, and
`Rejected` (every error found) rolls the whole request back:

- new versions of DocumentEntries and Folders (`registry.versions`);
- UpdateAvailabilityStatus associations (`registry.status`); one aimed at a version this
  same request replaces applies to the new version, the previous one is left alone
  (3.57.4.1.3.1);
- new associations between objects, held by the SubmissionSet through HasMember or
  SubmitAssociation: folder memberships and document relationships (3.57.4.1.3.3.5).

The SubmissionSet and every association of the request are stored, as in ITI-42.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, select

from ebrim.errors import ErrorCode, XDSError
from ebrim.hl7 import patient_key
from ebrim.model import (
    Association,
    DocumentEntry,
    Folder,
    Metadata,
    RegistryObject,
    SubmissionSet,
)
from ebrim.profile import Profile
from ebrim.vocabulary import DOCUMENT_RELATIONSHIPS, AssociationType, AvailabilityStatus
from registry import store
from registry.register import (
    Registered,
    check_fresh_uuids,
    check_patients,
    check_unique_ids,
    submitted_ids,
)
from registry.rejection import Rejected, describe, error
from registry.schema import associations
from registry.status import StatusChange, StatusPolicy, VersionPolicy, plan_status_change
from registry.versions import NewVersion, plan_version, propagated_memberships

APPROVED = AvailabilityStatus.APPROVED.value
DEPRECATED = AvailabilityStatus.DEPRECATED.value
_REPLACING = frozenset({AssociationType.REPLACE, AssociationType.TRANSFORM_REPLACE})
_BOOKKEEPING = frozenset(
    {AssociationType.UPDATE_AVAILABILITY_STATUS, AssociationType.SUBMIT_ASSOCIATION}
)


def update_in(
    conn: Connection,
    metadata: Metadata,
    *,
    now: str,
    profile: Profile = Profile.GENERIC,
    policy: StatusPolicy | None = None,
    version_policy: VersionPolicy | None = None,
) -> Registered:
    """Check an ITI-57 request against the registry and apply it, in the caller's transaction.

    `version_policy` is asked about each new DocumentEntry or Folder version (the DMP:
    who may change the masking flags), given the previous version and the new one.
    """
    check_patients(conn, metadata)
    ids = submitted_ids(metadata)
    check_fresh_uuids(conn, ids.values())
    check_unique_ids(conn, Metadata(submission_sets=metadata.submission_sets))
    plan = _Plan(conn, metadata, ids, now)
    plan.check(profile, policy, version_policy)
    return plan.write()


@dataclass
class _Plan:
    conn: Connection
    metadata: Metadata
    ids: dict[str, str]
    now: str
    errors: list[XDSError] = field(default_factory=list)
    versions: list[NewVersion] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)

    @property
    def submission_set(self) -> SubmissionSet:
        # ebrim.validate made sure there is exactly one.
        return self.metadata.submission_sets[0]

    def check(
        self,
        profile: Profile,
        policy: StatusPolicy | None,
        version_policy: VersionPolicy | None = None,
    ) -> None:
        ss = self.submission_set
        holding = {
            a.target: a
            for a in self.metadata.associations
            if a.source == ss.entry_uuid and a.known_type is AssociationType.HAS_MEMBER
        }
        versioned: list[DocumentEntry | Folder] = [
            *self.metadata.documents,
            *self.metadata.folders,
        ]
        for obj in versioned:
            uid = self.ids[obj.entry_uuid]
            planned = plan_version(
                self.conn, obj, holding.get(obj.entry_uuid), uid, self.now, self.errors
            )
            if planned is not None:
                self.versions.append(planned)
                refusal = version_policy(planned.previous, obj) if version_policy else None
                if refusal is not None:
                    self.errors.append(refusal)
        new_objects: dict[str, RegistryObject] = {v.obj.entry_uuid: v.obj for v in self.versions}
        replaced = {v.previous.entry_uuid: v.obj for v in self.versions}
        for link in self.metadata.associations:
            kind = link.known_type
            if kind is AssociationType.UPDATE_AVAILABILITY_STATUS:
                target = self._resolve(link.target, new_objects, replaced)
                change = plan_status_change(
                    self.conn,
                    link,
                    target,
                    ss.patient_id,
                    profile,
                    policy,
                    self.errors,
                    new_version=target is not None and target.entry_uuid in new_objects,
                )
                if change is not None:
                    self.changes.append(change)
            elif link.source != ss.entry_uuid and kind not in _BOOKKEEPING:
                self._check_new_association(link, new_objects)
        _reject_repeated_targets(self.changes, self.errors)
        if self.errors:
            raise Rejected(self.errors)

    def _resolve(
        self,
        ref: str,
        new_objects: Mapping[str, RegistryObject],
        replaced: Mapping[str, RegistryObject],
    ) -> RegistryObject | None:
        uid = self.ids.get(ref, ref)
        if uid in new_objects:
            return new_objects[uid]
        if uid in replaced:
            return replaced[uid]
        return store.load(self.conn, [uid]).get(uid)

    def _check_new_association(
        self, link: Association, new_objects: Mapping[str, RegistryObject]
    ) -> None:
        """A folder membership or relationship between new versions or registered objects."""
        label = f"association {link.entry_uuid}"
        ends = []
        for ref in (link.source, link.target):
            uid = self.ids.get(ref, ref)
            obj = new_objects.get(uid) or store.load(self.conn, [uid]).get(uid)
            if obj is None:
                self.errors.append(
                    error(
                        ErrorCode.UnresolvedReferenceException,
                        f"{label} refers to {ref}, neither in the request nor in the registry",
                        ref,
                    )
                )
            ends.append(obj)
        source, target = ends
        if source is None or target is None:
            return

        def fail(why: str, code: ErrorCode = ErrorCode.XDSMetadataUpdateError) -> None:
            self.errors.append(error(code, f"{label}: {why}", link.entry_uuid))

        kind = link.known_type
        for end in (source, target):
            if end.entry_uuid not in new_objects and end.status != APPROVED:
                fail(f"{describe(end)} is {end.status}, not Approved")
        if kind is AssociationType.HAS_MEMBER:
            if not (isinstance(source, Folder) and isinstance(target, DocumentEntry)):
                fail(f"HasMember from {describe(source)} to {describe(target)} is no membership")
                return
            if source.entry_uuid not in new_objects:
                self.touched.add(source.entry_uuid)
        elif kind in _REPLACING:
            fail("a replacement is submitted with its new document (ITI-42), not by ITI-57")
            return
        elif kind in DOCUMENT_RELATIONSHIPS:
            if not (isinstance(source, DocumentEntry) and isinstance(target, DocumentEntry)):
                fail(f"{describe(source)} → {describe(target)} does not link two documents")
                return
        else:
            fail(f"associationType {link.association_type} cannot be submitted by ITI-57")
            return
        pa, pb = getattr(source, "patient_id", None), getattr(target, "patient_id", None)
        if (pa and patient_key(pa)) != (pb and patient_key(pb)):
            fail(f"links patient {pa} to patient {pb}", ErrorCode.XDSPatientIdDoesNotMatch)
        a = associations.c
        duplicate = self.conn.execute(
            select(a.entry_uuid).where(
                and_(
                    a.source_uuid == source.entry_uuid,
                    a.target_uuid == target.entry_uuid,
                    a.association_type == link.association_type,
                    a.status == APPROVED,
                )
            )
        ).first()
        if duplicate is not None:
            fail(f"the same association {duplicate.entry_uuid} is already registered")

    def write(self) -> Registered:
        new_uuids = {v.obj.entry_uuid for v in self.versions}
        stored: list[RegistryObject] = [
            dataclasses.replace(
                self.submission_set,
                entry_uuid=self.ids[self.submission_set.entry_uuid],
                status=APPROVED,
            ),
            *(v.obj for v in self.versions),
        ]
        filed = set()
        for link in self.metadata.associations:
            mapped = dataclasses.replace(
                link,
                entry_uuid=self.ids[link.entry_uuid],
                source=self.ids.get(link.source, link.source),
                target=self.ids.get(link.target, link.target),
                status=APPROVED,
            )
            stored.append(mapped)
            filed.add((mapped.source, mapped.target))
        for version in self.versions:
            if not version.propagate:
                continue
            for carried in propagated_memberships(self.conn, version):
                if (carried.source, carried.target) in filed:
                    continue
                stored.append(carried)
                if carried.source not in new_uuids:
                    self.touched.add(carried.source)
        store.insert_objects(self.conn, stored)
        for version in self.versions:
            if not store.set_status(
                self.conn, version.table, version.previous.entry_uuid, APPROVED, DEPRECATED
            ):
                raise Rejected(
                    [
                        error(
                            ErrorCode.XDSMetadataVersionError,
                            f"{describe(version.previous)} was changed by another request "
                            "meanwhile",
                            version.obj.logical_id or "",
                        )
                    ]
                )
        for change in self.changes:
            if not store.set_status(
                self.conn, change.table, change.entry_uuid, change.original, change.new
            ):
                raise Rejected(
                    [
                        error(
                            ErrorCode.XDSMetadataUpdateError,
                            f"the status of {change.entry_uuid} was changed by another request "
                            "meanwhile",
                            change.entry_uuid,
                        )
                    ]
                )
        store.touch_folders(self.conn, self.touched, self.now)
        return Registered(ids=self.ids, objects=tuple(stored))


def _reject_repeated_targets(changes: list[StatusChange], errors: list[XDSError]) -> None:
    seen: set[str] = set()
    for change in changes:
        if change.entry_uuid in seen:
            errors.append(
                error(
                    ErrorCode.XDSMetadataUpdateError,
                    f"the status of {change.entry_uuid} is changed twice in one request",
                    change.entry_uuid,
                )
            )
        seen.add(change.entry_uuid)


__all__ = ["update_in"]
