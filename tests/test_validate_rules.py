"""Every rule of the inventory, broken once from a valid submission: the code and the object named.

The table below is the specification: one row per way of breaking a rule. A row's
submission must yield findings of its rule only (one root cause, one rule), each with the
row's exact code, and one of them must name and locate the row's object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pytest
from factories import (
    ASSOCIATIONS,
    AUTHOR,
    DOCUMENT,
    REGISTERED_DOCUMENT,
    SUBMISSION_SET,
    has_member,
    valid_dmp_submission,
    valid_submission,
    with_document,
    with_folder,
    with_submission_set,
)

from ebrim.errors import ErrorCode, Transaction, XDSError
from ebrim.model import Association, Author, Code, Metadata
from ebrim.profile import Profile
from ebrim.validate import Rule, validate
from ebrim.vocabulary import AssociationType, ObjectType

REG = ErrorCode.XDSRegistryMetadataError
REPO = ErrorCode.XDSRepositoryMetadataError
DOC, SS, FOLDER = "Document01", "SubmissionSet01", "Folder01"
DMP = Profile.DMP


@dataclass(frozen=True)
class Case:
    name: str
    metadata: Metadata
    rule: Rule
    code: ErrorCode
    names: str  # id of the object the message must name and the location must give
    transaction: Transaction = Transaction.ITI_42
    profile: Profile = Profile.GENERIC


def template_pattern(rule: Rule) -> re.Pattern[str]:
    """The messages `rule` can produce, as a regex (each {field} matches anything)."""
    parts = re.split(r"\{[^}]*\}", rule.template)
    return re.compile(".*".join(re.escape(p) for p in parts), re.S)


def produced_by(rule: Rule, error: XDSError) -> bool:
    return bool(template_pattern(rule).fullmatch(error.message))


def with_patient(metadata: Metadata, patient_id: str) -> Metadata:
    metadata = with_submission_set(metadata, patient_id=patient_id)
    metadata = with_document(metadata, patient_id=patient_id)
    return with_folder(metadata, patient_id=patient_id)


def with_associations(metadata: Metadata, *associations: Association) -> Metadata:
    return replace(metadata, associations=associations)


def plus(metadata: Metadata, *associations: Association) -> Metadata:
    return replace(metadata, associations=(*metadata.associations, *associations))


def replaced_association(**changes: str | None) -> Metadata:
    """The valid submission with its RPLC association changed."""
    *others, rplc = ASSOCIATIONS
    return with_associations(valid_submission(), *others, replace(rplc, **changes))  # type: ignore[arg-type]


def without_association(entry_uuid: str) -> Metadata:
    kept = tuple(a for a in ASSOCIATIONS if a.entry_uuid != entry_uuid)
    return with_associations(valid_submission(), *kept)


def document_author(**changes: object) -> Metadata:
    return with_document(valid_submission(), authors=(replace(AUTHOR, **changes),))  # type: ignore[arg-type]


V = valid_submission()
D = valid_dmp_submission()
SECOND_SS = replace(SUBMISSION_SET, entry_uuid="SubmissionSet02", unique_id="1.2.3.4.99")
N_CODE = Code("N", "2.16.840.1.113883.5.25", "Normal")
MASQUE_PS = Code("MASQUE_PS", "1.2.250.1.213.1.1.4.13", "Masqué aux PS")

CASES = [
    # The submission as a whole.
    Case(
        "two submission sets",
        replace(V, submission_sets=(SUBMISSION_SET, SECOND_SS)),
        Rule.SUBMISSION_SET_COUNT,
        REG,
        "",
    ),
    Case(
        "duplicate association id", plus(V, ASSOCIATIONS[0]), Rule.DUPLICATE_ENTRY_ID, REG, "SsDoc"
    ),
    Case(
        "malformed urn:uuid id",
        replaced_association(entry_uuid="urn:uuid:not-a-uuid"),
        Rule.INVALID_ENTRY_ID,
        REG,
        "urn:uuid:not-a-uuid",
    ),
    Case(
        "id with a space",
        replaced_association(entry_uuid="Replace 01"),
        Rule.INVALID_ENTRY_ID,
        REG,
        "Replace 01",
    ),
    Case(
        "folder reuses the SS uniqueId",
        with_folder(V, unique_id=SUBMISSION_SET.unique_id),
        Rule.DUPLICATE_UNIQUE_ID,
        ErrorCode.XDSRegistryDuplicateUniqueIdInMessage,
        SS,
    ),
    Case(
        "ITI-41 duplicate uniqueId",
        with_folder(V, unique_id=SUBMISSION_SET.unique_id),
        Rule.DUPLICATE_UNIQUE_ID,
        ErrorCode.XDSRepositoryDuplicateUniqueIdInMessage,
        SS,
        Transaction.ITI_41,
    ),
    Case(
        "document for another patient",
        with_document(V, patient_id="OTHER^^^&1.3.6.1.4.1.21367.2003.3.9&ISO"),
        Rule.PATIENT_ID_MISMATCH,
        ErrorCode.XDSPatientIdDoesNotMatch,
        DOC,
    ),
    Case(
        "folder for another patient",
        with_folder(V, patient_id="OTHER^^^&1.3.6.1.4.1.21367.2003.3.9&ISO"),
        Rule.PATIENT_ID_MISMATCH,
        ErrorCode.XDSPatientIdDoesNotMatch,
        FOLDER,
    ),
    Case(
        "limitedMetadata document",
        with_document(V, limited_metadata=True),
        Rule.LIMITED_METADATA,
        REG,
        DOC,
    ),
    Case(
        "limitedMetadata submission set",
        with_submission_set(V, limited_metadata=True),
        Rule.LIMITED_METADATA,
        REG,
        SS,
    ),
    Case(
        "limitedMetadata folder ITI-41",
        with_folder(V, limited_metadata=True),
        Rule.LIMITED_METADATA,
        REPO,
        FOLDER,
        Transaction.ITI_41,
    ),
    # Required attributes (TF-3 Table 4.3.1-3).
    *(
        Case(
            f"document without {field}",
            with_document(V, **{field: empty}),
            Rule.MISSING_ATTRIBUTE,
            REG,
            DOC,
        )
        for field, empty in [
            ("class_code", None),
            ("confidentiality_codes", ()),
            ("creation_time", None),
            ("format_code", None),
            ("healthcare_facility_type_code", None),
            ("language_code", None),
            ("mime_type", None),
            ("patient_id", None),
            ("practice_setting_code", None),
            ("repository_unique_id", None),
            ("size", None),
            ("hash", ""),
            ("source_patient_id", None),
            ("type_code", None),
            ("unique_id", None),
        ]
    ),
    *(
        Case(
            f"submission set without {field}",
            with_submission_set(V, **{field: None}),
            Rule.MISSING_ATTRIBUTE,
            REG,
            SS,
        )
        for field in [
            "content_type_code",
            "patient_id",
            "source_id",
            "submission_time",
            "unique_id",
        ]
    ),
    *(
        Case(
            f"folder without {field}",
            with_folder(V, **{field: empty}),
            Rule.MISSING_ATTRIBUTE,
            REG,
            FOLDER,
        )
        for field, empty in [
            ("codes", ()),
            ("title", None),
            ("unique_id", None),
            ("patient_id", None),
        ]
    ),
    Case(
        "ITI-41 document without creationTime",
        with_document(V, creation_time=None),
        Rule.MISSING_ATTRIBUTE,
        REPO,
        DOC,
        Transaction.ITI_41,
    ),
    Case(
        "on-demand entry with stable-only attributes",
        with_document(V, object_type=ObjectType.ON_DEMAND_DOCUMENT.value),
        Rule.ON_DEMAND_PROHIBITED,
        REG,
        DOC,
    ),
    Case(
        "unknown objectType",
        with_document(V, object_type="urn:uuid:00000000-0000-0000-0000-000000000000"),
        Rule.UNKNOWN_OBJECT_TYPE,
        REG,
        DOC,
    ),
    # Codes.
    Case(
        "classCode without display name",
        with_document(V, class_code=Code("11490-0", "2.16.840.1.113883.6.1")),
        Rule.INCOMPLETE_CODE,
        REG,
        DOC,
    ),
    Case(
        "confidentialityCode without scheme",
        with_document(V, confidentiality_codes=(Code("N", "", "Normal"),)),
        Rule.INCOMPLETE_CODE,
        REG,
        DOC,
    ),
    Case(
        "eventCode without code",
        with_document(V, event_codes=(Code("", "SNM3", "Kidney"),)),
        Rule.INCOMPLETE_CODE,
        REG,
        DOC,
    ),
    Case(
        "contentTypeCode without display name",
        with_submission_set(V, content_type_code=Code("34133-9", "2.16.840.1.113883.6.1")),
        Rule.INCOMPLETE_CODE,
        REG,
        SS,
    ),
    Case(
        "folder code without scheme",
        with_folder(V, codes=(Code("Referrals", "", "R"),)),
        Rule.INCOMPLETE_CODE,
        REG,
        FOLDER,
    ),
    # Times.
    *(
        Case(
            f"creationTime {value}",
            with_document(V, creation_time=value),
            Rule.INVALID_TIME,
            REG,
            DOC,
        )
        for value in [
            "2024011",
            "20241301",
            "20240230",
            "20240115250000",
            "20240115103000.123",
            "202401151030+0100",
            "2024-01-15",
        ]
    ),
    Case(
        "submissionTime with a zone",
        with_submission_set(V, submission_time="20240115103000Z"),
        Rule.INVALID_TIME,
        REG,
        SS,
    ),
    Case(
        "service times reversed",
        with_document(V, service_start_time="20240116", service_stop_time="202401151200"),
        Rule.SERVICE_TIMES_REVERSED,
        REG,
        DOC,
    ),
    # OIDs and uniqueIds.
    *(
        Case(
            f"submission set uniqueId {value[:20]}",
            with_submission_set(V, unique_id=value),
            Rule.INVALID_OID,
            REG,
            SS,
        )
        for value in ["1.2.03", "urn:oid:1.2.3", "1.2.3.", "3.1", "1", "1." + "2" * 63]
    ),
    Case(
        "sourceId not an OID",
        with_submission_set(V, source_id="source-1"),
        Rule.INVALID_OID,
        REG,
        SS,
    ),
    Case(
        "repositoryUniqueId not an OID",
        with_document(V, repository_unique_id="repo"),
        Rule.INVALID_OID,
        REG,
        DOC,
    ),
    Case(
        "folder uniqueId not an OID",
        with_folder(V, unique_id="1..2"),
        Rule.INVALID_OID,
        REG,
        FOLDER,
    ),
    *(
        Case(
            f"document uniqueId {value[:20]}",
            with_document(V, unique_id=value),
            Rule.INVALID_DOCUMENT_UNIQUE_ID,
            REG,
            DOC,
        )
        for value in ["1.2.3^", "1.2.3^" + "x" * 17, "doc-42", "1.2.3^a^b", "1.2." + "3" * 130]
    ),
    # Document values.
    *(
        Case(f"hash {value[:10]}", with_document(V, hash=value), Rule.INVALID_HASH, REG, DOC)
        for value in ["abc", "g" * 40, "a" * 64]
    ),
    *(
        Case(f"size {value}", with_document(V, size=value), Rule.INVALID_SIZE, REG, DOC)
        for value in ["-1", "1.5", "ten"]
    ),
    *(
        Case(
            f"mimeType {value}", with_document(V, mime_type=value), Rule.INVALID_MIME_TYPE, REG, DOC
        )
        for value in ["textxml", "text/", "text /xml"]
    ),
    *(
        Case(
            f"languageCode {value}",
            with_document(V, language_code=value),
            Rule.INVALID_LANGUAGE_CODE,
            REG,
            DOC,
        )
        for value in ["fr_FR", "français", "fr-"]
    ),
    # HL7 values.
    *(
        Case(f"patientId {value}", with_patient(V, value), Rule.INVALID_CX, REG, SS)
        for value in [
            "PAT-1",
            "^^^&1.2.3&ISO",
            "PAT-1^^^NS&1.2.3&ISO",
            "PAT-1^^^&1.2.3&L",
            "PAT-1^^^&1.2.3",
            "PAT-1^^^&abc&ISO",
            "PAT-1^5^M10^&1.2.3&ISO",
            "PAT-1^^^&1.2.3&ISO^PI^extra",
        ]
    ),
    Case(
        "sourcePatientId without authority",
        with_document(V, source_patient_id="PAT-77"),
        Rule.INVALID_CX,
        REG,
        DOC,
    ),
    Case(
        "author person without id or name",
        document_author(person="^^Jean"),
        Rule.INVALID_XCN,
        REG,
        DOC,
    ),
    Case(
        "author person with a non-ISO authority",
        document_author(person="123^Martin^^^^^^^&1.2.3&L"),
        Rule.INVALID_XCN,
        REG,
        DOC,
    ),
    Case(
        "legalAuthenticator without id or name",
        with_document(V, legal_authenticator="^^Jean"),
        Rule.INVALID_XCN,
        REG,
        DOC,
    ),
    *(
        Case(
            f"institution {value}",
            document_author(institutions=(value,)),
            Rule.INVALID_XON,
            REG,
            DOC,
        )
        for value in [
            "^^^^^&1.2.3&ISO^^^^123",
            "Hosp^^^^^^^^^ABC",
            "Hosp^^^^^&1.2.3&ISO",
            "Hosp^^^^^&1.2.3&L^^^^ABC",
        ]
    ),
    *(
        Case(f"telecom {value}", document_author(telecoms=(value,)), Rule.INVALID_XTN, REG, DOC)
        for value in ["^^Internet^not-an-address", "^^^", "^PRN^PH^^^^abc", "^^XX^^^^123"]
    ),
    Case(
        "submission set author telecom",
        with_submission_set(V, authors=(replace(AUTHOR, telecoms=("^^Internet^x",)),)),
        Rule.INVALID_XTN,
        REG,
        SS,
    ),
    Case(
        "author naming nobody",
        document_author(person=None, institutions=(), telecoms=()),
        Rule.EMPTY_AUTHOR,
        REG,
        DOC,
    ),
    *(
        Case(
            f"sourcePatientInfo {value}",
            with_document(V, source_patient_info=(value,)),
            Rule.INVALID_SOURCE_PATIENT_INFO,
            REG,
            DOC,
        )
        for value in ["PID-5 Doe", "PID-2|x", "PID-19|x", "PID-99|x", "PID-5|", "PID-3|^^^&1.2&ISO"]
    ),
    *(
        Case(
            f"referenceIdList {value[:12]}",
            with_document(V, reference_ids=(value,)),
            Rule.INVALID_REFERENCE_ID,
            REG,
            DOC,
        )
        for value in ["A-1234", "^^^&1.2.3.4&ISO^urn:ihe:iti:xds:2013:accession"]
    ),
    # Associations and structure.
    Case(
        "unknown association type",
        replaced_association(association_type="urn:ihe:iti:2007:AssociationType:FOO"),
        Rule.UNKNOWN_ASSOCIATION_TYPE,
        REG,
        "Replace01",
    ),
    Case(
        "IsSnapshotOf in a register",
        replaced_association(association_type=AssociationType.IS_SNAPSHOT_OF.value),
        Rule.ASSOCIATION_TYPE_NOT_ALLOWED,
        REG,
        "Replace01",
    ),
    Case(
        "symbolic target outside the message",
        replaced_association(target="OldDocument"),
        Rule.UNRESOLVED_REFERENCE,
        ErrorCode.UnresolvedReferenceException,
        "Replace01",
    ),
    Case(
        "HasMember to a missing object",
        plus(V, has_member("SsDoc2", SS, "Document02", "Original")),
        Rule.UNRESOLVED_REFERENCE,
        ErrorCode.UnresolvedReferenceException,
        "SsDoc2",
    ),
    Case(
        "ITI-41 unresolved source",
        replaced_association(source="Document99"),
        Rule.UNRESOLVED_REFERENCE,
        ErrorCode.UnresolvedReferenceException,
        "Replace01",
        Transaction.ITI_41,
    ),
    Case(
        "SS-document HasMember without status",
        with_associations(
            V, replace(ASSOCIATIONS[0], submission_set_status=None), *ASSOCIATIONS[1:]
        ),
        Rule.MISSING_SUBMISSION_SET_STATUS,
        REG,
        "SsDoc",
    ),
    Case(
        "unknown SubmissionSetStatus",
        with_associations(
            V, replace(ASSOCIATIONS[0], submission_set_status="Copied"), *ASSOCIATIONS[1:]
        ),
        Rule.INVALID_SUBMISSION_SET_STATUS,
        REG,
        "SsDoc",
    ),
    Case(
        "Original for a registered document",
        plus(V, has_member("SsOld", SS, REGISTERED_DOCUMENT, "Original")),
        Rule.ORIGINAL_NOT_SUBMITTED,
        REG,
        "SsOld",
    ),
    Case(
        "Reference for a submitted document",
        with_associations(
            V, replace(ASSOCIATIONS[0], submission_set_status="Reference"), *ASSOCIATIONS[1:]
        ),
        Rule.REFERENCE_TO_SUBMITTED,
        REG,
        "SsDoc",
    ),
    Case(
        "document HasMember folder",
        plus(V, has_member("DocFolder", DOC, FOLDER)),
        Rule.INVALID_HAS_MEMBER,
        REG,
        "DocFolder",
    ),
    Case(
        "folder HasMember submission set",
        plus(V, has_member("FolderSs", FOLDER, SS)),
        Rule.INVALID_HAS_MEMBER,
        REG,
        "FolderSs",
    ),
    Case(
        "submission set HasMember itself",
        plus(V, has_member("SsSs", SS, SS)),
        Rule.INVALID_HAS_MEMBER,
        REG,
        "SsSs",
    ),
    Case(
        "folder membership outside the submission set",
        without_association("SsFolderDoc"),
        Rule.FOLDER_MEMBERSHIP_NOT_SUBMITTED,
        REG,
        "FolderDoc",
    ),
    Case(
        "document not in the submission set",
        without_association("SsDoc"),
        Rule.NOT_IN_SUBMISSION_SET,
        REG,
        DOC,
    ),
    Case(
        "folder not in the submission set",
        without_association("SsFolder"),
        Rule.NOT_IN_SUBMISSION_SET,
        REG,
        FOLDER,
    ),
    Case(
        "RPLC from a registered document",
        replaced_association(
            source=REGISTERED_DOCUMENT, target="urn:uuid:6f7c0a5e-0000-4000-8000-000000000001"
        ),
        Rule.RELATIONSHIP_SOURCE,
        REG,
        "Replace01",
    ),
    Case(
        "APND from a folder",
        replaced_association(association_type=AssociationType.APPEND.value, source=FOLDER),
        Rule.RELATIONSHIP_SOURCE,
        REG,
        "Replace01",
    ),
    Case(
        "signs from the submission set",
        plus(V, Association("Sign01", AssociationType.SIGNS.value, SS, DOC)),
        Rule.RELATIONSHIP_SOURCE,
        REG,
        "Sign01",
    ),
    Case(
        "RPLC of itself",
        replaced_association(target=DOC),
        Rule.RELATIONSHIP_TARGET,
        REG,
        "Replace01",
    ),
    Case(
        "XFRM of a folder",
        replaced_association(association_type=AssociationType.TRANSFORM.value, target=FOLDER),
        Rule.RELATIONSHIP_TARGET,
        REG,
        "Replace01",
    ),
    Case(
        "signs a folder",
        plus(V, Association("Sign01", AssociationType.SIGNS.value, DOC, FOLDER)),
        Rule.SIGNS_TARGET,
        REG,
        "Sign01",
    ),
    # DMP profile.
    *(
        Case(
            f"DMP patientId {value}",
            with_patient(D, value),
            Rule.DMP_PATIENT_ID,
            REG,
            SS,
            profile=DMP,
        )
        for value in [
            "1234567890123456789012^^^&1.2.250.1.213.1.4.2&ISO^NH",
            "279035121518989^^^&1.2.3.4&ISO^NH",
            "279035121518989^^^&1.2.250.1.213.1.4.8&ISO",
            "279035121518989^^^&1.2.250.1.213.1.4.8&ISO^PI",
            "27903512151898^^^&1.2.250.1.213.1.4.8&ISO^NH",
            "27903X121518989^^^&1.2.250.1.213.1.4.9&ISO^NH",
        ]
    ),
    *(
        Case(
            f"DMP confidentiality {label}",
            with_document(D, confidentiality_codes=codes),
            Rule.DMP_CONFIDENTIALITY,
            REG,
            DOC,
            profile=DMP,
        )
        for label, codes in [
            ("flag only", (MASQUE_PS,)),
            ("two levels", (N_CODE, Code("R", "2.16.840.1.113883.5.25", "Restricted"))),
            ("repeated flag", (N_CODE, MASQUE_PS, MASQUE_PS)),
            ("foreign code", (N_CODE, Code("XYZ", "1.2.3", "Other"))),
        ]
    ),
    *(
        Case(
            f"DMP {field} outside the value set",
            with_document(D, **{field: code}),
            Rule.DMP_NOT_IN_VALUE_SET,
            REG,
            DOC,
            profile=DMP,
        )
        for field, code in [
            ("type_code", Code("99999-9", "2.16.840.1.113883.6.1", "Unknown")),
            ("healthcare_facility_type_code", Code("SA01", "1.2.3", "Wrong system")),
            ("practice_setting_code", Code("General Medicine", "Connect-a-thon codes", "GM")),
        ]
    ),
    Case(
        "DMP author specialty outside the value set",
        with_document(
            D, authors=(replace(AUTHOR, specialties=("XX^Unknown^1.2.250.1.213.1.1.4.5",)),)
        ),
        Rule.DMP_NOT_IN_VALUE_SET,
        REG,
        DOC,
        profile=DMP,
    ),
    Case(
        "DMP referenceIdList type outside the value set",
        with_document(D, reference_ids=("A-1^^^&1.2.3.4&ISO^urn:example:other",)),
        Rule.DMP_NOT_IN_VALUE_SET,
        REG,
        DOC,
        profile=DMP,
    ),
    *(
        Case(
            f"DMP authorSpecialty {value}",
            with_submission_set(D, authors=(replace(AUTHOR, specialties=(value,)),)),
            Rule.DMP_AUTHOR_SPECIALTY_FORMAT,
            REG,
            SS,
            profile=DMP,
        )
        for value in [
            "Orthopedic",
            "G15_10/SM26^Médecine générale^notanoid",
            "G15_10/SM26^Médecine générale",
        ]
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule_violation_reported_with_its_code_naming_the_object(case: Case) -> None:
    findings = validate(case.metadata, transaction=case.transaction, profile=case.profile)
    assert findings, "the broken submission was accepted"
    others = [f for f in findings if not produced_by(case.rule, f)]
    assert not others, f"findings of other rules: {others}"
    assert {f.code for f in findings} == {case.code}
    assert any(case.names in f.message and f.location == case.names for f in findings), findings


def test_every_rule_of_the_inventory_has_a_failing_case() -> None:
    assert {case.rule for case in CASES} == set(Rule)


def test_rule_templates_are_told_apart() -> None:
    # Each finding must be attributable to one rule, or the coverage above means nothing.
    for case in CASES:
        for finding in validate(case.metadata, transaction=case.transaction, profile=case.profile):
            rules = [rule for rule in Rule if produced_by(rule, finding)]
            assert rules == [case.rule], (finding, rules)


@pytest.mark.parametrize("transaction", list(Transaction))
def test_every_rule_has_a_code_in_every_transaction(transaction: Transaction) -> None:
    for rule in Rule:
        assert isinstance(rule.code(transaction), ErrorCode)


def test_every_document_relationship_checks_its_source() -> None:
    for kind in (
        AssociationType.REPLACE,
        AssociationType.TRANSFORM,
        AssociationType.APPEND,
        AssociationType.TRANSFORM_REPLACE,
    ):
        metadata = replaced_association(association_type=kind.value, source=FOLDER)
        assert [f.code for f in validate(metadata)] == [REG], kind


def test_author_without_person_but_institution_is_enough() -> None:
    metadata = document_author(person=None, telecoms=())
    assert validate(metadata) == []


def test_author_with_only_telecom_is_enough() -> None:
    assert validate(with_document(V, authors=(Author(telecoms=("^^Internet^a@b.example",)),))) == []


def test_document_is_the_one_named_in_its_messages() -> None:
    findings = validate(with_document(V, hash="abc"))
    assert findings[0].message.startswith(f"DocumentEntry {DOC} (uniqueId {DOCUMENT.unique_id})")
