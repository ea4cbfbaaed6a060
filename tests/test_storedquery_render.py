"""Rendering stored-query requests: valid against query.xsd, and read back unchanged."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

import ebrim.storedquery as storedquery
from ebrim.model import Code
from ebrim.storedquery import (
    FindDocumentsByReferenceIdQuery,
    FindDocumentsQuery,
    FindFoldersQuery,
    FindSubmissionSetsQuery,
    GetAllQuery,
    GetAssociationsQuery,
    GetDocumentsAndAssociationsQuery,
    GetDocumentsQuery,
    GetFolderAndContentsQuery,
    GetFoldersForDocumentQuery,
    GetFoldersQuery,
    GetRelatedDocumentsQuery,
    GetSubmissionSetAndContentsQuery,
    GetSubmissionSetsQuery,
    StoredQuery,
    StoredQueryId,
    StoredQueryRequest,
    TimeRange,
    parse_adhoc_query_request,
    render_adhoc_query_request,
)
from ebrim.vocabulary import AssociationType, AvailabilityStatus, ObjectType, ReturnType

PID = "1234567890^^^&1.2.250.1.213.1.4.8&ISO"
APPROVED = AvailabilityStatus.APPROVED.value
DEPRECATED = AvailabilityStatus.DEPRECATED.value
STABLE = ObjectType.STABLE_DOCUMENT.value
ON_DEMAND = ObjectType.ON_DEMAND_DOCUMENT.value
U1 = "urn:uuid:11111111-1111-1111-1111-111111111111"
U2 = "urn:uuid:22222222-2222-2222-2222-222222222222"
LOINC = "2.16.840.1.113883.6.1"
N = Code("N", "2.16.840.1.113883.5.25")
MASQUE = Code("MASQUE_PS", "1.2.250.1.213.1.1.4.13")
# Values that exercise the grammar: quotes, commas, parentheses, spaces.
AWKWARD = "O'Brien, (Jr) ''x''"

DOCUMENT_FILTERS = dict(
    patient_id=PID,
    statuses=(APPROVED, DEPRECATED),
    class_codes=(Code("11488-4", LOINC), Code("34133-9", LOINC)),
    type_codes=(Code("60593-1", LOINC),),
    practice_setting_codes=(Code("ETABLISSEMENT", "1.2.250.1.213.1.1.4.9"),),
    healthcare_facility_type_codes=(Code("SA33", "1.2.250.1.71.4.2.4"),),
    format_codes=(Code("urn:ihe:pcc:xphr:2007", "1.3.6.1.4.1.19376.1.2.3"),),
    event_codes=((Code("a", "s"), Code("b", "s")), (Code("c", "s"),)),
    confidentiality_codes=((N,), (MASQUE,)),
    author_persons=("%Dupont%", "Mar_in", AWKWARD),
    creation_time=TimeRange("2004", "20050101083000"),
    service_start_time=TimeRange(from_="200406"),
    service_stop_time=TimeRange(to="2005010108"),
    document_types=(STABLE, ON_DEMAND),
)

EVERY_QUERY: list[StoredQuery] = [
    FindDocumentsQuery(**DOCUMENT_FILTERS),  # type: ignore[arg-type]
    FindDocumentsByReferenceIdQuery(
        **DOCUMENT_FILTERS,  # type: ignore[arg-type]
        reference_ids=(("r1^^^&1.2&ISO^urn:ihe:iti:xds:2013:order", "r2"), ("r3",)),
    ),
    FindSubmissionSetsQuery(
        patient_id=PID,
        statuses=(APPROVED,),
        source_ids=("1.2.3", "1.2.4"),
        submission_time=TimeRange("20200101", "2021"),
        author_person=AWKWARD,
        content_type_codes=(Code("04", "1.2.250.1.213.1.1.4.12"),),
    ),
    FindFoldersQuery(
        patient_id=PID,
        statuses=(APPROVED,),
        last_update_time=TimeRange("2020", "2021"),
        codes=((Code("f1", "s"),), (Code("f2", "s"), Code("f3", "s"))),
    ),
    GetAllQuery(
        patient_id=PID,
        document_statuses=(APPROVED,),
        submission_set_statuses=(APPROVED, DEPRECATED),
        folder_statuses=(DEPRECATED,),
        format_codes=(Code("fmt", "s"),),
        confidentiality_codes=((N, MASQUE),),
        document_types=(STABLE,),
    ),
    GetDocumentsQuery(uuids=(U1, U2)),
    GetDocumentsQuery(unique_ids=("1.2.3",)),
    GetDocumentsQuery(logical_ids=(U1,)),
    GetFoldersQuery(uuids=(U1,)),
    GetFoldersQuery(unique_ids=("1.2", "1.3")),
    GetFoldersQuery(logical_ids=(U2,)),
    GetAssociationsQuery(uuids=(U1, U2)),
    GetDocumentsAndAssociationsQuery(uuids=(U1,)),
    GetDocumentsAndAssociationsQuery(unique_ids=("1.2.3",)),
    GetSubmissionSetsQuery(uuids=(U1, U2)),
    GetSubmissionSetAndContentsQuery(
        uuid=U1, format_codes=(Code("f", "s"),), confidentiality_codes=((N,),)
    ),
    GetSubmissionSetAndContentsQuery(unique_id="1.2.3", document_types=(ON_DEMAND,)),
    GetFolderAndContentsQuery(uuid=U1, document_types=(STABLE, ON_DEMAND)),
    GetFolderAndContentsQuery(unique_id="1.2.3", confidentiality_codes=((N,), (MASQUE,))),
    GetFoldersForDocumentQuery(uuid=U1),
    GetFoldersForDocumentQuery(unique_id="1.2.3"),
    GetRelatedDocumentsQuery(
        uuid=U1,
        association_types=(AssociationType.REPLACE.value, AssociationType.APPEND.value),
        document_types=(STABLE,),
    ),
    GetRelatedDocumentsQuery(unique_id="1.2.3", association_types=(AssociationType.SIGNS.value,)),
]


def _id(query: StoredQuery) -> str:
    return type(query).__name__


@pytest.mark.parametrize("query", EVERY_QUERY, ids=_id)
def test_render_then_parse_gives_the_request_back(query: StoredQuery) -> None:
    request = StoredQueryRequest(query=query, return_type=ReturnType.OBJECT_REF)
    assert parse_adhoc_query_request(render_adhoc_query_request(request)) == request


@pytest.mark.parametrize("query", EVERY_QUERY, ids=_id)
def test_rendered_request_is_valid_against_query_xsd(
    query: StoredQuery, xsd_valid: Callable[[etree._Element, str], None]
) -> None:
    xsd_valid(render_adhoc_query_request(StoredQueryRequest(query=query)), "query")


@pytest.mark.parametrize("query", EVERY_QUERY, ids=_id)
def test_rendered_bytes_parse_too(query: StoredQuery) -> None:
    request = StoredQueryRequest(query=query)
    data = etree.tostring(
        render_adhoc_query_request(request), xml_declaration=True, encoding="UTF-8"
    )
    assert parse_adhoc_query_request(data) == request


def test_every_supported_query_is_rendered_in_the_round_trip() -> None:
    supported = {q for q in StoredQueryId if q.is_supported}
    assert {query.query_id for query in EVERY_QUERY} == supported


def test_request_attributes_survive_the_round_trip(
    xsd_valid: Callable[[etree._Element, str], None],
) -> None:
    request = StoredQueryRequest(
        query=GetAssociationsQuery(uuids=(U1,)),
        return_type=ReturnType.LEAF_CLASS,
        home_community_id="urn:oid:1.2.250.1.213.1",
        metadata_level=2,
        request_id="urn:uuid:33333333-3333-3333-3333-333333333333",
    )
    element = render_adhoc_query_request(request)
    xsd_valid(element, "query")
    assert parse_adhoc_query_request(element) == request


def test_and_parameters_render_one_slot_per_group() -> None:
    query = FindFoldersQuery(
        patient_id=PID, statuses=(APPROVED,), codes=((Code("a", "s"),), (Code("b", "s"),))
    )
    element = render_adhoc_query_request(StoredQueryRequest(query=query))
    names = [slot.get("name") for slot in element.iter("{*}Slot")]
    assert names.count("$XDSFolderCodeList") == 2


def test_times_render_unquoted() -> None:
    query = FindFoldersQuery(
        patient_id=PID, statuses=(APPROVED,), last_update_time=TimeRange("2020")
    )
    element = render_adhoc_query_request(StoredQueryRequest(query=query))
    values = [value.text for value in element.iter("{*}Value")]
    assert "2020" in values


def test_public_api_is_pinned() -> None:
    assert sorted(storedquery.__all__) == [
        "CodeQuery",
        "FindDocumentsByReferenceIdQuery",
        "FindDocumentsQuery",
        "FindFoldersQuery",
        "FindSubmissionSetsQuery",
        "GetAllQuery",
        "GetAssociationsQuery",
        "GetDocumentsAndAssociationsQuery",
        "GetDocumentsQuery",
        "GetFolderAndContentsQuery",
        "GetFoldersForDocumentQuery",
        "GetFoldersQuery",
        "GetRelatedDocumentsQuery",
        "GetSubmissionSetAndContentsQuery",
        "GetSubmissionSetsQuery",
        "StoredQuery",
        "StoredQueryId",
        "StoredQueryRequest",
        "StringQuery",
        "TimeRange",
        "parse_adhoc_query_request",
        "render_adhoc_query_request",
    ]
    for name in storedquery.__all__:
        assert hasattr(storedquery, name)
