"""Parsing ITI-18 AdhocQueryRequests into typed stored queries, and every way of refusing one."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from lxml import etree

from ebrim.errors import ErrorCode, QueryRejected
from ebrim.model import Code
from ebrim.safexml import XMLLimits
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
)
from ebrim.vocabulary import AssociationType, AvailabilityStatus, ObjectType, ReturnType

Q = StoredQueryId
PID = "'1234567890^^^&1.2.250.1.213.1.4.8&ISO'"
PID_VALUE = PID.strip("'")
APPROVED = AvailabilityStatus.APPROVED.value
DEPRECATED = AvailabilityStatus.DEPRECATED.value
APPROVED_LIST = f"('{APPROVED}')"
UUID1 = "urn:uuid:11111111-1111-1111-1111-111111111111"
UUID2 = "urn:uuid:22222222-2222-2222-2222-222222222222"
Slots = Sequence[tuple[str, Sequence[str]]]


def request_xml(
    query_id: str,
    slots: Slots = (),
    return_type: str | None = "LeafClass",
    home: str | None = None,
) -> bytes:
    """An AdhocQueryRequest with the given slots, each a name and its rim:Value texts."""
    option = "" if return_type is None else f'returnType="{return_type}"'
    home_attr = "" if home is None else f' home="{home}"'
    body = "".join(
        f'<rim:Slot name="{name}"><rim:ValueList>'
        + "".join(f"<rim:Value>{_escape(text)}</rim:Value>" for text in texts)
        + "</rim:ValueList></rim:Slot>"
        for name, texts in slots
    )
    return (
        '<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"'
        ' xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">'
        f'<query:ResponseOption returnComposedObjects="true" {option}/>'
        f'<rim:AdhocQuery id="{query_id}"{home_attr}>{body}</rim:AdhocQuery>'
        "</query:AdhocQueryRequest>"
    ).encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def parse_query(query_id: str, slots: Slots) -> StoredQuery:
    return parse_adhoc_query_request(request_xml(query_id, slots)).query


def rejected(data: bytes) -> list[tuple[ErrorCode, str]]:
    with pytest.raises(QueryRejected) as info:
        parse_adhoc_query_request(data)
    return [(e.code, e.location) for e in info.value.errors]


FIND_DOCS_BASE: Slots = [
    ("$XDSDocumentEntryPatientId", [PID]),
    ("$XDSDocumentEntryStatus", [APPROVED_LIST]),
]


def find_documents(*extra: tuple[str, Sequence[str]]) -> FindDocumentsQuery:
    query = parse_query(Q.FIND_DOCUMENTS, [*FIND_DOCS_BASE, *extra])
    assert isinstance(query, FindDocumentsQuery)
    return query


# ---- the official example --------------------------------------------------------------


def test_official_example_is_rejected_for_its_three_defects(
    ihe_example: Callable[[str], bytes],
) -> None:
    # The IHE example leaves the patient id unquoted, writes ResponseStatusType instead of
    # StatusType and uses typographic quotes around an uncoded facility type.
    errors = rejected(ihe_example("XDS.b_RegistryStoredQueryRequest.xml"))
    assert errors == [
        (ErrorCode.XDSRegistryError, "$XDSDocumentEntryPatientId"),
        (ErrorCode.XDSRegistryError, "$XDSDocumentEntryStatus"),
        (ErrorCode.XDSRegistryError, "$XDSDocumentEntryHealthcareFacilityTypeCode"),
    ]


def test_official_example_with_its_defects_fixed_parses(
    ihe_example: Callable[[str], bytes],
) -> None:
    data = ihe_example("XDS.b_RegistryStoredQueryRequest.xml")
    data = data.replace(b"<rim:Value>st3498702", b"<rim:Value>'st3498702")
    data = data.replace(b"ISO</rim:Value>", b"ISO'</rim:Value>")
    data = data.replace(b"ResponseStatusType", b"StatusType")
    data = data.replace("(\u2018Emergency Department\u2019)".encode(), b"('Emergency^^1.2.3')")
    request = parse_adhoc_query_request(data)
    assert request.return_type is ReturnType.LEAF_CLASS
    assert request.query_id is Q.FIND_DOCUMENTS  # the id attribute is padded with spaces
    assert request.query == FindDocumentsQuery(
        patient_id="st3498702^^^&1.3.6.1.4.1.21367.2005.3.7&ISO",
        statuses=(APPROVED,),
        creation_time=TimeRange("200412252300", "200501010800"),
        healthcare_facility_type_codes=(Code("Emergency", "1.2.3"),),
    )


# ---- each of the 14 queries ------------------------------------------------------------

DOC = ObjectType.STABLE_DOCUMENT.value
CODE = "('c1^^s1')"
VALID_QUERIES: list[tuple[StoredQueryId, Slots, StoredQuery]] = [
    (
        Q.FIND_DOCUMENTS,
        [*FIND_DOCS_BASE, ("$XDSDocumentEntryClassCode", ["('c1^^s1','c2^^s2')"])],
        FindDocumentsQuery(
            patient_id=PID_VALUE,
            statuses=(APPROVED,),
            class_codes=(Code("c1", "s1"), Code("c2", "s2")),
        ),
    ),
    (
        Q.FIND_DOCUMENTS_BY_REFERENCE_ID,
        [*FIND_DOCS_BASE, ("$XDSDocumentEntryReferenceIdList", ["('ref1^^^&1.2&ISO')"])],
        FindDocumentsByReferenceIdQuery(
            patient_id=PID_VALUE, statuses=(APPROVED,), reference_ids=(("ref1^^^&1.2&ISO",),)
        ),
    ),
    (
        Q.FIND_SUBMISSION_SETS,
        [
            ("$XDSSubmissionSetPatientId", [PID]),
            ("$XDSSubmissionSetStatus", [APPROVED_LIST]),
            ("$XDSSubmissionSetSourceId", ["('1.2.3','1.2.4')"]),
            ("$XDSSubmissionSetSubmissionTimeFrom", ["2020"]),
            ("$XDSSubmissionSetAuthorPerson", ["'%Dupont%'"]),
            ("$XDSSubmissionSetContentType", [CODE]),
        ],
        FindSubmissionSetsQuery(
            patient_id=PID_VALUE,
            statuses=(APPROVED,),
            source_ids=("1.2.3", "1.2.4"),
            submission_time=TimeRange(from_="2020"),
            author_person="%Dupont%",
            content_type_codes=(Code("c1", "s1"),),
        ),
    ),
    (
        Q.FIND_FOLDERS,
        [
            ("$XDSFolderPatientId", [PID]),
            ("$XDSFolderStatus", [APPROVED_LIST]),
            ("$XDSFolderLastUpdateTimeTo", ["20210101"]),
            ("$XDSFolderCodeList", [CODE]),
        ],
        FindFoldersQuery(
            patient_id=PID_VALUE,
            statuses=(APPROVED,),
            last_update_time=TimeRange(to="20210101"),
            codes=((Code("c1", "s1"),),),
        ),
    ),
    (
        Q.GET_ALL,
        [
            ("$patientId", [PID]),
            ("$XDSDocumentEntryStatus", [APPROVED_LIST]),
            ("$XDSSubmissionSetStatus", [APPROVED_LIST]),
            ("$XDSFolderStatus", [f"('{APPROVED}','{DEPRECATED}')"]),
            ("$XDSDocumentEntryFormatCode", [CODE]),
            ("$XDSDocumentEntryType", [f"('{DOC}')"]),
        ],
        GetAllQuery(
            patient_id=PID_VALUE,
            document_statuses=(APPROVED,),
            submission_set_statuses=(APPROVED,),
            folder_statuses=(APPROVED, DEPRECATED),
            format_codes=(Code("c1", "s1"),),
            document_types=(DOC,),
        ),
    ),
    (
        Q.GET_DOCUMENTS,
        [("$XDSDocumentEntryEntryUUID", [f"('{UUID1}','{UUID2}')"])],
        GetDocumentsQuery(uuids=(UUID1, UUID2)),
    ),
    (
        Q.GET_FOLDERS,
        [("$XDSFolderUniqueId", ["('1.2.3.4')"])],
        GetFoldersQuery(unique_ids=("1.2.3.4",)),
    ),
    (
        Q.GET_ASSOCIATIONS,
        [("$uuid", [f"('{UUID1}')"])],
        GetAssociationsQuery(uuids=(UUID1,)),
    ),
    (
        Q.GET_DOCUMENTS_AND_ASSOCIATIONS,
        [("$XDSDocumentEntryUniqueId", ["('1.2.3')"])],
        GetDocumentsAndAssociationsQuery(unique_ids=("1.2.3",)),
    ),
    (
        Q.GET_SUBMISSION_SETS,
        [("$uuid", [f"('{UUID1}','{UUID2}')"])],
        GetSubmissionSetsQuery(uuids=(UUID1, UUID2)),
    ),
    (
        Q.GET_SUBMISSION_SET_AND_CONTENTS,
        [
            ("$XDSSubmissionSetEntryUUID", [f"'{UUID1}'"]),
            ("$XDSDocumentEntryConfidentialityCode", ["('N^^2.16.840.1.113883.5.25')"]),
        ],
        GetSubmissionSetAndContentsQuery(
            uuid=UUID1, confidentiality_codes=((Code("N", "2.16.840.1.113883.5.25"),),)
        ),
    ),
    (
        Q.GET_FOLDER_AND_CONTENTS,
        [("$XDSFolderUniqueId", ["'1.2.3'"]), ("$XDSDocumentEntryType", [f"('{DOC}')"])],
        GetFolderAndContentsQuery(unique_id="1.2.3", document_types=(DOC,)),
    ),
    (
        Q.GET_FOLDERS_FOR_DOCUMENT,
        [("$XDSDocumentEntryEntryUUID", [f"'{UUID1}'"])],
        GetFoldersForDocumentQuery(uuid=UUID1),
    ),
    (
        Q.GET_RELATED_DOCUMENTS,
        [
            ("$XDSDocumentEntryUniqueId", ["'1.2.3'"]),
            ("$AssociationTypes", [f"('{AssociationType.REPLACE.value}')"]),
        ],
        GetRelatedDocumentsQuery(
            unique_id="1.2.3", association_types=(AssociationType.REPLACE.value,)
        ),
    ),
]


@pytest.mark.parametrize(
    ("query_id", "slots", "expected"), VALID_QUERIES, ids=[q.name for q, _, _ in VALID_QUERIES]
)
def test_valid_request_parses_into_typed_query(
    query_id: StoredQueryId, slots: Slots, expected: StoredQuery
) -> None:
    assert parse_query(query_id, slots) == expected
    assert expected.query_id is query_id


def test_the_fourteen_stored_queries_are_covered() -> None:
    assert len({q for q, _, _ in VALID_QUERIES}) == 14
    assert len([q for q in StoredQueryId if q.is_supported]) == 14


# ---- per parameter ---------------------------------------------------------------------


def test_code_list_in_one_slot_is_an_or() -> None:
    query = find_documents(("$XDSDocumentEntryTypeCode", ["('a^^s','b^^s')"]))
    assert query.type_codes == (Code("a", "s"), Code("b", "s"))


def test_event_code_list_in_one_slot_is_one_or_group() -> None:
    query = find_documents(("$XDSDocumentEntryEventCodeList", ["('a^^s','b^^s')"]))
    assert query.event_codes == ((Code("a", "s"), Code("b", "s")),)


def test_repeated_event_code_list_slots_are_anded() -> None:
    query = find_documents(
        ("$XDSDocumentEntryEventCodeList", ["('a^^s','b^^s')"]),
        ("$XDSDocumentEntryEventCodeList", ["('c^^s')"]),
    )
    assert query.event_codes == ((Code("a", "s"), Code("b", "s")), (Code("c", "s"),))


def test_repeated_confidentiality_code_slots_are_anded() -> None:
    query = find_documents(
        ("$XDSDocumentEntryConfidentialityCode", ["('N^^5.25')"]),
        ("$XDSDocumentEntryConfidentialityCode", ["('MASQUE_PS^^4.13')"]),
    )
    assert query.confidentiality_codes == ((Code("N", "5.25"),), (Code("MASQUE_PS", "4.13"),))


def test_repeated_reference_id_slots_are_anded() -> None:
    query = parse_query(
        Q.FIND_DOCUMENTS_BY_REFERENCE_ID,
        [
            *FIND_DOCS_BASE,
            ("$XDSDocumentEntryReferenceIdList", ["('r1','r2')"]),
            ("$XDSDocumentEntryReferenceIdList", ["('r3')"]),
        ],
    )
    assert isinstance(query, FindDocumentsByReferenceIdQuery)
    assert query.reference_ids == (("r1", "r2"), ("r3",))


def test_time_range_bounds_are_kept_with_their_precision() -> None:
    query = find_documents(
        ("$XDSDocumentEntryCreationTimeFrom", ["2004"]),
        ("$XDSDocumentEntryCreationTimeTo", ["20050101083000"]),
        ("$XDSDocumentEntryServiceStartTimeFrom", ["200406"]),
        ("$XDSDocumentEntryServiceStopTimeTo", ["'2005010108'"]),
    )
    assert query.creation_time == TimeRange(from_="2004", to="20050101083000")
    assert query.service_start_time == TimeRange(from_="200406")
    assert query.service_stop_time == TimeRange(to="2005010108")
    assert query.creation_time != TimeRange()
    assert not TimeRange()


def test_author_wildcards_are_kept_as_patterns() -> None:
    query = find_documents(("$XDSDocumentEntryAuthorPerson", ["('%Dupont%','Mar_in')"]))
    assert query.author_persons == ("%Dupont%", "Mar_in")


def test_status_list_keeps_full_urns() -> None:
    query = parse_query(
        Q.FIND_DOCUMENTS,
        [
            ("$XDSDocumentEntryPatientId", [PID]),
            ("$XDSDocumentEntryStatus", [f"('{APPROVED}',", f"'{DEPRECATED}')"]),
        ],
    )
    assert isinstance(query, FindDocumentsQuery)
    assert query.statuses == (APPROVED, DEPRECATED)


def test_dmp_statuses_are_accepted() -> None:
    archived = AvailabilityStatus.ARCHIVED.value
    query = parse_query(
        Q.FIND_DOCUMENTS,
        [("$XDSDocumentEntryPatientId", [PID]), ("$XDSDocumentEntryStatus", [f"('{archived}')"])],
    )
    assert isinstance(query, FindDocumentsQuery)
    assert query.statuses == (archived,)


def test_short_status_is_refused_with_the_urn_to_write() -> None:
    data = request_xml(
        Q.FIND_DOCUMENTS,
        [("$XDSDocumentEntryPatientId", [PID]), ("$XDSDocumentEntryStatus", ["('Approved')"])],
    )
    with pytest.raises(QueryRejected) as info:
        parse_adhoc_query_request(data)
    assert APPROVED in info.value.errors[0].message


def test_document_entry_type_accepts_both_object_types() -> None:
    on_demand = ObjectType.ON_DEMAND_DOCUMENT.value
    query = find_documents(("$XDSDocumentEntryType", [f"('{DOC}','{on_demand}')"]))
    assert query.document_types == (DOC, on_demand)


@pytest.mark.parametrize("return_type", list(ReturnType))
def test_return_type_is_read(return_type: ReturnType) -> None:
    data = request_xml(Q.FIND_DOCUMENTS, FIND_DOCS_BASE, return_type=return_type.value)
    assert parse_adhoc_query_request(data).return_type is return_type


def test_home_community_id_is_read_from_the_adhoc_query() -> None:
    data = request_xml(Q.GET_ASSOCIATIONS, [("$uuid", [f"('{UUID1}')"])], home="urn:oid:1.2.3")
    assert parse_adhoc_query_request(data).home_community_id == "urn:oid:1.2.3"


def test_request_without_home_has_none() -> None:
    data = request_xml(Q.GET_ASSOCIATIONS, [("$uuid", [f"('{UUID1}')"])])
    assert parse_adhoc_query_request(data).home_community_id is None


def test_metadata_level_is_read() -> None:
    data = request_xml(Q.GET_ASSOCIATIONS, [("$uuid", [f"('{UUID1}')"]), ("$MetadataLevel", ["2"])])
    assert parse_adhoc_query_request(data).metadata_level == 2


def test_unknown_parameters_are_ignored_and_listed() -> None:
    data = request_xml(
        Q.GET_DOCUMENTS,
        [
            ("$XDSDocumentEntryEntryUUID", [f"('{UUID1}')"]),
            ("$XDSDocumentEntryStatus", [APPROVED_LIST]),
            ("$Whatever", ["not even well-formed ("]),
        ],
    )
    request = parse_adhoc_query_request(data)
    assert request.query == GetDocumentsQuery(uuids=(UUID1,))
    assert request.ignored_parameters == ("$XDSDocumentEntryStatus", "$Whatever")


def test_element_is_accepted_as_source() -> None:
    element = etree.fromstring(request_xml(Q.GET_SUBMISSION_SETS, [("$uuid", [f"('{UUID1}')"])]))
    assert isinstance(parse_adhoc_query_request(element), StoredQueryRequest)


# ---- refusals: one test per error case, exact code and parameter -----------------------

REG = ErrorCode.XDSRegistryError
MISSING = ErrorCode.XDSStoredQueryMissingParam
NUMBER = ErrorCode.XDSStoredQueryParamNumber


def test_unknown_query_id_is_xds_unknown_stored_query() -> None:
    errors = rejected(request_xml("urn:uuid:00000000-0000-0000-0000-000000000000", FIND_DOCS_BASE))
    assert errors == [
        (ErrorCode.XDSUnknownStoredQuery, "urn:uuid:00000000-0000-0000-0000-000000000000")
    ]


@pytest.mark.parametrize("query_id", [q for q in StoredQueryId if not q.is_supported])
def test_unsupported_known_query_is_xds_unknown_stored_query(query_id: StoredQueryId) -> None:
    assert rejected(request_xml(query_id, FIND_DOCS_BASE)) == [
        (ErrorCode.XDSUnknownStoredQuery, query_id.value)
    ]


def test_missing_required_parameter_is_missing_param() -> None:
    errors = rejected(request_xml(Q.FIND_DOCUMENTS, [("$XDSDocumentEntryStatus", [APPROVED_LIST])]))
    assert errors == [(MISSING, "$XDSDocumentEntryPatientId")]


def test_all_missing_required_parameters_are_reported() -> None:
    errors = rejected(request_xml(Q.GET_ALL, []))
    assert errors == [
        (MISSING, "$patientId"),
        (MISSING, "$XDSDocumentEntryStatus"),
        (MISSING, "$XDSSubmissionSetStatus"),
        (MISSING, "$XDSFolderStatus"),
    ]


def test_required_parameter_with_empty_value_is_missing_param() -> None:
    errors = rejected(
        request_xml(Q.FIND_DOCUMENTS, [*FIND_DOCS_BASE[1:], ("$XDSDocumentEntryPatientId", [""])])
    )
    assert errors == [(MISSING, "$XDSDocumentEntryPatientId")]


def test_missing_reference_id_list_is_missing_param() -> None:
    errors = rejected(request_xml(Q.FIND_DOCUMENTS_BY_REFERENCE_ID, FIND_DOCS_BASE))
    assert errors == [(MISSING, "$XDSDocumentEntryReferenceIdList")]


def test_entry_uuid_and_unique_id_together_is_param_number() -> None:
    errors = rejected(
        request_xml(
            Q.GET_DOCUMENTS,
            [
                ("$XDSDocumentEntryEntryUUID", [f"('{UUID1}')"]),
                ("$XDSDocumentEntryUniqueId", ["('1.2')"]),
            ],
        )
    )
    assert errors == [
        (NUMBER, "$XDSDocumentEntryEntryUUID|$XDSDocumentEntryUniqueId|$XDSDocumentEntryLogicalID")
    ]


def test_neither_entry_uuid_nor_unique_id_is_param_number() -> None:
    errors = rejected(request_xml(Q.GET_FOLDERS_FOR_DOCUMENT, []))
    assert errors == [(NUMBER, "$XDSDocumentEntryEntryUUID|$XDSDocumentEntryUniqueId")]


def test_several_values_for_single_valued_parameter_is_param_number() -> None:
    errors = rejected(
        request_xml(
            Q.FIND_DOCUMENTS, [("$XDSDocumentEntryPatientId", [PID, PID]), FIND_DOCS_BASE[1]]
        )
    )
    assert errors == [(NUMBER, "$XDSDocumentEntryPatientId")]


def test_list_of_several_for_single_valued_parameter_is_param_number() -> None:
    errors = rejected(
        request_xml(
            Q.GET_FOLDER_AND_CONTENTS, [("$XDSFolderEntryUUID", [f"('{UUID1}','{UUID2}')"])]
        )
    )
    assert errors == [(NUMBER, "$XDSFolderEntryUUID")]


def test_repeated_slot_of_or_parameter_is_param_number() -> None:
    errors = rejected(
        request_xml(
            Q.FIND_DOCUMENTS,
            [
                *FIND_DOCS_BASE,
                ("$XDSDocumentEntryClassCode", [CODE]),
                ("$XDSDocumentEntryClassCode", [CODE]),
            ],
        )
    )
    assert errors == [(NUMBER, "$XDSDocumentEntryClassCode")]


def test_repeated_time_parameter_is_param_number() -> None:
    errors = rejected(
        request_xml(
            Q.FIND_DOCUMENTS,
            [
                *FIND_DOCS_BASE,
                ("$XDSDocumentEntryCreationTimeFrom", ["2004"]),
                ("$XDSDocumentEntryCreationTimeFrom", ["2005"]),
            ],
        )
    )
    assert errors == [(NUMBER, "$XDSDocumentEntryCreationTimeFrom")]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("$XDSDocumentEntryPatientId", "1234^^^&1.2&ISO"),  # unquoted string
        ("$XDSDocumentEntryStatus", f"'{APPROVED}'"),  # a list must be parenthesised
        ("$XDSDocumentEntryStatus", f"('{APPROVED}'"),  # unclosed list
        ("$XDSDocumentEntryStatus", "()"),  # empty list
        ("$XDSDocumentEntryCreationTimeFrom", "2004-12-25"),  # non-numeric time
        ("$XDSDocumentEntryServiceStopTimeTo", "20041332"),  # impossible date
        ("$XDSDocumentEntryClassCode", "('34133-9')"),  # code not code^^scheme
        ("$XDSDocumentEntryEventCodeList", "('a^^s', b^^s)"),  # unquoted list item
        ("$XDSDocumentEntryType", "('urn:uuid:not-a-document-type')"),
        ("$XDSDocumentEntryPatientId", "''"),  # empty string
    ],
)
def test_malformed_value_is_registry_error_naming_the_parameter(name: str, text: str) -> None:
    slots = [s for s in FIND_DOCS_BASE if s[0] != name] + [(name, [text])]
    assert rejected(request_xml(Q.FIND_DOCUMENTS, slots)) == [(REG, name)]


def test_unknown_association_type_is_registry_error() -> None:
    errors = rejected(
        request_xml(
            Q.GET_RELATED_DOCUMENTS,
            [("$XDSDocumentEntryUniqueId", ["'1.2'"]), ("$AssociationTypes", ["('RPLC')"])],
        )
    )
    assert errors == [(REG, "$AssociationTypes")]


@pytest.mark.parametrize("return_type", ["RegistryObject", "LeafClassWithRepositoryItem", "Bogus"])
def test_unsupported_return_type_is_registry_error(return_type: str) -> None:
    assert rejected(request_xml(Q.FIND_DOCUMENTS, FIND_DOCS_BASE, return_type=return_type)) == [
        (REG, "returnType")
    ]


def test_absent_return_type_means_registry_object_which_is_refused() -> None:
    assert rejected(request_xml(Q.FIND_DOCUMENTS, FIND_DOCS_BASE, return_type=None)) == [
        (REG, "returnType")
    ]


@pytest.mark.parametrize("text", ["3", "x", "1 2"])
def test_bad_metadata_level_is_refused(text: str) -> None:
    errors = rejected(request_xml(Q.FIND_DOCUMENTS, [*FIND_DOCS_BASE, ("$MetadataLevel", [text])]))
    assert [location for _, location in errors] == ["$MetadataLevel"]


def test_every_finding_is_reported_at_once() -> None:
    errors = rejected(
        request_xml(
            Q.FIND_DOCUMENTS,
            [
                ("$XDSDocumentEntryStatus", ["('Approved')"]),
                ("$XDSDocumentEntryClassCode", ["('x')"]),
                ("$XDSDocumentEntryFormatCode", [CODE]),
                ("$XDSDocumentEntryFormatCode", [CODE]),
            ],
            return_type="RegistryObject",
        )
    )
    assert sorted(errors) == sorted(
        [
            (REG, "returnType"),
            (MISSING, "$XDSDocumentEntryPatientId"),
            (REG, "$XDSDocumentEntryStatus"),
            (REG, "$XDSDocumentEntryClassCode"),
            (NUMBER, "$XDSDocumentEntryFormatCode"),
        ]
    )


def test_messages_name_the_parameter() -> None:
    data = request_xml(
        Q.FIND_DOCUMENTS, [*FIND_DOCS_BASE, ("$XDSDocumentEntryClassCode", ["('x')"])]
    )
    with pytest.raises(QueryRejected) as info:
        parse_adhoc_query_request(data)
    assert "$XDSDocumentEntryClassCode" in info.value.errors[0].message


# ---- wrong documents and hostile input --------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"<query:AdhocQueryRequest xmlns:query='urn:wrong'/>",
        b"<AdhocQueryRequest/>",
        b"<lcm:SubmitObjectsRequest xmlns:lcm='urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0'/>",
    ],
)
def test_wrong_root_or_namespace_is_registry_error(data: bytes) -> None:
    assert [code for code, _ in rejected(data)] == [REG]


def test_missing_adhoc_query_is_registry_error() -> None:
    data = (
        b"<q:AdhocQueryRequest xmlns:q='urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0'>"
        b"<q:ResponseOption returnType='ObjectRef'/></q:AdhocQueryRequest>"
    )
    assert rejected(data) == [(REG, "AdhocQuery")]


def test_slots_in_the_wrong_namespace_are_not_parameters() -> None:
    data = request_xml(Q.FIND_DOCUMENTS, FIND_DOCS_BASE).replace(b"rim:Slot", b"Slot")
    assert (MISSING, "$XDSDocumentEntryPatientId") in rejected(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<query:AdhocQueryRequest",
        b"not xml at all",
        b"\xff\xfe\x00garbage",
        b"<a>" * 300 + b"</a>" * 300,
    ],
)
def test_malformed_xml_is_a_typed_rejection(data: bytes) -> None:
    assert [code for code, _ in rejected(data)] == [REG]


@pytest.mark.parametrize(
    "name",
    [
        "billion_laughs.xml",
        "external_entity_file.xml",
        "external_entity_network.xml",
        "external_dtd.xml",
    ],
)
def test_hostile_xml_is_a_typed_rejection(test_data: Callable[[str], bytes], name: str) -> None:
    assert [code for code, _ in rejected(test_data(f"hostile/{name}"))] == [REG]


def test_oversized_request_is_a_typed_rejection() -> None:
    data = request_xml(Q.GET_ASSOCIATIONS, [("$uuid", [f"('{UUID1}')"])])
    with pytest.raises(QueryRejected) as info:
        parse_adhoc_query_request(data, XMLLimits(max_bytes=100))
    assert info.value.errors[0].code is REG
    assert info.value.__cause__ is not None


def test_huge_list_parses() -> None:
    uuids = [f"urn:uuid:{i:08d}-0000-0000-0000-000000000000" for i in range(5000)]
    value = "(" + ",".join(f"'{u}'" for u in uuids) + ")"
    query = parse_query(Q.GET_DOCUMENTS, [("$XDSDocumentEntryEntryUUID", [value])])
    assert isinstance(query, GetDocumentsQuery)
    assert len(query.uuids) == 5000


def test_many_garbage_slots_give_one_error_each() -> None:
    slots = [("$XDSDocumentEntryClassCode", ["(garbage"])] * 3
    errors = rejected(request_xml(Q.FIND_DOCUMENTS, [*FIND_DOCS_BASE, *slots]))
    assert errors == [(NUMBER, "$XDSDocumentEntryClassCode")]
