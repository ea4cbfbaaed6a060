"""The association rules of a submission that involve registered objects (ITI TF-2b 3.42.4.1.3).

Replacement (RPLC, XFRM_RPLC) deprecates an Approved document of the same patient;
append, transform and signs need an Approved target; folders take documents of their
own patient and are touched when they do; a replaced document's folders also get
its replacement.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, select

from ebrim.errors import ErrorCode, XDSError
from ebrim.hl7 import patient_key
from ebrim.ids import new_entry_uuid
from ebrim.model import Association, DocumentEntry, Folder, RegistryObject, SubmissionSet
from ebrim.vocabulary import AssociationType, AvailabilityStatus
from registry import store
from registry.rejection import Rejected, describe, error
from registry.schema import associations, folders

APPROVED = AvailabilityStatus.APPROVED.value
REPLACING = frozenset({AssociationType.REPLACE, AssociationType.TRANSFORM_REPLACE})
RELATING = frozenset(
    {
        AssociationType.REPLACE,
        AssociationType.TRANSFORM_REPLACE,
        AssociationType.APPEND,
        AssociationType.TRANSFORM,
        AssociationType.SIGNS,
    }
)


class Lifecycle:
    """The association rules that involve registered objects (replace, append, folders…)."""

    def __init__(self, conn: Connection, new: dict[str, RegistryObject]) -> None:
        self.conn = conn
        self.new = new
        self.links = [obj for obj in new.values() if isinstance(obj, Association)]
        outside = {ref for a in self.links for ref in (a.source, a.target)} - set(new)
        self.existing = store.load(conn, outside)
        self.errors: list[XDSError] = []
        self.replaced: set[str] = set()
        self.replacements: list[tuple[str, str]] = []  # (new document, replaced document)
        self.existing_folders_touched: set[str] = set()

    def fail(self, code: ErrorCode, message: str, location: str) -> None:
        self.errors.append(error(code, message, location))

    def check(self) -> None:
        for link in self.links:
            source = self.new.get(link.source) or self.existing.get(link.source)
            target = self.new.get(link.target) or self.existing.get(link.target)
            missing = [
                ref for ref, obj in ((link.source, source), (link.target, target)) if not obj
            ]
            for ref in missing:
                self.fail(
                    ErrorCode.UnresolvedReferenceException,
                    f"association {link.entry_uuid} refers to {ref}, "
                    "which is neither in the submission nor in the registry",
                    ref,
                )
            if source is None or target is None:
                continue
            if link.known_type is AssociationType.HAS_MEMBER:
                self._has_member(link, source, target)
            elif link.known_type in RELATING:
                self._relationship(link, source, target)
        if self.errors:
            raise Rejected(self.errors)

    def _same_patient(self, link: Association, a: RegistryObject, b: RegistryObject) -> None:
        pa, pb = getattr(a, "patient_id", None), getattr(b, "patient_id", None)
        if pa and pb and patient_key(pa) != patient_key(pb):
            self.fail(
                ErrorCode.XDSPatientIdDoesNotMatch,
                f"association {link.entry_uuid}: {describe(a)} is for patient {pa}, "
                f"{describe(b)} for patient {pb}",
                link.entry_uuid,
            )

    def _has_member(
        self, link: Association, source: RegistryObject, target: RegistryObject
    ) -> None:
        if link.source not in self.new and not isinstance(source, Folder):
            self.fail(
                ErrorCode.XDSRegistryMetadataError,
                f"association {link.entry_uuid}: registered {describe(source)} cannot get members",
                link.entry_uuid,
            )
            return
        if isinstance(source, SubmissionSet) and link.target in self.existing:
            self._same_patient(link, source, target)
        if isinstance(source, Folder):
            if not isinstance(target, DocumentEntry):
                self.fail(
                    ErrorCode.XDSRegistryMetadataError,
                    f"association {link.entry_uuid}: folder members must be documents",
                    link.entry_uuid,
                )
                return
            self._same_patient(link, source, target)
            if link.source in self.existing:
                self.existing_folders_touched.add(link.source)

    def _relationship(
        self, link: Association, source: RegistryObject, target: RegistryObject
    ) -> None:
        kind = link.known_type
        if link.target in self.new:
            if kind in REPLACING:
                self.fail(
                    ErrorCode.XDSRegistryMetadataError,
                    f"association {link.entry_uuid}: the replaced document must be registered",
                    link.entry_uuid,
                )
            return
        if not isinstance(target, DocumentEntry):
            if kind is not AssociationType.SIGNS:
                self.fail(
                    ErrorCode.XDSRegistryMetadataError,
                    f"association {link.entry_uuid}: target {describe(target)} is not a document",
                    link.entry_uuid,
                )
            return
        if target.status != APPROVED:
            self.fail(
                ErrorCode.XDSRegistryDeprecatedDocumentError,
                f"association {link.entry_uuid}: {describe(target)} is {target.status}, "
                "not Approved",
                target.unique_id or target.entry_uuid,
            )
        self._same_patient(link, source, target)
        if kind in REPLACING:
            self.replaced.add(link.target)
            self.replacements.append((link.source, link.target))

    def carried_memberships(self) -> list[Association]:
        """HasMember links from the replaced documents' folders to their replacements."""
        if not self.replacements:
            return []
        already = {
            (a.source, a.target) for a in self.links if a.known_type is AssociationType.HAS_MEMBER
        }
        carried = []
        for replacement, replaced in self.replacements:
            query = (
                select(associations.c.source_uuid)
                .join(folders, folders.c.entry_uuid == associations.c.source_uuid)
                .where(
                    and_(
                        associations.c.target_uuid == replaced,
                        associations.c.association_type == AssociationType.HAS_MEMBER.value,
                        associations.c.status == APPROVED,
                        folders.c.status == APPROVED,
                    )
                )
                .order_by(associations.c.source_uuid)
            )
            for (folder_uuid,) in self.conn.execute(query):
                if (folder_uuid, replacement) in already:
                    continue
                already.add((folder_uuid, replacement))
                carried.append(
                    Association(
                        entry_uuid=new_entry_uuid(),
                        association_type=AssociationType.HAS_MEMBER.value,
                        source=folder_uuid,
                        target=replacement,
                        status=APPROVED,
                    )
                )
                self.existing_folders_touched.add(folder_uuid)
        return carried
