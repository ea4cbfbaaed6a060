"""Structural faults the model cannot hold are refused with the transaction's metadata error."""

from __future__ import annotations

import pytest

from ebrim.errors import ErrorCode, MetadataRejected, Transaction, XMLRejected
from ebrim.parse import (
    parse_adhoc_query_response,
    parse_registry_response,
    parse_submit_objects_request,
)

LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
DOC_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DOC_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
SS_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
FOLDER_NODE = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"


def _request(objects: str, root: str = "lcm:SubmitObjectsRequest", lcm: str = LCM) -> bytes:
    return (
        f'<{root} xmlns:lcm="{lcm}" xmlns:rim="{RIM}"><rim:RegistryObjectList>'
        f"{objects}</rim:RegistryObjectList></{root}>"
    ).encode()


def _slot(name: str, *values: str) -> str:
    inner = "".join(f"<rim:Value>{v}</rim:Value>" for v in values)
    return f'<rim:Slot name="{name}"><rim:ValueList>{inner}</rim:ValueList></rim:Slot>'


def _code(scheme: str, code: str, owner: str = "Doc01") -> str:
    return (
        f'<rim:Classification id="cl-{code}" classificationScheme="{scheme}" '
        f'classifiedObject="{owner}" nodeRepresentation="{code}">'
        f"{_slot('codingScheme', '1.2.3')}</rim:Classification>"
    )


def _identifier(scheme: str, value: str, owner: str = "Doc01") -> str:
    return (
        f'<rim:ExternalIdentifier id="ei-{value}" registryObject="{owner}" '
        f'identificationScheme="{scheme}" value="{value}"/>'
    )


def _document(inner: str = "", unique_id: str = "1.2.3.4") -> str:
    return (
        '<rim:ExtrinsicObject id="Doc01" mimeType="text/plain" '
        'objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">'
        f"{inner}{_identifier(DOC_UNIQUE_ID, unique_id)}</rim:ExtrinsicObject>"
    )


def _package(inner: str) -> str:
    return f'<rim:RegistryPackage id="Pkg01">{inner}</rim:RegistryPackage>'


def _node(node: str, cid: str = "n1", owner: str = "Pkg01") -> str:
    return (
        f'<rim:Classification id="{cid}" classifiedObject="{owner}" classificationNode="{node}"/>'
    )


def _rejected(data: bytes, transaction: Transaction = Transaction.ITI_42) -> MetadataRejected:
    with pytest.raises(MetadataRejected) as caught:
        parse_submit_objects_request(data, transaction=transaction)
    return caught.value


def _single_error(data: bytes, *needles: str) -> None:
    errors = _rejected(data).errors
    assert len(errors) == 1, errors
    assert errors[0].code is ErrorCode.XDSRegistryMetadataError
    for needle in needles:
        assert needle in errors[0].message


def test_single_valued_slot_given_twice_is_rejected() -> None:
    data = _request(_document(_slot("creationTime", "2024") + _slot("creationTime", "2025")))
    _single_error(data, "Doc01", "1.2.3.4", "creationTime")


def test_single_valued_slot_with_several_values_is_rejected() -> None:
    data = _request(_document(_slot("hash", "aa", "bb")))
    _single_error(data, "Doc01", "hash")


def test_single_valued_slot_without_value_is_rejected() -> None:
    _single_error(_request(_document(_slot("size"))), "Doc01", "size")


@pytest.mark.parametrize(
    ("scheme", "attribute"),
    [
        ("urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a", "classCode"),
        ("urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d", "formatCode"),
        ("urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1", "healthcareFacilityTypeCode"),
        ("urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead", "practiceSettingCode"),
        ("urn:uuid:f0306f51-975f-434e-a61c-c59651d33983", "typeCode"),
    ],
)
def test_single_valued_document_code_given_twice_is_rejected(scheme: str, attribute: str) -> None:
    data = _request(_document(_code(scheme, "A") + _code(scheme, "B")))
    _single_error(data, "Doc01", "1.2.3.4", attribute)


def test_content_type_code_given_twice_is_rejected() -> None:
    scheme = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
    data = _request(
        _package(_node(SS_NODE) + _code(scheme, "A", "Pkg01") + _code(scheme, "B", "Pkg01"))
    )
    _single_error(data, "SubmissionSet Pkg01", "contentTypeCode")


@pytest.mark.parametrize(
    ("scheme", "attribute"), [(DOC_PATIENT_ID, "patientId"), (DOC_UNIQUE_ID, "uniqueId")]
)
def test_document_identifier_given_twice_is_rejected(scheme: str, attribute: str) -> None:
    data = _request(_document(_identifier(scheme, "x1") + _identifier(scheme, "x2")))
    _single_error(data, "Doc01", attribute)


def test_submission_set_source_id_given_twice_is_rejected() -> None:
    scheme = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
    ids = _identifier(scheme, "1.1", "Pkg01") + _identifier(scheme, "1.2", "Pkg01")
    _single_error(_request(_package(_node(SS_NODE) + ids)), "Pkg01", "sourceId")


def test_author_person_with_several_values_is_rejected() -> None:
    author = (
        '<rim:Classification id="au1" classificationScheme='
        '"urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d" classifiedObject="Doc01" '
        f'nodeRepresentation="">{_slot("authorPerson", "a", "b")}</rim:Classification>'
    )
    _single_error(_request(_document(author)), "Doc01", "au1", "authorPerson")


def test_unknown_slot_in_code_classification_is_rejected() -> None:
    code = (
        '<rim:Classification id="cl1" classificationScheme='
        '"urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a" classifiedObject="Doc01" '
        f'nodeRepresentation="A">{_slot("codingScheme", "1.2")}{_slot("other", "x")}'
        "</rim:Classification>"
    )
    _single_error(_request(_document(code)), "Doc01", "cl1", "other")


def test_unknown_classification_scheme_is_rejected() -> None:
    data = _request(_document(_code("urn:uuid:00000000-0000-0000-0000-000000000001", "A")))
    _single_error(data, "Doc01", "urn:uuid:00000000-0000-0000-0000-000000000001")


def test_unknown_external_identifier_scheme_is_rejected() -> None:
    data = _request(_document(_identifier("urn:uuid:00000000-0000-0000-0000-000000000002", "x")))
    _single_error(data, "Doc01", "urn:uuid:00000000-0000-0000-0000-000000000002")


def test_name_with_several_localized_strings_is_rejected() -> None:
    name = (
        '<rim:Name><rim:LocalizedString value="a"/>'
        '<rim:LocalizedString xml:lang="fr" value="b"/></rim:Name>'
    )
    _single_error(_request(_document(name)), "Doc01", "Name")


@pytest.mark.parametrize(
    "element",
    [
        '<rim:ExternalLink id="link1" externalURI="http://example.org/"/>',
        '<other:Thing xmlns:other="urn:example:other" id="link1"/>',
    ],
    ids=["rim-external-link", "foreign-namespace"],
)
def test_unknown_element_in_object_list_is_rejected(element: str) -> None:
    errors = _rejected(_request(_document() + element)).errors
    assert [e.code for e in errors] == [ErrorCode.XDSRegistryMetadataError]
    assert errors[0].location == "link1"
    assert "not expected" in errors[0].message


def test_package_classified_as_neither_is_rejected() -> None:
    _single_error(_request(_package("")), "RegistryPackage Pkg01", "neither")


def test_package_classified_as_both_is_rejected() -> None:
    data = _request(_package(_node(SS_NODE) + _node(FOLDER_NODE, "n2")))
    _single_error(data, "RegistryPackage Pkg01", "both")


def test_top_level_classification_and_identifier_attach_to_their_object() -> None:
    class_code = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
    beside = _code(class_code, "A") + _identifier(DOC_PATIENT_ID, "P1")
    metadata = parse_submit_objects_request(_request(_document() + beside))
    assert metadata.documents[0].class_code is not None
    assert metadata.documents[0].class_code.code == "A"
    assert metadata.documents[0].patient_id == "P1"


def test_top_level_classification_of_missing_object_is_rejected() -> None:
    data = _request(_document() + _node(SS_NODE, "n9", owner="Nowhere"))
    errors = _rejected(data).errors
    assert len(errors) == 1
    assert "Nowhere" in errors[0].message
    assert errors[0].location == "n9"


def test_every_fault_is_reported_with_its_object_as_location() -> None:
    data = _request(_document(_slot("size", "1", "2")) + _package(""))
    errors = _rejected(data).errors
    assert [e.location for e in errors] == ["Doc01", "Pkg01"]


def test_wrong_root_element_is_rejected() -> None:
    data = _request(_document(), root="lcm:RemoveObjectsRequest")
    errors = _rejected(data).errors
    assert errors[0].code is ErrorCode.XDSRegistryMetadataError
    assert "RemoveObjectsRequest" in errors[0].message


def test_wrong_namespace_is_rejected() -> None:
    data = _request(_document(), lcm="urn:oasis:names:tc:ebxml-regrep:registry:xsd:2.1")
    errors = _rejected(data).errors
    assert errors[0].code is ErrorCode.XDSRegistryMetadataError
    assert "registry:xsd:2.1" in errors[0].message


def test_missing_registry_object_list_is_rejected() -> None:
    errors = _rejected(f'<lcm:SubmitObjectsRequest xmlns:lcm="{LCM}"/>'.encode()).errors
    assert "RegistryObjectList" in errors[0].message


def test_malformed_xml_raises_xml_rejected() -> None:
    with pytest.raises(XMLRejected):
        parse_submit_objects_request(b"<lcm:SubmitObjectsRequest")


def test_repository_transaction_uses_repository_metadata_error() -> None:
    data = _request(_document(_slot("hash", "aa", "bb")))
    errors = _rejected(data, Transaction.ITI_41).errors
    assert [e.code for e in errors] == [ErrorCode.XDSRepositoryMetadataError]


def test_registry_response_with_unknown_status_is_rejected() -> None:
    data = (
        b'<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="Meh"/>'
    )
    with pytest.raises(MetadataRejected):
        parse_registry_response(data)


def test_adhoc_query_response_parser_refuses_registry_response() -> None:
    data = (
        b'<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" '
        b'status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>'
    )
    with pytest.raises(MetadataRejected) as caught:
        parse_adhoc_query_response(data)
    assert caught.value.errors[0].code is ErrorCode.XDSRegistryError


CLASS_CODE = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"


def _class_code(inner: str) -> str:
    return (
        f'<rim:Classification id="cl1" classificationScheme="{CLASS_CODE}" '
        f'classifiedObject="Doc01" nodeRepresentation="A">{inner}</rim:Classification>'
    )


def _name(*values: str) -> str:
    strings = "".join(f'<rim:LocalizedString value="{v}"/>' for v in values)
    return f"<rim:Name>{strings}</rim:Name>"


@pytest.mark.parametrize(
    ("inner", "display"),
    [
        (_slot("codingScheme", "1.2") + _name("Shown"), "Shown"),  # the usual shape
        (_slot("codingScheme", "1.2"), None),
        (_name("Shown") + _slot("codingScheme", "1.2"), "Shown"),  # Name first
        (_slot("codingScheme", "1.2") + _name(), None),  # an empty Name
    ],
)
def test_a_code_classification_reads_the_same_in_any_accepted_shape(inner, display) -> None:
    metadata = parse_submit_objects_request(_request(_document(_class_code(inner))))

    (doc,) = metadata.documents
    assert doc.class_code is not None
    assert (doc.class_code.code, doc.class_code.scheme) == ("A", "1.2")
    assert doc.class_code.display_name == display


@pytest.mark.parametrize(
    ("inner", "named"),
    [
        (_slot("codingScheme", "1.2", "1.3"), "codingScheme"),  # two values
        (_slot("codingScheme", "1.2") + _name("a", "b"), "LocalizedStrings"),
        (_slot("codingScheme", "1.2") + _slot("codingScheme", "1.2"), "codingScheme"),
    ],
)
def test_a_code_classification_in_an_irregular_shape_is_rejected(inner, named) -> None:
    _single_error(_request(_document(_class_code(inner))), "Doc01", "cl1", named)
