"""Which slots each stored query takes, as one table that both parsing and rendering read.

From ITI TF-2 3.18.4.1.2.3.7 (parameter tables of each query). `required` is the TF's R;
an `AND` kind is a parameter whose slot may repeat (each repetition ANDed); `choices`
lists the groups of which exactly one parameter must be given.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ebrim.storedquery import params as p
from ebrim.storedquery.ids import StoredQueryId


class Kind(Enum):
    STRING = "a single quoted string"
    STRINGS = "a list of strings (OR)"
    STRING_AND = "lists of strings, one per slot (AND of ORs)"
    CODES = "a list of code^^scheme (OR)"
    CODE_AND = "lists of code^^scheme, one per slot (AND of ORs)"
    TIME_FROM = "a time, inclusive lower bound"
    TIME_TO = "a time, exclusive upper bound"
    STATUSES = "a list of availability statuses"
    DOCUMENT_TYPES = "a list of DocumentEntry objectTypes"
    ASSOCIATION_TYPES = "a list of association types"

    @property
    def repeatable(self) -> bool:
        return self in (Kind.STRING_AND, Kind.CODE_AND)


@dataclass(frozen=True)
class Param:
    slot: str
    field: str
    kind: Kind
    required: bool = False


@dataclass(frozen=True)
class QuerySpec:
    query_class: type[p.StoredQuery]
    params: tuple[Param, ...]
    choices: tuple[tuple[str, ...], ...] = ()

    def param(self, slot: str) -> Param | None:
        return next((x for x in self.params if x.slot == slot), None)


METADATA_LEVEL = "$MetadataLevel"  # Metadata Update option, valid for every query


def _times(prefix: str, field: str) -> tuple[Param, Param]:
    return Param(prefix + "From", field, Kind.TIME_FROM), Param(prefix + "To", field, Kind.TIME_TO)


_DOC = "$XDSDocumentEntry"
_DOCUMENT_ENTRY_FILTERS = (
    Param(_DOC + "PatientId", "patient_id", Kind.STRING, required=True),
    Param(_DOC + "Status", "statuses", Kind.STATUSES, required=True),
    Param(_DOC + "ClassCode", "class_codes", Kind.CODES),
    Param(_DOC + "TypeCode", "type_codes", Kind.CODES),
    Param(_DOC + "PracticeSettingCode", "practice_setting_codes", Kind.CODES),
    Param(_DOC + "HealthcareFacilityTypeCode", "healthcare_facility_type_codes", Kind.CODES),
    Param(_DOC + "FormatCode", "format_codes", Kind.CODES),
    Param(_DOC + "EventCodeList", "event_codes", Kind.CODE_AND),
    Param(_DOC + "ConfidentialityCode", "confidentiality_codes", Kind.CODE_AND),
    Param(_DOC + "AuthorPerson", "author_persons", Kind.STRINGS),
    *_times(_DOC + "CreationTime", "creation_time"),
    *_times(_DOC + "ServiceStartTime", "service_start_time"),
    *_times(_DOC + "ServiceStopTime", "service_stop_time"),
    Param(_DOC + "Type", "document_types", Kind.DOCUMENT_TYPES),
)
_CONTENT_FILTERS = (
    Param(_DOC + "FormatCode", "format_codes", Kind.CODES),
    Param(_DOC + "ConfidentialityCode", "confidentiality_codes", Kind.CODE_AND),
    Param(_DOC + "Type", "document_types", Kind.DOCUMENT_TYPES),
)
_DOC_UUIDS = Param(_DOC + "EntryUUID", "uuids", Kind.STRINGS)
_DOC_UNIQUE_IDS = Param(_DOC + "UniqueId", "unique_ids", Kind.STRINGS)
_DOC_UUID = Param(_DOC + "EntryUUID", "uuid", Kind.STRING)
_DOC_UNIQUE_ID = Param(_DOC + "UniqueId", "unique_id", Kind.STRING)
_DOC_CHOICE = (_DOC + "EntryUUID", _DOC + "UniqueId")


def _spec(
    query_class: type[p.StoredQuery], *params: Param, choice: tuple[str, ...] = ()
) -> tuple[StoredQueryId, QuerySpec]:
    return query_class.query_id, QuerySpec(query_class, params, (choice,) if choice else ())


SPECS: dict[StoredQueryId, QuerySpec] = dict(
    [
        _spec(p.FindDocumentsQuery, *_DOCUMENT_ENTRY_FILTERS),
        _spec(
            p.FindDocumentsByReferenceIdQuery,
            *_DOCUMENT_ENTRY_FILTERS,
            Param(_DOC + "ReferenceIdList", "reference_ids", Kind.STRING_AND, required=True),
        ),
        _spec(
            p.FindSubmissionSetsQuery,
            Param("$XDSSubmissionSetPatientId", "patient_id", Kind.STRING, required=True),
            Param("$XDSSubmissionSetStatus", "statuses", Kind.STATUSES, required=True),
            Param("$XDSSubmissionSetSourceId", "source_ids", Kind.STRINGS),
            *_times("$XDSSubmissionSetSubmissionTime", "submission_time"),
            Param("$XDSSubmissionSetAuthorPerson", "author_person", Kind.STRING),
            Param("$XDSSubmissionSetContentType", "content_type_codes", Kind.CODES),
        ),
        _spec(
            p.FindFoldersQuery,
            Param("$XDSFolderPatientId", "patient_id", Kind.STRING, required=True),
            Param("$XDSFolderStatus", "statuses", Kind.STATUSES, required=True),
            *_times("$XDSFolderLastUpdateTime", "last_update_time"),
            Param("$XDSFolderCodeList", "codes", Kind.CODE_AND),
        ),
        _spec(
            p.GetAllQuery,
            Param("$patientId", "patient_id", Kind.STRING, required=True),
            Param(_DOC + "Status", "document_statuses", Kind.STATUSES, required=True),
            Param("$XDSSubmissionSetStatus", "submission_set_statuses", Kind.STATUSES, True),
            Param("$XDSFolderStatus", "folder_statuses", Kind.STATUSES, required=True),
            *_CONTENT_FILTERS,
        ),
        _spec(
            p.GetDocumentsQuery,
            _DOC_UUIDS,
            _DOC_UNIQUE_IDS,
            Param(_DOC + "LogicalID", "logical_ids", Kind.STRINGS),
            choice=(_DOC + "EntryUUID", _DOC + "UniqueId", _DOC + "LogicalID"),
        ),
        _spec(
            p.GetFoldersQuery,
            Param("$XDSFolderEntryUUID", "uuids", Kind.STRINGS),
            Param("$XDSFolderUniqueId", "unique_ids", Kind.STRINGS),
            Param("$XDSFolderLogicalID", "logical_ids", Kind.STRINGS),
            choice=("$XDSFolderEntryUUID", "$XDSFolderUniqueId", "$XDSFolderLogicalID"),
        ),
        _spec(p.GetAssociationsQuery, Param("$uuid", "uuids", Kind.STRINGS, required=True)),
        _spec(
            p.GetDocumentsAndAssociationsQuery,
            _DOC_UUIDS,
            _DOC_UNIQUE_IDS,
            choice=_DOC_CHOICE,
        ),
        _spec(p.GetSubmissionSetsQuery, Param("$uuid", "uuids", Kind.STRINGS, required=True)),
        _spec(
            p.GetSubmissionSetAndContentsQuery,
            Param("$XDSSubmissionSetEntryUUID", "uuid", Kind.STRING),
            Param("$XDSSubmissionSetUniqueId", "unique_id", Kind.STRING),
            *_CONTENT_FILTERS,
            choice=("$XDSSubmissionSetEntryUUID", "$XDSSubmissionSetUniqueId"),
        ),
        _spec(
            p.GetFolderAndContentsQuery,
            Param("$XDSFolderEntryUUID", "uuid", Kind.STRING),
            Param("$XDSFolderUniqueId", "unique_id", Kind.STRING),
            *_CONTENT_FILTERS,
            choice=("$XDSFolderEntryUUID", "$XDSFolderUniqueId"),
        ),
        _spec(p.GetFoldersForDocumentQuery, _DOC_UUID, _DOC_UNIQUE_ID, choice=_DOC_CHOICE),
        _spec(
            p.GetRelatedDocumentsQuery,
            _DOC_UUID,
            _DOC_UNIQUE_ID,
            Param("$AssociationTypes", "association_types", Kind.ASSOCIATION_TYPES, True),
            Param(_DOC + "Type", "document_types", Kind.DOCUMENT_TYPES),
            choice=_DOC_CHOICE,
        ),
    ]
)

SPEC_BY_CLASS: dict[type, QuerySpec] = {spec.query_class: spec for spec in SPECS.values()}
