"""Synthetic but realistic DMP-like submissions for the benchmarks.

Each document carries about twenty codes (class, type, format, facility, practice, one
HL7 confidentiality code and sometimes a masking flag, a dozen event codes), an author
with an RPPS-style id, a reference id, and times spread over ten years. Patients are INS
(test NIR OID) so the DMP profile accepts them. Deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from ebrim.dmp_value_sets import (
    HEALTHCARE_FACILITY_TYPE_CODE,
    PRACTICE_SETTING_CODE,
    TYPE_CODE,
)
from ebrim.model import (
    Association,
    Author,
    Code,
    DocumentEntry,
    LocalizedString,
    Metadata,
    SubmissionSet,
)
from ebrim.vocabulary import AssociationType, SubmissionSetStatus

INS_OID = "1.2.250.1.213.1.4.10"
REPOSITORY = "1.2.250.1.999.1.1"
SOURCE = "1.2.250.1.999.1.2"
CLASS_SYSTEM = "1.2.250.1.213.1.1.4.1"
EVENT_SYSTEM = "1.2.250.1.213.2.5"
CLASS_CODES = [("11", "Compte rendu"), ("13", "Synthèse"), ("43", "Pharmacie"), ("10", "Imagerie")]
FORMATS = [("urn:ihe:pcc:xds-ms:2007", "XDS-MS"), ("urn:ihe:lab:xd-lab:2008", "XD-LAB")]


def patient_id(number: int) -> str:
    """A 15-character test NIR (the key digits are not checked by the registry)."""
    return f"{1_800_000_000_000 + number:013d}{number % 97:02d}^^^&{INS_OID}&ISO^NH"


@dataclass
class Generator:
    patients: int
    seed: int = 7

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.serial = 0
        self.type_codes = sorted(TYPE_CODE)
        self.facilities = sorted(HEALTHCARE_FACILITY_TYPE_CODE)
        self.practices = sorted(PRACTICE_SETTING_CODE)
        self.events = [f"EV{n:03d}" for n in range(300)]

    def submission(self, documents: int, patient: int | None = None) -> Metadata:
        """One submission set with `documents` new documents for one patient."""
        rnd = self.random
        pid = patient_id(rnd.randrange(self.patients) if patient is None else patient)
        self.serial += 1
        set_id = "SubmissionSet01"
        docs = tuple(self._document(f"Document{i:02d}", pid) for i in range(documents))
        links = tuple(
            Association(
                entry_uuid=f"as{i:02d}",
                association_type=AssociationType.HAS_MEMBER.value,
                source=set_id,
                target=doc.entry_uuid,
                submission_set_status=SubmissionSetStatus.ORIGINAL.value,
            )
            for i, doc in enumerate(docs)
        )
        submission_set = SubmissionSet(
            entry_uuid=set_id,
            unique_id=f"1.2.250.1.999.2.{self.seed}.{self.serial}",
            source_id=SOURCE,
            patient_id=pid,
            submission_time=self._time(),
            authors=(self._author(),),
            content_type_code=Code("04", "1.2.250.1.213.1.1.4.2.2", "Hospitalisation"),
            title=LocalizedString("Lot de soumission"),
        )
        return Metadata(submission_sets=(submission_set,), documents=docs, associations=links)

    def _document(self, entry: str, pid: str) -> DocumentEntry:
        rnd = self.random
        self.serial += 1
        content = f"{pid}/{self.serial}".encode()
        type_code, type_system = rnd.choice(self.type_codes)
        facility, facility_system = rnd.choice(self.facilities)
        practice, practice_system = rnd.choice(self.practices)
        klass, klass_name = rnd.choice(CLASS_CODES)
        fmt, fmt_name = rnd.choice(FORMATS)
        confidentiality = [Code(rnd.choice("NNNNRV"), "2.16.840.1.113883.5.25", "Normal")]
        if rnd.random() < 0.1:
            confidentiality.append(Code("MASQUE_PS", "1.2.250.1.213.1.1.4.13", "Masqué aux PS"))
        events = tuple(
            Code(code, EVENT_SYSTEM, code) for code in rnd.sample(self.events, rnd.randint(10, 14))
        )
        start = self._time()
        return DocumentEntry(
            entry_uuid=entry,
            mime_type="text/xml",
            title=LocalizedString("Compte rendu", lang="fr-FR"),
            unique_id=f"1.2.250.1.999.3.{self.seed}.{self.serial}",
            patient_id=pid,
            source_patient_id=f"{self.serial}^^^&1.2.250.1.999.4&ISO",
            source_patient_info=("PID-5|DUPONT^JEAN^^^^^L", "PID-7|19700101", "PID-8|M"),
            authors=(self._author(),),
            class_code=Code(klass, CLASS_SYSTEM, klass_name),
            confidentiality_codes=tuple(confidentiality),
            event_codes=events,
            format_code=Code(fmt, "1.3.6.1.4.1.19376.1.2.3", fmt_name),
            healthcare_facility_type_code=Code(facility, facility_system, facility),
            practice_setting_code=Code(practice, practice_system, practice),
            type_code=Code(type_code, type_system, type_code),
            creation_time=start,
            service_start_time=start[:12],
            service_stop_time=start[:12],
            hash=hashlib.sha1(content).hexdigest(),
            size=str(len(content)),
            language_code="fr-FR",
            repository_unique_id=REPOSITORY,
            reference_ids=(
                f"V{self.serial}^^^&1.2.250.1.999.5&ISO^urn:ihe:iti:xds:2013:encounter",
            ),
        )

    def _author(self) -> Author:
        rpps = 10_000_000_000 + self.random.randrange(50_000)
        return Author(
            person=f"8{rpps}^MARTIN^CLAIRE^^^Dr^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS",
            institutions=("CH Exemple^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^3750000000",),
            roles=("11^Médecin^1.2.250.1.213.1.1.4.6",),
            specialties=("G15_10/SM26^Qualifié en Médecine Générale^1.2.250.1.71.4.2.5",),
        )

    def _time(self) -> str:
        rnd = self.random
        return (
            f"{rnd.randint(2015, 2025)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
            f"{rnd.randint(0, 23):02d}{rnd.randint(0, 59):02d}{rnd.randint(0, 59):02d}"
        )
