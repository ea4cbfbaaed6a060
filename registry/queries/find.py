"""The patient-wide queries: FindDocuments (and ByReferenceId), FindSubmissionSets,
FindFolders, GetAll (ITI TF-2 3.18.4.1.2.3.7.1-4, .14).

The patient id parameter is answered under the id the patient now has: a merged id
reads the surviving id's objects (`registry.patients`), whose rows carry that id.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Connection, Select, or_, select

from ebrim.hl7 import patient_key
from ebrim.model import Code
from ebrim.storedquery import (
    CodeQuery,
    FindDocumentsByReferenceIdQuery,
    FindDocumentsQuery,
    FindFoldersQuery,
    FindSubmissionSetsQuery,
    GetAllQuery,
)
from ebrim.vocabulary import ClassificationScheme as Scheme
from registry.patients import merged_into
from registry.queries import filters as f
from registry.queries.answer import Selection
from registry.schema import associations, documents, folders, submission_sets

DocumentQuery = FindDocumentsQuery | FindDocumentsByReferenceIdQuery


class ContentFilters(Protocol):
    """The DocumentEntry filters of GetAll, GetSubmissionSetAndContents, GetFolderAndContents."""

    @property
    def format_codes(self) -> tuple[Code, ...]: ...
    @property
    def confidentiality_codes(self) -> CodeQuery: ...
    @property
    def document_types(self) -> tuple[str, ...]: ...


def answering_id(conn: Connection, patient_id: str) -> str:
    """The id a patient's objects are stored under: the survivor of a merge, else itself."""
    patient_id = patient_key(patient_id)
    return merged_into(conn, patient_id) or patient_id


def find_documents(conn: Connection, query: DocumentQuery) -> Selection:
    doc = documents.c
    owner = doc.entry_uuid
    conditions = [
        doc.patient_id == answering_id(conn, query.patient_id),
        *f.one_of(doc.status, query.statuses),
        *f.document_types(doc.object_type, query.document_types),
        *f.any_code(owner, Scheme.DOC_CLASS_CODE.value, query.class_codes),
        *f.any_code(owner, Scheme.DOC_TYPE_CODE.value, query.type_codes),
        *f.any_code(owner, Scheme.DOC_PRACTICE_SETTING_CODE.value, query.practice_setting_codes),
        *f.any_code(
            owner,
            Scheme.DOC_HEALTHCARE_FACILITY_TYPE_CODE.value,
            query.healthcare_facility_type_codes,
        ),
        *f.any_code(owner, Scheme.DOC_FORMAT_CODE.value, query.format_codes),
        *f.all_code_groups(owner, Scheme.DOC_EVENT_CODE.value, query.event_codes),
        *f.all_code_groups(
            owner, Scheme.DOC_CONFIDENTIALITY_CODE.value, query.confidentiality_codes
        ),
        *f.authored_by(owner, query.author_persons),
        *f.within(doc.creation_time, query.creation_time),
        *f.within(doc.service_start_time, query.service_start_time),
        *f.within(doc.service_stop_time, query.service_stop_time),
    ]
    if isinstance(query, FindDocumentsByReferenceIdQuery):
        conditions += f.all_reference_groups(owner, query.reference_ids, any_type=query.any_type)
    return Selection(documents=select(doc.entry_uuid).where(*conditions))


def find_submission_sets(conn: Connection, query: FindSubmissionSetsQuery) -> Selection:
    ss = submission_sets.c
    owner = ss.entry_uuid
    conditions = [
        ss.patient_id == answering_id(conn, query.patient_id),
        *f.one_of(ss.status, query.statuses),
        *f.one_of(ss.source_id, query.source_ids),
        *f.within(ss.submission_time, query.submission_time),
        *f.authored_by(owner, (query.author_person,) if query.author_person else ()),
        *f.any_code(owner, Scheme.SS_CONTENT_TYPE_CODE.value, query.content_type_codes),
    ]
    return Selection(submission_sets=select(ss.entry_uuid).where(*conditions))


def find_folders(conn: Connection, query: FindFoldersQuery) -> Selection:
    fo = folders.c
    conditions = [
        fo.patient_id == answering_id(conn, query.patient_id),
        *f.one_of(fo.status, query.statuses),
        *f.within(fo.last_update_time, query.last_update_time),
        *f.all_code_groups(fo.entry_uuid, Scheme.FOLDER_CODE_LIST.value, query.codes),
    ]
    return Selection(folders=select(fo.entry_uuid).where(*conditions))


def content_filters(query: ContentFilters) -> list[f.Condition]:
    """$XDSDocumentEntryFormatCode / ConfidentialityCode / Type, on `documents` rows."""
    doc = documents.c
    return [
        *f.any_code(doc.entry_uuid, Scheme.DOC_FORMAT_CODE.value, query.format_codes),
        *f.all_code_groups(
            doc.entry_uuid, Scheme.DOC_CONFIDENTIALITY_CODE.value, query.confidentiality_codes
        ),
        *f.document_types(doc.object_type, query.document_types),
    ]


def get_all(conn: Connection, query: GetAllQuery) -> Selection:
    """Every object of the patient in the given statuses, and the associations among them."""
    patient = answering_id(conn, query.patient_id)
    docs = select(documents.c.entry_uuid).where(
        documents.c.patient_id == patient,
        *f.one_of(documents.c.status, query.document_statuses),
        *content_filters(query),
    )
    sets = select(submission_sets.c.entry_uuid).where(
        submission_sets.c.patient_id == patient,
        *f.one_of(submission_sets.c.status, query.submission_set_statuses),
    )
    folder_ids = select(folders.c.entry_uuid).where(
        folders.c.patient_id == patient,
        *f.one_of(folders.c.status, query.folder_statuses),
    )
    return Selection(
        submission_sets=sets,
        documents=docs,
        folders=folder_ids,
        associations=linking(docs, sets, folder_ids),
    )


def linking(*ends: Select[Any]) -> Select[Any]:
    """Associations whose source and target are both among `ends` (or a linked association).

    The second level is a submission set's HasMember of an association (a document filed in
    a folder by that submission): it is returned when the association it holds is.
    """
    a = associations.c
    inner = associations.alias("inner_link")

    def among(column: Any) -> Any:
        return or_(*(column.in_(end) for end in ends))

    first = select(inner.c.entry_uuid).where(among(inner.c.source_uuid), among(inner.c.target_uuid))
    return select(a.entry_uuid).where(
        among(a.source_uuid), or_(among(a.target_uuid), a.target_uuid.in_(first))
    )


__all__ = [
    "answering_id",
    "content_filters",
    "find_documents",
    "find_folders",
    "find_submission_sets",
    "get_all",
    "linking",
]
