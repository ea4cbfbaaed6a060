"""Metadata for one document given by its facts: what `xds submit` and `xds demo` send.

The codes default to generic LOINC / HL7 values so that a quick `xds submit file --patient`
goes through the generic profile; an affinity domain (the DMP) gives its own with options.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cda import CdaHeader, submission_for
from ebrim.model import (
    Association,
    Author,
    Code,
    DocumentEntry,
    LocalizedString,
    Metadata,
    SubmissionSet,
)
from ebrim.vocabulary import AssociationType, ObjectType, SubmissionSetStatus
from registry.policy.visibility import FLAG_NAMES, FLAG_SYSTEM

LOINC = "2.16.840.1.113883.6.1"
DEFAULT_SOURCE_ID = "1.3.6.1.4.1.21367.2005.3.7"
MASKING_SYSTEM = FLAG_SYSTEM
MASKING_FLAGS = FLAG_NAMES
DOCUMENT_ID = "Document01"
SUBMISSION_SET_ID = "SubmissionSet01"


def new_oid() -> str:
    """A fresh `2.25.<uuid>` OID (ITU-T X.667), e.g. for a uniqueId."""
    return f"2.25.{uuid.uuid4().int}"


def now_dtm() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")


def code(text: str) -> Code:
    """`code^display^scheme` or `code^^scheme` (the stored-query syntax) as a Code."""
    value, display, scheme = ([*text.split("^", 2), "", ""])[:3]
    if not value or not scheme:
        raise ValueError(f"code {text!r} is not written code^display^scheme or code^^scheme")
    return Code(value, scheme, display or value)


@dataclass(frozen=True)
class DocumentFacts:
    """What one submitted document is; None / defaults where the caller did not say."""

    patient_id: str
    mime_type: str = "text/xml"
    unique_id: str = field(default_factory=new_oid)
    title: str = "Document"
    creation_time: str = field(default_factory=now_dtm)
    class_code: str = f"11490-0^Discharge summary^{LOINC}"
    type_code: str = f"34133-9^Summary of episode note^{LOINC}"
    format_code: str = "urn:ihe:iti:xds:2017:mimeTypeSufficient^^1.3.6.1.4.1.19376.1.2.3"
    confidentiality_code: str = "N^Normal^2.16.840.1.113883.5.25"
    facility_type_code: str = "Outpatient^Outpatient^Connect-a-thon healthcareFacilityTypeCodes"
    practice_setting_code: str = "General Medicine^General Medicine^Connect-a-thon practiceSetting"
    language_code: str = "en-US"
    source_patient_id: str | None = None
    source_id: str = DEFAULT_SOURCE_ID
    content_type_code: str | None = None
    extra_confidentiality: tuple[str, ...] = ()
    authors: tuple[Author, ...] = ()
    service_start_time: str | None = None
    legal_authenticator: str | None = None


def single_document(facts: DocumentFacts) -> Metadata:
    """A SubmissionSet holding one stable DocumentEntry (symbolic ids, Original membership)."""
    document = DocumentEntry(
        entry_uuid=DOCUMENT_ID,
        object_type=ObjectType.STABLE_DOCUMENT.value,
        mime_type=facts.mime_type,
        title=LocalizedString(facts.title),
        unique_id=facts.unique_id,
        patient_id=facts.patient_id,
        source_patient_id=facts.source_patient_id or facts.patient_id,
        class_code=code(facts.class_code),
        confidentiality_codes=tuple(
            code(c) for c in (facts.confidentiality_code, *facts.extra_confidentiality)
        ),
        format_code=code(facts.format_code),
        healthcare_facility_type_code=code(facts.facility_type_code),
        practice_setting_code=code(facts.practice_setting_code),
        type_code=code(facts.type_code),
        creation_time=facts.creation_time,
        language_code=facts.language_code,
        authors=facts.authors,
        service_start_time=facts.service_start_time,
        legal_authenticator=facts.legal_authenticator,
    )
    submission_set = SubmissionSet(
        entry_uuid=SUBMISSION_SET_ID,
        unique_id=new_oid(),
        source_id=facts.source_id,
        patient_id=facts.patient_id,
        submission_time=now_dtm(),
        content_type_code=code(facts.content_type_code or facts.class_code),
        title=LocalizedString(facts.title),
        authors=facts.authors,
    )
    membership = Association(
        entry_uuid="Association01",
        association_type=AssociationType.HAS_MEMBER.value,
        source=SUBMISSION_SET_ID,
        target=DOCUMENT_ID,
        submission_set_status=SubmissionSetStatus.ORIGINAL.value,
    )
    return Metadata(
        submission_sets=(submission_set,), documents=(document,), associations=(membership,)
    )


def from_cda(
    header: CdaHeader,
    *,
    class_code: str | None,
    source_id: str,
    content_type_code: str | None = None,
    masks: Sequence[str] = (),
    related: dict[str, str] | None = None,
) -> Metadata:
    """The submission of one CDA document: its header, and what only the submitter knows."""
    if not class_code:
        raise ValueError(
            "a CDA document needs --class-code or --class-code-map (not in the header; CI-SIS "
            "derives it from "
            "typeCode), e.g. '10^Compte rendu^1.2.250.1.213.1.1.4.1'"
        )
    flags = tuple(Code(flag, MASKING_SYSTEM, MASKING_FLAGS[flag]) for flag in masks)
    return submission_for(
        header,
        class_code=code(class_code),
        source_id=source_id,
        submission_time=now_dtm(),
        content_type_code=code(content_type_code) if content_type_code else None,
        confidentiality_flags=flags,
        related=related,
    )
