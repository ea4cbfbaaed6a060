"""A complete submission from a CDA header: what `xds submit doc.xml` sends."""

from __future__ import annotations

from conftest import CDA_EXAMPLES as EXAMPLES

from cda import read_header, submission_for
from ebrim.model import Code
from ebrim.vocabulary import AssociationType, SubmissionSetStatus

CLASS_CODE = Code("10", "1.2.250.1.213.1.1.4.1", "Compte rendu")
MASQUE_PS = Code("MASQUE_PS", "1.2.250.1.213.1.1.4.13", "Masqué aux PS")
REGISTERED = "urn:uuid:6f1e8c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"


def build(name: str, **options: object):
    header = read_header((EXAMPLES / name).read_bytes())
    options = {"class_code": CLASS_CODE, "source_id": "1.2.250.1.999", **options}
    return header, submission_for(header, submission_time="20240506070809", **options)  # type: ignore[arg-type]


def test_submission_set_takes_patient_author_and_type_from_the_header() -> None:
    header, metadata = build("VAC-NOTE_2023.01.xml")
    submission_set = metadata.submission_sets[0]
    assert submission_set.patient_id == header.patient_id
    assert submission_set.authors == header.authors[:1]
    assert submission_set.content_type_code == header.type_code
    assert submission_set.source_id == "1.2.250.1.999"
    assert submission_set.unique_id and submission_set.unique_id.startswith("2.25.")


def test_document_is_an_original_member_of_the_submission_set() -> None:
    _, metadata = build("VAC-NOTE_2023.01.xml")
    (member,) = metadata.associations
    assert member.association_type == AssociationType.HAS_MEMBER.value
    assert (member.source, member.target) == ("SubmissionSet01", "Document01")
    assert member.submission_set_status == SubmissionSetStatus.ORIGINAL.value


def test_masking_flags_follow_the_documents_own_confidentiality() -> None:
    header, metadata = build("VAC-NOTE_2023.01.xml", confidentiality_flags=(MASQUE_PS,))
    assert metadata.documents[0].confidentiality_codes == (header.confidentiality_code, MASQUE_PS)


def test_content_type_code_given_wins_over_the_type_code() -> None:
    content = Code("04", "1.2.250.1.213.1.1.4.2.2", "Hospitalisation")
    _, metadata = build("VAC-NOTE_2023.01.xml", content_type_code=content)
    assert metadata.submission_sets[0].content_type_code == content


def test_replacement_links_to_the_registered_parent() -> None:
    _, metadata = build(
        "CNAM-HR_2021.01_sans-info.xml", related={"1.2.250.1.213.1.1.9^10002-1": REGISTERED}
    )
    replace = [
        a for a in metadata.associations if a.association_type != AssociationType.HAS_MEMBER.value
    ]
    assert [(a.association_type, a.source, a.target) for a in replace] == [
        (AssociationType.REPLACE.value, "Document01", REGISTERED)
    ]


def test_replacement_of_an_unregistered_parent_is_left_out() -> None:
    _, metadata = build("CNAM-HR_2021.01_sans-info.xml", related={})
    assert len(metadata.associations) == 1
