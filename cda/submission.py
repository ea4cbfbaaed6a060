"""A complete ITI-41 submission from a CDA document alone, plus what only the submitter knows.

The header gives the DocumentEntry and the patient; the submission set takes the same
patient and the document's first author. Only three facts are not in a CDA header: the
classCode (CI-SIS derives it from typeCode through ASS_X04, which this package does not
carry), the submitting system's sourceId, and the DMP masking flags.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from cda.header import CdaHeader, RelatedDocument
from ebrim.model import Association, Code, LocalizedString, Metadata, SubmissionSet
from ebrim.vocabulary import AssociationType, SubmissionSetStatus

DOCUMENT_ID = "Document01"
SUBMISSION_SET_ID = "SubmissionSet01"

_RELATIONSHIPS = {
    "RPLC": AssociationType.REPLACE,
    "APND": AssociationType.APPEND,
    "XFRM": AssociationType.TRANSFORM,
}


def submission_for(
    header: CdaHeader,
    *,
    class_code: Code,
    source_id: str,
    submission_time: str,
    content_type_code: Code | None = None,
    confidentiality_flags: tuple[Code, ...] = (),
    related: dict[str, str] | None = None,
) -> Metadata:
    """SubmissionSet + DocumentEntry + HasMember (+ RPLC/APND/XFRM) for one CDA document.

    `content_type_code` defaults to the document's typeCode. `related` maps the uniqueId of a
    `relatedDocument` parent to the entryUUID of the registered document: the registry links
    by entryUUID, which a CDA does not know, so a relation whose parent is absent is left out.
    """
    entry = header.document_entry(
        DOCUMENT_ID, class_code=class_code, confidentiality_codes=confidentiality_flags
    )
    content = content_type_code or header.type_code
    submission_set = SubmissionSet(
        entry_uuid=SUBMISSION_SET_ID,
        unique_id=f"2.25.{uuid.uuid4().int}",
        source_id=source_id,
        patient_id=header.patient_id,
        submission_time=submission_time,
        authors=header.authors[:1],
        content_type_code=replace(content, display_name=content.display_name or content.code)
        if content
        else None,
        title=LocalizedString(header.title, lang=header.language_code) if header.title else None,
    )
    associations = [
        Association(
            entry_uuid="Association01",
            association_type=AssociationType.HAS_MEMBER.value,
            source=SUBMISSION_SET_ID,
            target=DOCUMENT_ID,
            submission_set_status=SubmissionSetStatus.ORIGINAL.value,
        )
    ]
    associations.extend(_relations(header.related_documents, related or {}))
    return Metadata(
        submission_sets=(submission_set,), documents=(entry,), associations=tuple(associations)
    )


def _relations(related: tuple[RelatedDocument, ...], targets: dict[str, str]) -> list[Association]:
    links = []
    for number, relation in enumerate(related, start=2):
        kind = _RELATIONSHIPS.get(relation.type_code)
        target = next((targets[u] for u in relation.unique_ids if u in targets), None)
        if kind is None or target is None:
            continue
        links.append(
            Association(
                entry_uuid=f"Association{number:02d}",
                association_type=kind.value,
                source=DOCUMENT_ID,
                target=target,
            )
        )
    return links
