"""Does submitted metadata say what the CDA document says? (ITI-41 consistency check)

Compared: patient, uniqueId, typeCode, confidentiality (the N/R/V level) and creation time.
Each difference is a `Mismatch` naming the metadata field; what to do with it (refuse, warn)
is the repository's policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ebrim.hl7 import CX
from ebrim.model import Code, DocumentEntry


class Compared(Protocol):
    """What `compare` reads: a `CdaHeader`, or the `CheckedFields` the repository reads."""

    @property
    def unique_id(self) -> str: ...
    @property
    def patient_ids(self) -> tuple[str, ...]: ...
    @property
    def type_code(self) -> Code | None: ...
    @property
    def confidentiality_code(self) -> Code | None: ...
    @property
    def creation_time(self) -> str | None: ...


@dataclass(frozen=True)
class Mismatch:
    """One field whose submitted value differs from the document's."""

    field: str
    submitted: str
    in_document: str

    def __str__(self) -> str:
        return f"{self.field} {self.submitted!r} differs from the document's {self.in_document!r}"


def compare(entry: DocumentEntry, header: Compared) -> list[Mismatch]:
    """The differences between a DocumentEntry and its document's header; [] when consistent.

    A field the submitter left empty is not compared (the metadata rules report it). The
    patient matches when it is any of the recordTarget's ids (the INS or a local id); times
    are compared at the precision of the less precise of the two.
    """
    found: list[Mismatch] = []
    if entry.patient_id and not _same_patient(entry.patient_id, header.patient_ids):
        found.append(Mismatch("patientId", entry.patient_id, " or ".join(header.patient_ids)))
    if entry.unique_id and entry.unique_id != header.unique_id:
        found.append(Mismatch("uniqueId", entry.unique_id, header.unique_id))
    if entry.type_code and header.type_code:
        submitted = (entry.type_code.code, entry.type_code.scheme)
        if submitted != (header.type_code.code, header.type_code.scheme):
            found.append(Mismatch("typeCode", "^^".join(submitted), _code(header.type_code)))
    level = header.confidentiality_code
    if entry.confidentiality_codes and level is not None:
        submitted_codes = {(c.code, c.scheme) for c in entry.confidentiality_codes}
        if (level.code, level.scheme) not in submitted_codes:
            shown = ", ".join(sorted("^^".join(c) for c in submitted_codes))
            found.append(Mismatch("confidentialityCode", shown, _code(level)))
    if entry.creation_time and header.creation_time:
        common = min(len(entry.creation_time), len(header.creation_time))
        if entry.creation_time[:common] != header.creation_time[:common]:
            found.append(Mismatch("creationTime", entry.creation_time, header.creation_time))
    return found


def _code(code: object) -> str:
    return f"{getattr(code, 'code', '')}^^{getattr(code, 'scheme', '')}"


def _same_patient(submitted: str, document_ids: tuple[str, ...]) -> bool:
    wanted = CX.parse(submitted)
    key = (wanted.id_number, wanted.assigning_authority.universal_id)
    for value in document_ids:
        cx = CX.parse(value)
        if (cx.id_number, cx.assigning_authority.universal_id) == key:
            return True
    return False


__all__ = ["Mismatch", "compare"]
