"""Metadata from every CI-SIS example document passes the DMP rules; exact values for some."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from conftest import CDA_EXAMPLES as EXAMPLES

from cda import (
    SNIFF_BYTES,
    CdaHeader,
    CheckedFields,
    NotCda,
    RelatedDocument,
    checked_fields,
    is_cda_start,
    parse_cda,
    read_header,
    render_html,
    submission_for,
)
from ebrim.errors import Transaction
from ebrim.model import Author, Code, Metadata
from ebrim.profile import Profile
from ebrim.validate import validate

FILES = sorted(p.name for p in EXAMPLES.glob("*.xml"))
LOINC = "2.16.840.1.113883.6.1"
TEST_NIR = "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"
LOCAL_ID = "1234567890121^^^&1.2.3.4.567.8.9.10&ISO"
# classCode is not in a CDA header (CI-SIS derives it from typeCode, ASS_X04): the submitter's.
CLASS_CODE = Code("10", "1.2.250.1.213.1.1.4.1", "Compte rendu")


def header(name: str) -> CdaHeader:
    return read_header((EXAMPLES / name).read_bytes())


def minimal_submission(cda: CdaHeader) -> Metadata:
    """What `xds submit doc.xml` sends: the document, a SubmissionSet from the same header."""
    return submission_for(
        cda, class_code=CLASS_CODE, source_id="1.2.250.1.999", submission_time="20240506070809"
    )


def test_every_example_is_found() -> None:
    assert len(FILES) == 41


# No example carries a value outside the ANS value sets or the TF rules once read by
# `cda`: every file validates without a finding (an exception would be listed here).
EXPECTED_FINDINGS: dict[str, list[str]] = {}


@pytest.mark.parametrize("name", FILES)
def test_example_metadata_passes_dmp_validation(name: str) -> None:
    findings = validate(
        minimal_submission(header(name)), transaction=Transaction.ITI_41, profile=Profile.DMP
    )
    assert [f.message for f in findings] == EXPECTED_FINDINGS.get(name, [])


@pytest.mark.parametrize("name", FILES)
def test_example_yields_every_cda_derived_attribute(name: str) -> None:
    cda = header(name)
    entry = cda.document_entry()
    assert entry.mime_type == "text/xml"
    assert entry.format_code is not None
    assert entry.type_code is not None
    assert entry.healthcare_facility_type_code is not None
    assert entry.practice_setting_code is not None
    assert entry.creation_time and entry.creation_time.isdigit()
    assert entry.size == str((EXAMPLES / name).stat().st_size)
    assert entry.authors


def test_vaccination_note_values() -> None:
    cda = header("VAC-NOTE_2023.01.xml")
    assert cda.unique_id == "1.2.250.1.213.1.1.1.46.2023.1.1"
    assert cda.patient_id == TEST_NIR
    assert cda.source_patient_id == LOCAL_ID
    assert cda.type_code == Code("87273-9", LOINC, "Note de vaccination")
    assert cda.creation_time == "20210409143500"  # 15:35 +01:00
    assert cda.format_code == Code(
        "urn:asip:ci-sis:vac-note:2021",
        "1.2.250.1.213.1.1.4.2.282",
        "urn:asip:ci-sis:vac-note:2021",
    )
    assert cda.confidentiality_code == Code("N", "2.16.840.1.113883.5.25", "Normal")
    assert cda.language_code == "fr-FR"
    assert cda.healthcare_facility_type_code == Code(
        "SA07", "1.2.250.1.71.4.2.4", "Cabinet individuel"
    )
    assert cda.practice_setting_code is not None and cda.practice_setting_code.code == "AMBULATOIRE"
    assert cda.authors[0].person == (
        "801234567897^MULLER^Charles^^DR^M^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
    )
    assert cda.authors[0].specialties == (
        "G15_10/SM26^Médecin - Qualifié en Médecine Générale (SM)^1.2.250.1.213.1.1.4.5",
    )
    assert cda.source_patient_info == (
        f"PID-3|{TEST_NIR}",
        f"PID-3|{LOCAL_ID}",
        "PID-5|PAT-TROIS^DOMINIQUE",
        "PID-7|19790328",
        "PID-8|F",
    )
    assert cda.level == 3


def test_biology_report_values() -> None:
    cda = header("BIO-CR-BIO_2024.01_DEP-CCU-tout-structure.xml")
    assert cda.unique_id == "1.2.250.1.213.1.1.1.55.2024.4.1"
    assert cda.type_code == Code("11502-2", LOINC, "CR d'examens biologiques")
    assert cda.creation_time == "20240104150527"
    assert cda.format_code is not None
    assert (cda.format_code.code, cda.format_code.scheme) == (
        "urn:ihe:lab:xd-lab:2008",
        "1.3.6.1.4.1.19376.1.2.3",
    )
    assert [a.person for a in cda.authors] == [
        "801234534765^CAMPARINI^Marcel^^DR^M^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS",
        "801234536598^DUPONT^Thierry^^DR^M^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS",
    ]
    assert cda.reference_ids == (
        "2024123456780^^^&1.2.250.1.213.1.1.9&ISO^urn:ihe:iti:xds:2013:order",
    )
    assert (cda.service_start_time, cda.service_stop_time) == ("20240104082200", "20240104150500")
    assert [(c.code, c.scheme) for c in cda.event_codes] == [
        ("18725-2", LOINC),
        ("1443252", "1.2.250.1.213.1.1.5.130"),
    ]


def test_level_one_pdf_report_values() -> None:
    cda = header("IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml")
    assert cda.level == 1
    assert cda.body_media_type == "application/pdf"
    assert cda.format_code is not None and cda.format_code.code == "urn:ihe:iti:xds-sd:pdf:2008"
    assert cda.unique_id == "1.2.250.1.213.1.1.1.45.2024.2.1"
    assert cda.creation_time == "20210108101700"
    assert cda.related_documents == (
        # A UUID root is an OID under 2.25 (ISO/IEC 9834-8): 90E1C8EC-F951-4B26-A305-A34848818DD6.
        RelatedDocument("RPLC", ("2.25.192581173443125350942149211714964524502",)),
    )
    assert cda.authors[0].roles == (
        "ATTPHYS^Référent - Responsable du patient dans la structure de soins"
        "^2.16.840.1.113883.5.88",
    )


def test_reimbursement_record_values() -> None:
    cda = header("CNAM-HR_2021.01_sans-info.xml")
    assert cda.type_code == Code("REMB", "1.2.250.1.213.1.1.4.12", "Données de remboursement")
    assert cda.format_code is not None and cda.format_code.code == "urn:asip:ci-sis:hr:2019"
    assert cda.authors == (
        Author(
            person="518003502400041/1.2.250.1.215.1.2^^^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS",
            institutions=("Assurance Maladie^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^318003502400041",),
            specialties=(
                "ALIM_AM^Alimentation auto à partir du SI de l'Ass Maladie^1.2.250.1.213.1.1.4.6",
            ),
        ),
    )
    assert cda.related_documents == (RelatedDocument("RPLC", ("1.2.250.1.213.1.1.9^10002-1",)),)
    assert (cda.set_id, cda.version_number) == ("1.2.250.1.213.1.1.1.36.2021.2", "2")


def test_child_health_certificate_values() -> None:
    cda = header("CSE-CS8_2025.01.xml")
    assert cda.patient_id == "221042545611404^^^&1.2.250.1.213.1.4.10&ISO^NH"
    assert cda.source_patient_id == cda.patient_id  # no local id in the document
    assert cda.unique_id == "1.2.250.1.213.1.1.1.5.1.2024.2.1"
    assert cda.type_code == Code("CERT_DECL", "1.2.250.1.213.1.1.4.12", "Certificat, déclaration")
    assert cda.creation_time == "20210503104500"
    assert cda.format_code is not None and cda.format_code.code == "urn:asip:ci-sis:cse-cs8:2017"
    assert cda.patient.family_name == "DECOURCY"
    assert cda.patient.given_name == "Ruth"  # the first given name of the birth certificate
    assert cda.authors[0].institutions == (
        "Clinique du Belvédère^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1120456789",
    )


def test_prescription_values() -> None:
    cda = header("eP-MED-DM_2024.01_PosoNonStruct.xml")
    assert cda.format_code is not None
    assert (cda.format_code.code, cda.format_code.scheme) == (
        "urn:ihe:pharm:pre:2010",
        "1.3.6.1.4.1.19376.1.2.3",
    )
    assert cda.type_code == Code("57833-6", LOINC, "Prescription de produits de santé")
    assert cda.legal_authenticator is not None
    assert cda.legal_authenticator.startswith("807505123456^")


@pytest.mark.parametrize("blank_text", [True, False], ids=["as sent", "without blanks"])
@pytest.mark.parametrize("name", FILES)
def test_checked_fields_are_the_headers_own(name: str, blank_text: bool) -> None:
    """Also from the tree without blank text that the repository builds (a quarter less
    to build): the checked fields are elements and attributes only."""
    data = (EXAMPLES / name).read_bytes()
    header = read_header(data)

    fields = checked_fields(parse_cda(data, blank_text=blank_text))

    assert fields == CheckedFields(
        header.unique_id,
        header.patient_ids,
        header.type_code,
        header.confidentiality_code,
        header.creation_time,
    )


def test_self_presented_document_is_read_from_its_embedded_clinical_document() -> None:
    # An ANS "autoprésentable" document: xsl:stylesheet/data:Contenu/ClinicalDocument.
    path = EXAMPLES.parent / "autopresentable" / "CR-BIO_2021.01_Auto-Presentable.xml"
    data = path.read_bytes()
    assert is_cda_start(data[:SNIFF_BYTES])
    cda = read_header(data)
    assert cda.unique_id == f"2.25.{uuid.UUID('34DD15CB-D9ED-401D-A139-740EDA600E71').int}"
    assert (cda.type_code.code, cda.type_code.scheme) == ("11502-2", "2.16.840.1.113883.6.1")
    assert cda.title == "Compte rendu d'examens biologiques"
    assert (cda.size, cda.hash) == (len(data), hashlib.sha1(data).hexdigest())
    assert "biologiques" in render_html(data)


def test_an_xsl_stylesheet_without_a_clinical_document_is_not_cda() -> None:
    data = b'<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>'
    assert not is_cda_start(data)
    with pytest.raises(NotCda, match="self-presented"):
        read_header(data)
