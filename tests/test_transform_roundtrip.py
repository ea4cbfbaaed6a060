"""ebRIM 3.0 ↔ model: what is parsed renders back to XML that validates and parses the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from lxml import etree

from ebrim.errors import ErrorCode, Transaction, XDSError
from ebrim.model import Author, Code, LocalizedString, Metadata, ObjectRef, RegistryResponse, Slot
from ebrim.parse import (
    parse_adhoc_query_response,
    parse_registry_object_list,
    parse_registry_response,
    parse_submit_objects_request,
)
from ebrim.render import (
    render_adhoc_query_response,
    render_registry_object_list,
    render_registry_response,
    render_submit_objects_request,
)
from ebrim.vocabulary import (
    AssociationType,
    ObjectType,
    ResponseStatus,
    ReturnType,
    Severity,
)

Validate = Callable[[etree._Element, str], None]
PNR = "XDS.b_ProvideAndRegisterDocumentSet-bRequest.xml"
LCM_SUBMIT = "{urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0}SubmitObjectsRequest"


def _rerender(metadata: Metadata, xsd_valid: Validate) -> Metadata:
    rendered = render_submit_objects_request(metadata)
    xsd_valid(rendered, "lcm")
    return parse_submit_objects_request(etree.tostring(rendered))


@pytest.fixture
def rich(test_data: Callable[[str], bytes]) -> Metadata:
    return parse_submit_objects_request(test_data("rich_submission.xml"))


@pytest.fixture
def register_example(ihe_example: Callable[[str], bytes]) -> Metadata:
    return parse_submit_objects_request(ihe_example("XDS.b_RegisterDocumentSet-bRequest.xml"))


def test_rich_submission_fixture_is_valid_lcm(test_data, xsd_valid) -> None:
    xsd_valid(etree.fromstring(test_data("rich_submission.xml")), "lcm")


def test_roundtrip_keeps_rich_submission(rich: Metadata, xsd_valid: Validate) -> None:
    assert _rerender(rich, xsd_valid) == rich


def test_roundtrip_keeps_register_example(register_example: Metadata, xsd_valid) -> None:
    assert _rerender(register_example, xsd_valid) == register_example


def test_roundtrip_keeps_provide_and_register_example(ihe_example, xsd_valid) -> None:
    request = etree.fromstring(ihe_example(PNR)).find(LCM_SUBMIT)
    assert request is not None
    metadata = parse_submit_objects_request(request, transaction=Transaction.ITI_41)
    assert len(metadata.documents) == 1
    assert _rerender(metadata, xsd_valid) == metadata


def test_roundtrip_keeps_stored_query_response_example(ihe_example, xsd_valid) -> None:
    response, metadata = parse_adhoc_query_response(
        ihe_example("XDS.b_RegistryStoredQueryResponse.xml")
    )
    rendered = render_adhoc_query_response(response, metadata, ReturnType.LEAF_CLASS)
    xsd_valid(rendered, "query")
    assert parse_adhoc_query_response(etree.tostring(rendered)) == (response, metadata)


def test_stored_query_response_example_keeps_unknown_slot_and_object_refs(ihe_example) -> None:
    _, metadata = parse_adhoc_query_response(ihe_example("XDS.b_RegistryStoredQueryResponse.xml"))
    doc = metadata.documents[0]
    assert doc.extra_slots == (Slot("authorInstitution", ("Fairview Hospital",)),)
    assert doc.title == LocalizedString("Sample document 1", "en-us", "UTF-8")
    assert ObjectRef("urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a") in metadata.object_refs


def test_register_example_document_fields_are_read(register_example: Metadata) -> None:
    doc = register_example.documents[0]
    assert doc.entry_uuid == "Document01"
    assert doc.object_type == ObjectType.STABLE_DOCUMENT.value
    assert doc.patient_id == "SELF-5^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"
    assert doc.unique_id == "1.3.6.1.4.1.21367.2005.3.9999.32"
    assert doc.class_code == Code(
        "History and Physical", "Connect-a-thon classCodes", "History and Physical"
    )
    assert doc.type_code == Code("34108-1", "LOINC", "Outpatient Evaluation And Management")
    assert doc.confidentiality_codes == (
        Code(
            "1.3.6.1.4.1.21367.2006.7.101", "Connect-a-thon confidentialityCodes", "Clinical-Staff"
        ),
    )
    assert doc.authors == (
        Author(
            person="Gerald Smitty",
            institutions=("Cleveland Clinic", "Parma Community"),
            roles=("Attending",),
            specialties=("Orthopedic",),
        ),
    )
    assert len(doc.source_patient_info) == 5
    assert doc.comments is None  # <rim:Description/> without a LocalizedString


def test_register_example_submission_set_is_found_by_top_level_classification(
    register_example: Metadata,
) -> None:
    ss = register_example.submission_set
    assert ss is not None
    assert ss.unique_id == "1.3.6.1.4.1.21367.2005.3.9999.33"
    assert ss.source_id == "3670984664"
    assert ss.submission_time == "20041225235050"
    assert ss.content_type_code == Code(
        "History and Physical", "Connect-a-thon contentTypeCodes", "History and Physical"
    )
    assert ss.authors[0].person == "Sherry Dopplemeyer"


def test_short_has_member_type_is_normalised_to_urn(register_example: Metadata) -> None:
    association = register_example.associations[0]
    assert association.association_type == AssociationType.HAS_MEMBER.value
    assert association.submission_set_status == "Original"


def test_rich_submission_reads_every_association_type(rich: Metadata) -> None:
    kinds = {a.association_type for a in rich.associations}
    assert {
        AssociationType.HAS_MEMBER.value,
        AssociationType.REPLACE.value,
        AssociationType.APPEND.value,
        AssociationType.TRANSFORM.value,
        AssociationType.TRANSFORM_REPLACE.value,
        AssociationType.SIGNS.value,
    } <= kinds


def test_rich_submission_reads_multi_valued_fields(rich: Metadata) -> None:
    doc = rich.documents[0]
    assert len(doc.authors) == 2
    assert len(doc.authors[0].institutions) == 2
    assert len(doc.authors[0].telecoms) == 2
    assert len(doc.confidentiality_codes) == 2
    assert len(doc.event_codes) == 2
    assert len(doc.reference_ids) == 2
    assert doc.extra_slots == (
        Slot("urn:example:localSlot", ("first", "second"), "urn:example:slotType"),
    )
    assert doc.title == LocalizedString("Compte rendu d'hospitalisation", "fr-FR", "UTF-8")
    assert doc.limited_metadata is False


def test_rich_submission_reads_on_demand_document_and_folder(rich: Metadata) -> None:
    on_demand = rich.documents[1]
    assert on_demand.is_on_demand
    assert on_demand.document_availability == "urn:ihe:iti:2010:DocumentAvailability:Online"
    folder = rich.folders[0]
    assert [c.code for c in folder.codes] == ["I21", "CARDIO"]
    assert folder.last_update_time == "20240115103500"


def test_render_is_deterministic(rich: Metadata) -> None:
    first = etree.tostring(render_submit_objects_request(rich))
    assert first == etree.tostring(render_submit_objects_request(rich))


def test_limited_metadata_survives_roundtrip(rich: Metadata, xsd_valid: Validate) -> None:
    limited = replace(
        rich,
        documents=tuple(replace(d, limited_metadata=True) for d in rich.documents),
        submission_sets=tuple(replace(s, limited_metadata=True) for s in rich.submission_sets),
        folders=tuple(replace(f, limited_metadata=True) for f in rich.folders),
    )
    assert _rerender(limited, xsd_valid) == limited


def test_object_ref_form_lists_every_id_with_home(rich: Metadata, xsd_valid: Validate) -> None:
    homed = replace(rich, documents=(replace(rich.documents[0], home="urn:oid:1.2.3"),))
    response = RegistryResponse(ResponseStatus.SUCCESS)
    rendered = render_adhoc_query_response(response, homed, ReturnType.OBJECT_REF)
    xsd_valid(rendered, "query")
    _, parsed = parse_adhoc_query_response(etree.tostring(rendered))
    assert parsed.objects() == ()
    assert [ref.id for ref in parsed.object_refs] == list(homed.ids())
    assert ObjectRef(rich.documents[0].entry_uuid, "urn:oid:1.2.3") in parsed.object_refs


def test_registry_object_list_renders_alone(rich: Metadata, xsd_valid: Validate) -> None:
    rendered = render_registry_object_list(rich)
    xsd_valid(rendered, "rim")
    assert parse_registry_object_list(rendered) == rich


_ERROR = XDSError(ErrorCode.XDSRegistryMetadataError, "DocumentEntry Document01: bad", "Document01")
_WARNING = XDSError(ErrorCode.XDSRegistryError, "ignored slot", "SubmissionSet01", Severity.WARNING)


@pytest.mark.parametrize(
    "response",
    [
        RegistryResponse(ResponseStatus.SUCCESS),
        RegistryResponse(ResponseStatus.SUCCESS, (_WARNING,), request_id="urn:uuid:1234"),
        RegistryResponse(ResponseStatus.FAILURE, (_ERROR, _WARNING)),
        RegistryResponse(ResponseStatus.PARTIAL_SUCCESS, (_ERROR,)),
    ],
    ids=["success", "success-with-warning", "failure", "partial-success"],
)
def test_registry_response_roundtrip_is_valid_rs(response, xsd_valid: Validate) -> None:
    rendered = render_registry_response(response)
    xsd_valid(rendered, "rs")
    assert parse_registry_response(etree.tostring(rendered)) == response


def test_registry_response_error_list_carries_code_context_location_and_severity() -> None:
    rendered = render_registry_response(RegistryResponse.from_errors([_ERROR, _WARNING]))
    ns = {"rs": "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"}
    error_list = rendered.find("rs:RegistryErrorList", ns)
    assert error_list is not None
    assert error_list.get("highestSeverity") == Severity.ERROR.value
    first = error_list.find("rs:RegistryError", ns)
    assert first is not None
    assert first.get("errorCode") == "XDSRegistryMetadataError"
    assert first.get("codeContext") == _ERROR.message
    assert first.get("location") == "Document01"
    assert first.get("severity") == Severity.ERROR.value


def test_official_register_response_parses(ihe_example) -> None:
    response = parse_registry_response(ihe_example("XDS.b_RegisterDocumentSet-bResponse.xml"))
    assert response == RegistryResponse(ResponseStatus.SUCCESS)


def test_adhoc_query_response_with_errors_is_valid_query(xsd_valid: Validate) -> None:
    response = RegistryResponse(ResponseStatus.FAILURE, (_ERROR,))
    rendered = render_adhoc_query_response(response, Metadata(), ReturnType.LEAF_CLASS)
    xsd_valid(rendered, "query")
    assert parse_adhoc_query_response(etree.tostring(rendered)) == (response, Metadata())
