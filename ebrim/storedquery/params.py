"""Typed parameters of each stored query (ITI TF-2 3.18.4.1.2.3.7), and the request around them.

Conventions, the same for every query:

- an empty tuple, an empty `TimeRange` or None means the parameter was not given;
- a tuple of values means OR (any of them matches);
- a `CodeQuery` / `StringQuery` is a tuple of OR-lists that are ANDed: each inner tuple
  comes from one repetition of the slot (only for the parameters the TF marks AND/OR);
- codes are `Code(code, scheme)`; statuses, document entry types and association types are
  the full URNs/UUIDs; author persons are kept as LIKE patterns (``%`` any run, ``_`` any
  one character), not unescaped or matched here;
- times are HL7 DTM digit strings of the precision the consumer sent.

Which parameters are required, and which may not be combined, is enforced by
`parse_adhoc_query_request`; constructing these objects by hand checks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from ebrim.model import Code
from ebrim.storedquery.ids import StoredQueryId
from ebrim.vocabulary import ReturnType

CodeQuery = tuple[tuple[Code, ...], ...]
StringQuery = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class TimeRange:
    """Bounds on a time attribute: ``from_ <= value < to``.

    `from_` is inclusive (the value is greater than or equal), `to` exclusive (strictly less),
    as ITI TF-2 3.18.4.1.2.3.6 states; either may be None (unbounded). Bounds are HL7 DTM
    strings of any precision (YYYY to YYYYMMDDhhmmss); comparing values of different
    precision is the query engine's business.
    """

    from_: str | None = None
    to: str | None = None

    def __bool__(self) -> bool:
        return self.from_ is not None or self.to is not None


@dataclass(frozen=True, kw_only=True)
class _DocumentEntryFilters:
    """The DocumentEntry parameters FindDocuments and FindDocumentsByReferenceId share."""

    patient_id: str
    statuses: tuple[str, ...]
    class_codes: tuple[Code, ...] = ()
    type_codes: tuple[Code, ...] = ()
    practice_setting_codes: tuple[Code, ...] = ()
    healthcare_facility_type_codes: tuple[Code, ...] = ()
    format_codes: tuple[Code, ...] = ()
    event_codes: CodeQuery = ()
    confidentiality_codes: CodeQuery = ()
    author_persons: tuple[str, ...] = ()
    creation_time: TimeRange = TimeRange()
    service_start_time: TimeRange = TimeRange()
    service_stop_time: TimeRange = TimeRange()
    document_types: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FindDocumentsQuery(_DocumentEntryFilters):
    query_id: ClassVar[StoredQueryId] = StoredQueryId.FIND_DOCUMENTS


@dataclass(frozen=True, kw_only=True)
class FindDocumentsByReferenceIdQuery(_DocumentEntryFilters):
    """FindDocuments restricted to entries whose referenceIdList matches (values are CXi).

    With `any_type`, each value is an identifier alone (CX.1 and CX.4, MHD's
    ``related:identifier``, which carries no CXi type) and matches that identifier whatever
    its CX.5 and CX.6; otherwise values are matched exactly, as ITI-18 asks.
    """

    query_id: ClassVar[StoredQueryId] = StoredQueryId.FIND_DOCUMENTS_BY_REFERENCE_ID
    reference_ids: StringQuery
    any_type: bool = False


@dataclass(frozen=True, kw_only=True)
class FindSubmissionSetsQuery:
    query_id: ClassVar[StoredQueryId] = StoredQueryId.FIND_SUBMISSION_SETS
    patient_id: str
    statuses: tuple[str, ...]
    source_ids: tuple[str, ...] = ()
    submission_time: TimeRange = TimeRange()
    author_person: str | None = None
    content_type_codes: tuple[Code, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FindFoldersQuery:
    query_id: ClassVar[StoredQueryId] = StoredQueryId.FIND_FOLDERS
    patient_id: str
    statuses: tuple[str, ...]
    last_update_time: TimeRange = TimeRange()
    codes: CodeQuery = ()


@dataclass(frozen=True, kw_only=True)
class GetAllQuery:
    query_id: ClassVar[StoredQueryId] = StoredQueryId.GET_ALL
    patient_id: str
    document_statuses: tuple[str, ...]
    submission_set_statuses: tuple[str, ...]
    folder_statuses: tuple[str, ...]
    format_codes: tuple[Code, ...] = ()
    confidentiality_codes: CodeQuery = ()
    document_types: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GetDocumentsQuery:
    """Exactly one of `uuids`, `unique_ids`, `logical_ids` (Metadata Update option) is set."""

    query_id: ClassVar[StoredQueryId] = StoredQueryId.GET_DOCUMENTS
    uuids: tuple[str, ...] = ()
    unique_ids: tuple[str, ...] = ()
    logical_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GetFoldersQuery:
    """Exactly one of `uuids`, `unique_ids`, `logical_ids` (Metadata Update option) is set."""

    query_id: ClassVar[StoredQueryId] = StoredQueryId.GET_FOLDERS
    uuids: tuple[str, ...] = ()
    unique_ids: tuple[str, ...] = ()
    logical_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GetAssociationsQuery:
    """Associations whose source or target is one of `uuids`."""

    query_id: ClassVar[StoredQueryId] = StoredQueryId.GET_ASSOCIATIONS
    uuids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class GetDocumentsAndAssociationsQuery:
    """Exactly one of `uuids`, `unique_ids` is set."""

    query_id: ClassVar[StoredQueryId] = StoredQueryId.GET_DOCUMENTS_AND_ASSOCIATIONS
    uuids: tuple[str, ...] = ()
    unique_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GetSubmissionSetsQuery:
    """Submission sets holding any of `uuids` (DocumentEntries or Folders)."""

    query_id: ClassVar[StoredQueryId] = StoredQueryId.GET_SUBMISSION_SETS
    uuids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class GetSubmissionSetAndContentsQuery:
    """Exactly one of `uuid`, `unique_id` is set; the filters apply to the DocumentEntries."""

    query_id: ClassVar[StoredQueryId] = StoredQueryId.GET_SUBMISSION_SET_AND_CONTENTS
    uuid: str | None = None
    unique_id: str | None = None
    format_codes: tuple[Code, ...] = ()
    confidentiality_codes: CodeQuery = ()
    document_types: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GetFolderAndContentsQuery:
    """Exactly one of `uuid`, `unique_id` is set; the filters apply to the DocumentEntries."""

    query_id: ClassVar[StoredQueryId] = StoredQueryId.GET_FOLDER_AND_CONTENTS
    uuid: str | None = None
    unique_id: str | None = None
    format_codes: tuple[Code, ...] = ()
    confidentiality_codes: CodeQuery = ()
    document_types: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GetFoldersForDocumentQuery:
    """Exactly one of `uuid`, `unique_id` (of the DocumentEntry) is set."""

    query_id: ClassVar[StoredQueryId] = StoredQueryId.GET_FOLDERS_FOR_DOCUMENT
    uuid: str | None = None
    unique_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class GetRelatedDocumentsQuery:
    """Exactly one of `uuid`, `unique_id` is set; `association_types` are full URNs."""

    query_id: ClassVar[StoredQueryId] = StoredQueryId.GET_RELATED_DOCUMENTS
    association_types: tuple[str, ...]
    uuid: str | None = None
    unique_id: str | None = None
    document_types: tuple[str, ...] = ()


StoredQuery: TypeAlias = (
    FindDocumentsQuery
    | FindDocumentsByReferenceIdQuery
    | FindSubmissionSetsQuery
    | FindFoldersQuery
    | GetAllQuery
    | GetDocumentsQuery
    | GetFoldersQuery
    | GetAssociationsQuery
    | GetDocumentsAndAssociationsQuery
    | GetSubmissionSetsQuery
    | GetSubmissionSetAndContentsQuery
    | GetFolderAndContentsQuery
    | GetFoldersForDocumentQuery
    | GetRelatedDocumentsQuery
)


@dataclass(frozen=True)
class StoredQueryRequest:
    """One ITI-18 AdhocQueryRequest: the typed query and how to answer it.

    `home_community_id` is AdhocQuery/@home; `request_id` the optional
    AdhocQueryRequest/@id; `metadata_level` the $MetadataLevel parameter of the Metadata
    Update option (1 or 2; None when absent, which means 1). `ignored_parameters` names the
    slots this query does not define: ebRS 3.0 section 6.3.2.1 requires a registry to ignore
    them, and they are kept so that the registry can say so in a warning.
    """

    query: StoredQuery
    return_type: ReturnType = ReturnType.LEAF_CLASS
    home_community_id: str | None = None
    metadata_level: int | None = None
    request_id: str | None = None
    ignored_parameters: tuple[str, ...] = ()

    @property
    def query_id(self) -> StoredQueryId:
        return self.query.query_id
