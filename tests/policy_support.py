"""A small record world for the access-policy tests: requesters, documents, records.

`policy_world` registers, for patient PATIENT (record open), documents of a few typeCodes
and confidentiality flags, authored by AUTHOR, in one submission set with a folder and an
RPLC; the other patients' records are closed, opposed to emergency access, or unknown.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from registry_fixtures import (
    OTHER_PATIENT,
    PATIENT,
    Submission,
    code,
    document,
    migrated_engine,
)
from update_support import status_change, succeeded

from ebrim.model import Author, Code
from ebrim.profile import Profile
from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from ebrim.vocabulary import AssociationType, ReturnType
from pki.assertion.model import Code as RoleCode
from pki.assertion.model import Requester, Software
from pki.assertion.names import PROFESSION_SYSTEM, PURPOSE_OF_USE_SYSTEM
from registry import Registry, RegistrySettings
from registry.records import GranteeKind

LOINC = "2.16.840.1.113883.6.1"
FLAGS = "1.2.250.1.213.1.1.4.13"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"
ROLE_SYSTEM = "2.16.840.1.113883.5.111"

AUTHOR = "801234567890"  # author of every document of the world
AUTHORISED = "810000000001"  # authorised by the patient
STRANGER = "810000000002"  # not authorised
BLOCKED = "810000000003"  # authorised, then blocked
PHARMACIST = "820000000001"  # authorised, profession 21
AUTHORISED_STRUCTURE = "10123456789"
OPPOSED_PATIENT = "1111111111^^^&1.2.3.4.5&ISO"  # record open, opposed to break-the-glass
CLOSED_PATIENT = "2222222222^^^&1.2.3.4.5&ISO"

BIOLOGY = code("11502-2", LOINC, "CR d'examens biologiques")
DENTAL = code("28617-9", LOINC, "Bilan bucco-dentaire")
NORMAL = code("N", "2.16.840.1.113883.5.25", "Normal")


def flag(name: str) -> Code:
    return code(name, FLAGS, name)


def requester(
    professional_id: str = AUTHORISED,
    *,
    profession: str | None = "10",
    kind: str = "professional",
    mode: str | None = "DIRECTE",
    purpose: str = "normal",
    patient: str | None = PATIENT,
    structure: str | None = "19999999999",
) -> Requester:
    """A requester as a verified VIHF would yield it."""
    roles: tuple[RoleCode, ...] = ()
    if kind == "patient":
        roles = (RoleCode("ONESELF", ROLE_SYSTEM),)
    elif kind == "legal_representative":
        roles = (RoleCode("GUARD", ROLE_SYSTEM),)
    elif profession is not None:
        roles = (RoleCode(profession, PROFESSION_SYSTEM),)
    return Requester(
        assertion_id="_test",
        issuer="CN=test",
        signer="CN=test",
        professional_id=professional_id,
        name=f"Dr {professional_id}",
        roles=roles,
        structure_id=structure,
        organisation=None,
        authentication_mode=mode,
        purpose_of_use=RoleCode(purpose, PURPOSE_OF_USE_SYSTEM),
        patient_id=patient,
        sector=None,
        software=Software("LPS-Test", "1.0", "HOMOLOG-1"),
        vihf_version="3.0",
        issue_instant=datetime(2024, 5, 6, tzinfo=UTC),
    )


def author(professional_id: str = AUTHOR) -> Author:
    return Author(person=f"{professional_id}^DUPONT^JEAN^^^Dr^^^&1.2.250.1.71.4.2.1&ISO")


def open_registry(engine: object, profile: Profile = Profile.DMP) -> Registry:
    registry = Registry(
        engine,  # type: ignore[arg-type]
        RegistrySettings(profile=profile),
        clock=lambda: datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        validator=lambda metadata, **kw: [],
    )
    for patient in (PATIENT, OTHER_PATIENT, OPPOSED_PATIENT, CLOSED_PATIENT):
        registry.patients.feed(patient)
    return registry


def consenting_registry(engine: object) -> Registry:
    """A registry where PATIENT's record is open and AUTHORISED holds an authorisation."""
    registry = open_registry(engine)
    registry.records.open(PATIENT, consent_by="patient")
    registry.records.grant(PATIENT, AUTHORISED, by="patient")
    return registry


@dataclass
class PolicyWorld:
    registry: Registry
    ids: dict[str, str]  # document name -> entryUUID (and "SubmissionSet01", "Folder01"...)
    unique_ids: dict[str, str]  # document name -> uniqueId

    def visible_names(self, who: Requester, patient: str = PATIENT) -> set[str] | str:
        """The names of the documents FindDocuments returns, or the error code it answers."""
        query = FindDocumentsQuery(patient_id=patient, statuses=(APPROVED, DELETED))
        result = self.registry.query(
            StoredQueryRequest(query, ReturnType.LEAF_CLASS), requester=who
        )
        if result.response.errors:
            return result.response.errors[0].code.value
        assert result.metadata is not None
        by_uuid = {uuid: name for name, uuid in self.ids.items()}
        return {by_uuid.get(d.entry_uuid, "other") for d in result.metadata.documents}


# name -> (typeCode, flags); each is a document of PATIENT authored by AUTHOR.
DOCUMENTS: dict[str, tuple[Code, tuple[str, ...]]] = {
    "plain": (BIOLOGY, ()),
    "dental": (DENTAL, ()),
    "masked": (BIOLOGY, ("MASQUE_PS",)),
    "hidden_from_patient": (BIOLOGY, ("INVISIBLE_PATIENT",)),
    "hidden_from_parents": (BIOLOGY, ("INVISIBLE_REPRESENTANTS_LEGAUX",)),
    "deleted": (BIOLOGY, ()),  # deleted by its author once registered
}


def submission_for(patient: str, names: dict[str, tuple[Code, tuple[str, ...]]]) -> Submission:
    submission = Submission(patient=patient)
    for name, (type_code, flags) in names.items():
        submission.add(
            document(
                name,
                patient=patient,
                type_code=type_code,
                confidentiality_codes=(NORMAL, *(flag(f) for f in flags)),
                authors=(author(),),
            )
        )
    return submission


@contextmanager
def policy_world(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[PolicyWorld]:
    tmp = tmp_path_factory.mktemp(f"policy-{backend}")
    with migrated_engine(backend, tmp, request) as engine:
        registry = open_registry(engine)
        records = registry.records
        for patient in (PATIENT, OPPOSED_PATIENT, CLOSED_PATIENT):
            records.open(patient, consent_by="the patient")
        records.close(CLOSED_PATIENT, by="the patient")
        records.oppose_emergency_access(OPPOSED_PATIENT)
        for who in (AUTHORISED, BLOCKED, PHARMACIST, AUTHOR):
            records.grant(PATIENT, who, by="the patient")
        records.grant(PATIENT, AUTHORISED_STRUCTURE, kind=GranteeKind.STRUCTURE, by="the patient")
        records.block(PATIENT, BLOCKED, by="the patient")
        submission = submission_for(PATIENT, DOCUMENTS)
        folder = submission.add_folder()
        submission.file(folder.entry_uuid, "plain")
        submission.file(folder.entry_uuid, "masked")
        submission.relate(AssociationType.APPEND, "masked", "plain")
        metadata = submission.build()
        submitted = registry.submit(metadata)
        assert submitted.response.status.name == "SUCCESS", submitted.response.errors
        for patient in (OPPOSED_PATIENT, CLOSED_PATIENT):
            other = submission_for(patient, {"plain": (BIOLOGY, ())}).build()
            # the closed record was fed while open: reopen, feed, close again
            if patient == CLOSED_PATIENT:
                records.reopen(patient, consent_by="the patient")
            assert registry.register(other).status.name == "SUCCESS"
            if patient == CLOSED_PATIENT:
                records.close(patient, by="the patient")
        ids = dict(submitted.ids)
        deletion = status_change(ids["deleted"], APPROVED, DELETED)
        succeeded(registry.update(deletion, requester=requester(AUTHOR)))
        unique = {d.entry_uuid: d.unique_id or "" for d in metadata.documents}
        yield PolicyWorld(registry, ids, unique)
