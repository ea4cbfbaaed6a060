"""What one requester may see of one patient's record, as SQL conditions on `documents`.

A document is visible when it is the patient's (the record the assertion names), not
Deleted, of a typeCode the requester's professions may read (professionals only; the
matrix of `registry.policy.rules`), and carries no confidentiality flag hiding it from
this kind of requester:

- MASQUE_PS hides it from professionals, except its author (the professional id is the
  first component of one of its author persons, an XCN);
- INVISIBLE_PATIENT hides it from the patient, and so from their legal representatives,
  who act in the patient's place;
- INVISIBLE_REPRESENTANTS_LEGAUX hides it from a minor's legal representatives.

Masking holds in an emergency too: break-the-glass opens the record, not what the
patient masked. Submission sets and folders are visible when they are the patient's;
what the queries do with all this is `registry.queries.visible`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, and_, exists, false, func, not_, or_, select

from ebrim.model import Code
from ebrim.vocabulary import AvailabilityStatus
from ebrim.vocabulary import ClassificationScheme as Scheme
from registry.policy.decide import RequesterKind
from registry.policy.rules import CodeKey
from registry.queries import filters as f
from registry.schema import author_persons, documents, folders, submission_sets

FLAG_SYSTEM = "1.2.250.1.213.1.1.4.13"
MASQUE_PS = Code("MASQUE_PS", FLAG_SYSTEM)
INVISIBLE_PATIENT = Code("INVISIBLE_PATIENT", FLAG_SYSTEM)
INVISIBLE_REPRESENTANTS_LEGAUX = Code("INVISIBLE_REPRESENTANTS_LEGAUX", FLAG_SYSTEM)
FLAG_NAMES = {  # their display names in the ANS table TRE_A07 (metadata carries them)
    "MASQUE_PS": "Masqué aux professionnels de santé",
    "INVISIBLE_PATIENT": "Non visible par le patient",
    "INVISIBLE_REPRESENTANTS_LEGAUX": "Non visible par les représentants légaux du patient",
}
DELETED = AvailabilityStatus.DELETED.value

HIDING_FLAGS: dict[RequesterKind, tuple[Code, ...]] = {
    RequesterKind.PROFESSIONAL: (MASQUE_PS,),
    RequesterKind.PATIENT: (INVISIBLE_PATIENT,),
    RequesterKind.LEGAL_REPRESENTATIVE: (INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX),
}


@dataclass(frozen=True)
class Visibility:
    """One requester's view of one patient's record (`patient_id`: the id rows are stored under).

    `readable_types` None means every typeCode.
    """

    patient_id: str
    kind: RequesterKind
    professional_id: str | None = None
    readable_types: frozenset[CodeKey] | None = None

    def document_conditions(self) -> list[ColumnElement[bool]]:
        """Conditions on a `documents` row, to be ANDed: the row is visible."""
        doc = documents.c
        conditions: list[ColumnElement[bool]] = [
            doc.patient_id == self.patient_id,
            doc.status != DELETED,
        ]
        if self.kind is RequesterKind.PROFESSIONAL and self.readable_types is not None:
            types = [Code(code, system) for code, system in sorted(self.readable_types)]
            conditions.append(
                f.has_code(doc.entry_uuid, Scheme.DOC_TYPE_CODE.value, types) if types else false()
            )
        for flag in HIDING_FLAGS[self.kind]:
            flagged = f.has_code(doc.entry_uuid, Scheme.DOC_CONFIDENTIALITY_CODE.value, [flag])
            if flag == MASQUE_PS and self.professional_id:
                conditions.append(or_(not_(flagged), self._authored()))
            else:
                conditions.append(not_(flagged))
        return conditions

    def _authored(self) -> ColumnElement[bool]:
        """The requester is one of the document's authors (first XCN component)."""
        pid = self.professional_id or ""
        person = author_persons.c.person
        return exists().where(
            *f.owned_by(author_persons, documents.c.entry_uuid),
            or_(person == pid, func.substr(person, 1, len(pid) + 1) == pid + "^"),
        )

    # The answers use these sets many times over: as CTEs (one object each, so that a
    # statement renders each once), SQLite's parser does not overflow on the nesting.
    @cached_property
    def _visible_documents(self) -> CTE:
        return (
            select(documents.c.entry_uuid)
            .where(*self.document_conditions())
            .cte("visible_documents")
        )

    @cached_property
    def _visible_sets(self) -> CTE:
        ss = submission_sets.c
        return select(ss.entry_uuid).where(ss.patient_id == self.patient_id).cte("visible_sets")

    @cached_property
    def _visible_folders(self) -> CTE:
        fo = folders.c
        return select(fo.entry_uuid).where(fo.patient_id == self.patient_id).cte("visible_folders")

    def documents(self) -> Select[Any]:
        """entryUUIDs of the visible documents."""
        return select(self._visible_documents.c.entry_uuid)

    def submission_sets(self) -> Select[Any]:
        return select(self._visible_sets.c.entry_uuid)

    def folders(self) -> Select[Any]:
        return select(self._visible_folders.c.entry_uuid)

    def document_is_visible(self, unique_id: str) -> Select[Any]:
        """A SELECT with one row when a visible document has this uniqueId."""
        return (
            select(documents.c.entry_uuid)
            .where(and_(documents.c.unique_id == unique_id, *self.document_conditions()))
            .limit(1)
        )


__all__ = [
    "FLAG_SYSTEM",
    "INVISIBLE_PATIENT",
    "INVISIBLE_REPRESENTANTS_LEGAUX",
    "MASQUE_PS",
    "Visibility",
]
