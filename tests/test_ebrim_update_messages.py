"""ITI-57 and ITI-62 in ebrim: the official examples, RemoveObjectsRequest, the update rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest
from lxml import etree

from ebrim.errors import ErrorCode, MetadataRejected, Transaction
from ebrim.model import Association, Metadata, Slot
from ebrim.parse import parse_submit_objects_request
from ebrim.profile import Profile
from ebrim.remove import (
    RemoveObjectsRequest,
    parse_remove_objects_request,
    render_remove_objects_request,
)
from ebrim.update import allowed_transitions, previous_version, propagates
from ebrim.validate import validate
from ebrim.validate.update import validate_update
from ebrim.validate.update_messages import UpdateRule
from ebrim.vocabulary import AssociationType, AvailabilityStatus

Example = Callable[[str], bytes]
LID = "urn:uuid:20744602-ba65-44e9-87ee-a52303a5183e"
UPDATE = ErrorCode.XDSMetadataUpdateError


@pytest.fixture
def mu_update(ihe_example: Example) -> Metadata:
    return parse_submit_objects_request(
        ihe_example("MU_example01_update.xml"), transaction=Transaction.ITI_57
    )


def test_official_update_example_is_a_new_version_of_version_1(mu_update: Metadata) -> None:
    (doc,) = mu_update.documents
    (link,) = mu_update.associations
    assert (doc.entry_uuid, doc.logical_id) == ("Document01", LID)
    assert link.known_type is AssociationType.HAS_MEMBER
    assert link.submission_set_status == "Original"
    assert previous_version(link) == "1"
    assert propagates(link)


def test_official_update_example_passes_the_update_rules(mu_update: Metadata) -> None:
    assert validate_update(mu_update) == []


def test_official_update_example_has_a_defective_source_patient_id(mu_update: Metadata) -> None:
    # Defect of the example itself: sourcePatientId's authority 3.4.5 is no OID.
    findings = validate(mu_update, transaction=Transaction.ITI_57)
    assert [(f.code, f.location) for f in findings] == [(UPDATE, "Document01")]
    assert "sourcePatientId" in findings[0].message


def test_official_remove_metadata_example(ihe_example: Example) -> None:
    request = parse_remove_objects_request(ihe_example("RMD_RemoveMetadataRequest.xml"))
    assert len(request.ids) == 4
    assert request.ids[0] == "urn:uuid:b2632452-1de7-480d-94b1-c2074d79c871"


def test_remove_objects_request_round_trips_and_is_schema_valid(
    xsd_valid: Callable[[etree._Element, str], None],
) -> None:
    request = RemoveObjectsRequest(("urn:uuid:a", "urn:uuid:b"), request_id="req-1")
    element = render_remove_objects_request(request)
    xsd_valid(element, "lcm")
    assert parse_remove_objects_request(etree.tostring(element)) == request


@pytest.mark.parametrize(
    ("xml", "location"),
    [
        (
            b'<lcm:RemoveObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"/>',
            "ObjectRefList",
        ),
        (
            b'<lcm:RemoveObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"'
            b' deletionScope="urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:'
            b'DeleteRepositoryItemOnly"/>',
            "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteRepositoryItemOnly",
        ),
        (
            b'<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"/>',
            "{urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0}SubmitObjectsRequest",
        ),
    ],
)
def test_malformed_remove_request_is_rejected(xml: bytes, location: str) -> None:
    with pytest.raises(MetadataRejected) as caught:
        parse_remove_objects_request(xml)
    assert [(e.code, e.location) for e in caught.value.errors] == [
        (ErrorCode.XDSRegistryError, location)
    ]


def test_dmp_statuses_are_for_documents_in_the_dmp_profile_only() -> None:
    archive = (AvailabilityStatus.APPROVED.value, AvailabilityStatus.ARCHIVED.value)
    assert archive in allowed_transitions(Profile.DMP, document=True)
    assert archive not in allowed_transitions(Profile.DMP, document=False)
    assert archive not in allowed_transitions(Profile.GENERIC, document=True)


# --- the update rules, each broken once from the official example ---------------------------


def _slots(link: Association, **slots: tuple[str, ...] | None) -> Association:
    kept = [s for s in link.extra_slots if s.name not in slots]
    added = [Slot(name, values) for name, values in slots.items() if values is not None]
    return replace(link, extra_slots=(*kept, *added))


def _status_link(**slots: tuple[str, ...] | None) -> Association:
    base = Association(
        "Status01",
        AssociationType.UPDATE_AVAILABILITY_STATUS.value,
        "SubmissionSet",
        "urn:uuid:00000000-0000-4000-8000-000000000010",
        extra_slots=(
            Slot("OriginalStatus", (AvailabilityStatus.APPROVED.value,)),
            Slot("NewStatus", (AvailabilityStatus.DEPRECATED.value,)),
        ),
    )
    return _slots(base, **slots)


def _cases(base: Metadata) -> list[tuple[str, Metadata, UpdateRule, str]]:
    (doc,) = base.documents
    (link,) = base.associations
    other = replace(doc, entry_uuid="Document02")
    status_only = replace(base, documents=(), associations=(_status_link(),))
    rel = Association(
        "Rel01",
        AssociationType.APPEND.value,
        "urn:uuid:00000000-0000-4000-8000-000000000011",
        "urn:uuid:00000000-0000-4000-8000-000000000012",
    )
    return [
        (
            "initial version",
            replace(base, documents=(replace(doc, logical_id=None),)),
            UpdateRule.INITIAL_VERSION,
            "Document01",
        ),
        (
            "symbolic logicalId",
            replace(base, documents=(replace(doc, logical_id="Doc"),)),
            UpdateRule.INITIAL_VERSION,
            "Document01",
        ),
        (
            "same logicalId twice",
            replace(
                base,
                documents=(doc, other),
                associations=(link, replace(link, entry_uuid="Assoc2", target="Document02")),
            ),
            UpdateRule.DUPLICATE_LOGICAL_ID,
            "Document01",
        ),
        (
            "no PreviousVersion",
            replace(base, associations=(_slots(link, PreviousVersion=None),)),
            UpdateRule.PREVIOUS_VERSION,
            "Assoc",
        ),
        (
            "PreviousVersion 0",
            replace(base, associations=(_slots(link, PreviousVersion=("0",)),)),
            UpdateRule.PREVIOUS_VERSION,
            "Assoc",
        ),
        (
            "status change from elsewhere",
            replace(status_only, associations=(replace(_status_link(), source="urn:uuid:x"),)),
            UpdateRule.SOURCE_NOT_SUBMISSION_SET,
            "Status01",
        ),
        (
            "unknown NewStatus",
            replace(status_only, associations=(_status_link(NewStatus=("x",)),)),
            UpdateRule.STATUS_SLOT,
            "Status01",
        ),
        (
            "no OriginalStatus",
            replace(status_only, associations=(_status_link(OriginalStatus=None),)),
            UpdateRule.STATUS_SLOT,
            "Status01",
        ),
        (
            "status unchanged",
            replace(
                status_only,
                associations=(_status_link(NewStatus=(AvailabilityStatus.APPROVED.value,)),),
            ),
            UpdateRule.STATUS_UNCHANGED,
            "Status01",
        ),
        (
            "SubmitAssociation of nothing",
            replace(
                status_only,
                associations=(
                    _status_link(),
                    Association(
                        "Submit01",
                        AssociationType.SUBMIT_ASSOCIATION.value,
                        "SubmissionSet",
                        "Missing",
                    ),
                ),
            ),
            UpdateRule.SUBMIT_ASSOCIATION_TARGET,
            "Submit01",
        ),
        (
            "relationship not held",
            replace(status_only, associations=(_status_link(), rel)),
            UpdateRule.ASSOCIATION_NOT_SUBMITTED,
            "Rel01",
        ),
        (
            "nothing to update",
            replace(base, documents=(), associations=()),
            UpdateRule.NOTHING_TO_UPDATE,
            "",
        ),
    ]


def test_every_update_rule_has_a_failing_case(mu_update: Metadata) -> None:
    assert {rule for _, _, rule, _ in _cases(mu_update)} == set(UpdateRule)


def test_each_update_rule_reports_its_code_at_its_object(mu_update: Metadata) -> None:
    for name, metadata, rule, location in _cases(mu_update):
        findings = validate_update(metadata)
        assert findings, name
        assert {f.code for f in findings} == {UPDATE}, name
        assert any(f.location == location for f in findings), (name, findings)
        assert all(_produced_by(rule, f.message) for f in findings), (name, findings)


def _produced_by(rule: UpdateRule, message: str) -> bool:
    parts = re.split(r"\{[^}]*\}", rule.template)
    return bool(re.fullmatch(".*".join(re.escape(p) for p in parts), message, re.S))


def test_submitted_relationship_between_registered_documents_is_valid(mu_update: Metadata) -> None:
    rel = Association(
        "Rel01",
        AssociationType.APPEND.value,
        "urn:uuid:00000000-0000-4000-8000-000000000011",
        "urn:uuid:00000000-0000-4000-8000-000000000012",
    )
    holder = Association(
        "Submit01", AssociationType.SUBMIT_ASSOCIATION.value, "SubmissionSet", "Rel01"
    )
    metadata = replace(mu_update, documents=(), associations=(rel, holder))
    assert validate_update(metadata) == []
    assert [f for f in validate(metadata, transaction=Transaction.ITI_57)] == []
