"""Complete, valid metadata built from the model: tests break one thing with `replace`.

`valid_submission()` is an ITI-42 Register Document Set-b: a SubmissionSet, a stable
DocumentEntry that replaces a registered one, a Folder holding it, and the associations
that tie them. `valid_dmp_submission()` is the same submission as the French DMP wants it.
"""

from __future__ import annotations

from dataclasses import replace

from ebrim.model import (
    Association,
    Author,
    Code,
    DocumentEntry,
    Folder,
    LocalizedString,
    Metadata,
    SubmissionSet,
)
from ebrim.vocabulary import AssociationType, ObjectType, SubmissionSetStatus

PATIENT_ID = "ST-1000^^^&1.3.6.1.4.1.21367.2003.3.9&ISO"
DMP_PATIENT_ID = "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"
REGISTERED_DOCUMENT = "urn:uuid:5b0a7b3a-7e1d-4b53-9bd4-2f0d3c8e6a11"

AUTHOR = Author(
    person="^Martin^Jean^^^Dr^^^&1.2.250.1.71.4.2.1&ISO",
    institutions=("Hôpital Saint-Jean^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1234567890",),
    roles=("Attending",),
    specialties=("Orthopedic",),
    telecoms=("^^Internet^jean.martin@hopital.example",),
)

SUBMISSION_SET = SubmissionSet(
    entry_uuid="SubmissionSet01",
    unique_id="1.3.6.1.4.1.21367.2005.3.99.1.1010",
    source_id="1.3.6.1.4.1.21367.2005.3.99.1",
    patient_id=PATIENT_ID,
    submission_time="20240115103000",
    authors=(AUTHOR,),
    content_type_code=Code("34133-9", "2.16.840.1.113883.6.1", "Summary of episode note"),
    title=LocalizedString("Discharge summary"),
)

DOCUMENT = DocumentEntry(
    entry_uuid="Document01",
    object_type=ObjectType.STABLE_DOCUMENT.value,
    mime_type="text/xml",
    title=LocalizedString("Compte rendu"),
    unique_id="1.3.6.1.4.1.21367.2005.3.99.1.1010.1^doc-42",
    patient_id=PATIENT_ID,
    source_patient_id="PAT-77^^^&1.3.6.1.4.1.21367.2005.3.7&ISO",
    source_patient_info=(
        "PID-3|PAT-77^^^&1.3.6.1.4.1.21367.2005.3.7&ISO",
        "PID-5|Doe^John^^^",
        "PID-7|19560527",
        "PID-8|M",
    ),
    authors=(AUTHOR,),
    class_code=Code("11490-0", "2.16.840.1.113883.6.1", "Discharge summary"),
    confidentiality_codes=(Code("N", "2.16.840.1.113883.5.25", "Normal"),),
    event_codes=(Code("T-D4909", "SNM3", "Kidney"),),
    format_code=Code("urn:ihe:iti:xds-sd:text:2008", "1.3.6.1.4.1.19376.1.2.3", "XDS-SD text"),
    healthcare_facility_type_code=Code("Outpatient", "Connect-a-thon codes", "Outpatient"),
    practice_setting_code=Code("General Medicine", "Connect-a-thon codes", "General Medicine"),
    type_code=Code("11488-4", "2.16.840.1.113883.6.1", "Consultation note"),
    creation_time="20240115",
    service_start_time="202401141200",
    service_stop_time="20240115093000",
    hash="da39a3ee5e6b4b0d3255bfef95601890afd80709",
    size="1024",
    language_code="fr-FR",
    legal_authenticator="^Martin^Jean",
    repository_unique_id="1.3.6.1.4.1.21367.2010.1.2.1125",
    reference_ids=("A-1234^^^&1.2.3.4&ISO^urn:ihe:iti:xds:2013:accession",),
)

FOLDER = Folder(
    entry_uuid="Folder01",
    unique_id="1.3.6.1.4.1.21367.2005.3.99.1.2010",
    patient_id=PATIENT_ID,
    codes=(Code("Referrals", "Connect-a-thon folderCodeList", "Referrals"),),
    title=LocalizedString("Referrals"),
)


def has_member(entry_uuid: str, source: str, target: str, status: str | None = None) -> Association:
    return Association(
        entry_uuid=entry_uuid,
        association_type=AssociationType.HAS_MEMBER.value,
        source=source,
        target=target,
        submission_set_status=status,
    )


ASSOCIATIONS = (
    has_member("SsDoc", "SubmissionSet01", "Document01", SubmissionSetStatus.ORIGINAL.value),
    has_member("SsFolder", "SubmissionSet01", "Folder01"),
    has_member("FolderDoc", "Folder01", "Document01"),
    has_member("SsFolderDoc", "SubmissionSet01", "FolderDoc"),
    Association(
        entry_uuid="Replace01",
        association_type=AssociationType.REPLACE.value,
        source="Document01",
        target=REGISTERED_DOCUMENT,
    ),
)


def valid_submission() -> Metadata:
    """A complete, valid ITI-42 submission for the generic profile."""
    return Metadata(
        submission_sets=(SUBMISSION_SET,),
        documents=(DOCUMENT,),
        folders=(FOLDER,),
        associations=ASSOCIATIONS,
    )


def valid_dmp_submission() -> Metadata:
    """The same submission as the French DMP accepts it: INS, ANS value sets, masking flag."""
    author = replace(AUTHOR, specialties=("G15_10/SM26^Médecine générale^1.2.250.1.213.1.1.4.5",))
    document = replace(
        DOCUMENT,
        patient_id=DMP_PATIENT_ID,
        authors=(author,),
        confidentiality_codes=(
            Code("N", "2.16.840.1.113883.5.25", "Normal"),
            Code("MASQUE_PS", "1.2.250.1.213.1.1.4.13", "Masqué aux professionnels de santé"),
        ),
        type_code=Code("11488-4", "2.16.840.1.113883.6.1", "Compte rendu de consultation"),
        healthcare_facility_type_code=Code("SA01", "1.2.250.1.71.4.2.4", "Etablissement public"),
        practice_setting_code=Code(
            "ETABLISSEMENT", "1.2.250.1.213.1.1.4.9", "Etablissement de santé"
        ),
    )
    return replace(
        valid_submission(),
        submission_sets=(replace(SUBMISSION_SET, patient_id=DMP_PATIENT_ID, authors=(author,)),),
        documents=(document,),
        folders=(replace(FOLDER, patient_id=DMP_PATIENT_ID),),
    )


def with_document(metadata: Metadata, **changes: object) -> Metadata:
    """`metadata` with its first DocumentEntry changed."""
    first, *rest = metadata.documents
    return replace(metadata, documents=(replace(first, **changes), *rest))


def with_submission_set(metadata: Metadata, **changes: object) -> Metadata:
    first, *rest = metadata.submission_sets
    return replace(metadata, submission_sets=(replace(first, **changes), *rest))


def with_folder(metadata: Metadata, **changes: object) -> Metadata:
    first, *rest = metadata.folders
    return replace(metadata, folders=(replace(first, **changes), *rest))
