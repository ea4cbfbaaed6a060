"""The French DMP profile: INS patient ids, confidentiality and masking, ANS value sets."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import (
    DMP_PATIENT_ID,
    valid_dmp_submission,
    valid_submission,
    with_document,
    with_folder,
    with_submission_set,
)

from ebrim.errors import ErrorCode, Transaction
from ebrim.model import Code, Metadata
from ebrim.profile import Profile
from ebrim.validate import validate
from ebrim.validate.dmp import ins_problem

N = Code("N", "2.16.840.1.113883.5.25", "Normal")
V = Code("V", "2.16.840.1.113883.5.25", "Très restreint")
FLAGS = tuple(
    Code(code, "1.2.250.1.213.1.1.4.13", code)
    for code in ("MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX")
)


def with_patient(metadata: Metadata, patient_id: str) -> Metadata:
    for change in (with_submission_set, with_document, with_folder):
        metadata = change(metadata, patient_id=patient_id)
    return metadata


@pytest.mark.parametrize("transaction", [Transaction.ITI_42, Transaction.ITI_41])
def test_valid_dmp_submission_has_no_finding(transaction: Transaction) -> None:
    assert validate(valid_dmp_submission(), transaction=transaction, profile=Profile.DMP) == []


def test_dmp_submission_is_valid_generic_metadata_too() -> None:
    assert validate(valid_dmp_submission()) == []


def test_generic_submission_is_not_a_dmp_one() -> None:
    findings = validate(valid_submission(), profile=Profile.DMP)
    messages = " ".join(f.message for f in findings)
    assert "is not an INS" in messages and "ANS value set" in messages


@pytest.mark.parametrize(
    "patient_id",
    [
        DMP_PATIENT_ID,
        "279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH",
        "799012345678912^^^&1.2.250.1.213.1.4.9&ISO^NH",
        "279032A12345678^^^&1.2.250.1.213.1.4.11&ISO^NH",
        "185122B01234567^^^&1.2.250.1.213.1.4.8&ISO^NH",
    ],
)
def test_ins_of_every_authority_is_accepted(patient_id: str) -> None:
    assert ins_problem(patient_id) is None
    metadata = with_patient(valid_dmp_submission(), patient_id)
    assert validate(metadata, profile=Profile.DMP) == []


def test_legacy_ins_c_is_refused() -> None:
    reason = ins_problem("1234567890123456789012^^^&1.2.250.1.213.1.4.2&ISO^NH")
    assert reason is not None and "INS-C" in reason


def test_ins_is_reported_once_for_the_whole_submission() -> None:
    metadata = with_patient(valid_dmp_submission(), "123^^^&1.2.250.1.213.1.4.8&ISO^NH")
    findings = validate(metadata, profile=Profile.DMP)
    assert [(f.code, f.location) for f in findings] == [
        (ErrorCode.XDSRegistryMetadataError, "SubmissionSet01")
    ]


def test_ins_error_in_provide_and_register_is_a_repository_error() -> None:
    metadata = with_patient(valid_dmp_submission(), "x^^^&1.2.250.1.213.1.4.8&ISO^NH")
    findings = validate(metadata, transaction=Transaction.ITI_41, profile=Profile.DMP)
    assert [f.code for f in findings] == [ErrorCode.XDSRepositoryMetadataError]


@pytest.mark.parametrize(
    "codes",
    [(N,), (V,), (N, *FLAGS), (*FLAGS[:2], V)],
    ids=["N", "V", "N and three flags", "flags before V"],
)
def test_confidentiality_level_with_up_to_three_flags(codes: tuple[Code, ...]) -> None:
    metadata = with_document(valid_dmp_submission(), confidentiality_codes=codes)
    assert validate(metadata, profile=Profile.DMP) == []


def test_missing_confidentiality_is_reported_once() -> None:
    metadata = with_document(valid_dmp_submission(), confidentiality_codes=())
    findings = validate(metadata, profile=Profile.DMP)
    assert len(findings) == 1 and "required confidentialityCode" in findings[0].message


@pytest.mark.parametrize(
    "specialty",
    [
        "G15_10/SM54^Médecine générale^1.2.250.1.213.1.1.4.5",
        "SNR^Sans Objet^1.2.250.1.213.1.1.4.6",
        "G15_10/SM26^Médecine générale^&1.2.250.1.213.1.1.4.5&ISO",
    ],
)
def test_author_specialty_from_the_value_set(specialty: str) -> None:
    metadata = valid_dmp_submission()
    author = metadata.documents[0].authors[0]
    metadata = with_document(metadata, authors=(replace(author, specialties=(specialty,)),))
    assert validate(metadata, profile=Profile.DMP) == []


def test_reference_id_types_from_the_value_set() -> None:
    refs = (
        "ACC-1^^^&1.2.3.4&ISO^urn:ihe:iti:xds:2013:accession",
        "ORD-1^^^&1.2.3.4&ISO^urn:ihe:iti:xds:2013:order",
        "1.2.3.4.5^^^^urn:ihe:iti:xds:2016:studyInstanceUID",
    )
    metadata = with_document(valid_dmp_submission(), reference_ids=refs)
    assert validate(metadata, profile=Profile.DMP) == []
