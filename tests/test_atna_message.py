"""DICOM audit messages (ITI-20): every event the registry writes renders as a message valid
against the PS3.15 A.5.1 schema, with the participants and objects ITI TF-2 names."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from dicom_audit import assert_dicom_audit_valid, dicom_audit_schema
from lxml import etree
from policy_support import (
    AUTHOR,
    AUTHORISED,
    STRANGER,
    consenting_registry,
    requester,
)
from registry_fixtures import PATIENT
from sqlalchemy import Engine
from test_policy_audit import find, submit
from update_support import APPROVED, DELETED, status_change

from atna.message import AuditSource, render_audit_message
from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest, parse_adhoc_query_request
from registry import Registry
from registry.audit import AuditEvent, Outcome, RequestOrigin, events_after, requests_from

SOURCE = AuditSource(
    source_id="xds-registry@test",
    base_url="https://xds.example.org:8443",
    site_id="1750712184",
    repository_id="1.2.250.1.999.1.1",
)


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return consenting_registry(engine)


def written(registry: Registry) -> list[AuditEvent]:
    with registry.engine.connect() as conn:
        return events_after(conn, 0, limit=1000)


def message_of(event: AuditEvent) -> etree._Element:
    return assert_dicom_audit_valid(render_audit_message(event, SOURCE))


def participant_objects(root: etree._Element) -> dict[str, etree._Element]:
    """ParticipantObjectIdentification by the csd-code of its IDTypeCode (the last one wins)."""
    return {
        o.find("ParticipantObjectIDTypeCode").get("csd-code"): o
        for o in root.iter("ParticipantObjectIdentification")
    }


def test_every_event_of_a_session_renders_a_schema_valid_message(registry: Registry) -> None:
    doc = submit(registry)
    find(registry, requester(AUTHORISED))
    find(registry, requester(STRANGER))  # refused: a failure event
    registry.audit_retrieve(requester(AUTHORISED), None, [doc["unique_id"]], success=True)
    registry.update(status_change(doc["uuid"], APPROVED, DELETED), requester=requester(AUTHOR))
    registry.delete([doc["uuid"]])

    events = written(registry)

    assert {e.transaction for e in events} >= {"ITI-42", "ITI-18", "ITI-43", "ITI-57", "ITI-62"}
    for event in events:
        message_of(event)


def test_a_registration_names_the_submission_set_and_the_patient(registry: Registry) -> None:
    submit(registry)
    register = next(e for e in written(registry) if e.transaction == "ITI-42")

    root = message_of(register)

    identification = root.find("EventIdentification")
    assert identification.get("EventActionCode") == "C"
    assert identification.get("EventOutcomeIndicator") == "0"
    assert identification.find("EventID").get("csd-code") == "110107"
    assert identification.find("EventTypeCode").get("csd-code") == "ITI-42"
    objects = participant_objects(root)
    assert objects["2"].get("ParticipantObjectID") == PATIENT
    submission_set = objects["urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"]
    assert submission_set.get("ParticipantObjectID") == register.submission_set_id
    assert re.fullmatch(r"[0-2](\.\d+)+", register.submission_set_id or "")
    assert submission_set.get("ParticipantObjectTypeCodeRole") == "20"


def test_the_requesting_system_and_the_professional_are_participants(registry: Registry) -> None:
    submit(registry)
    register = next(e for e in written(registry) if e.transaction == "ITI-42")

    root = message_of(register)

    system, professional, server = root.findall("ActiveParticipant")
    assert (system.get("UserID"), system.get("UserName")) == ("19999999999", "LPS-Test 1.0")
    assert system.find("RoleIDCode").get("csd-code") == "110153"  # source
    assert professional.get("UserID") == AUTHOR
    assert professional.get("UserIsRequestor") == "true"
    role = professional.find("RoleIDCode")
    assert (role.get("csd-code"), role.get("codeSystemName")) == ("10", "1.2.250.1.71.1.2.7")
    assert f"Dr {AUTHOR}" in professional.get("UserName")
    assert server.get("UserID") == "https://xds.example.org:8443/xds/registry"
    assert server.get("UserIsRequestor") == "false"
    assert (server.get("NetworkAccessPointID"), server.get("NetworkAccessPointTypeCode")) == (
        "xds.example.org",
        "1",
    )
    assert server.find("RoleIDCode").get("csd-code") == "110152"  # destination
    source = root.find("AuditSourceIdentification")
    assert (source.get("AuditSourceID"), source.get("AuditEnterpriseSiteID")) == (
        "xds-registry@test",
        "1750712184",
    )


def test_a_query_carries_the_request_that_was_asked(registry: Registry) -> None:
    find(registry, requester(AUTHORISED))
    query = next(e for e in written(registry) if e.transaction == "ITI-18")

    root = message_of(query)

    assert root.find("EventIdentification/EventID").get("csd-code") == "110112"
    assert root.find("EventIdentification").get("EventActionCode") == "E"
    stored_query = participant_objects(root)["ITI-18"]
    assert stored_query.get("ParticipantObjectID") == query.query_id
    assert stored_query.get("ParticipantObjectTypeCodeRole") == "24"
    asked = base64.b64decode(stored_query.findtext("ParticipantObjectQuery"))
    parsed = parse_adhoc_query_request(asked)
    assert isinstance(parsed.query, FindDocumentsQuery)
    assert parsed.query.patient_id == PATIENT
    detail = stored_query.find("ParticipantObjectDetail")
    assert detail.get("type") == "QueryEncoding"
    assert base64.b64decode(detail.get("value")) == b"UTF-8"


def test_an_emergency_access_carries_its_purpose_of_use(registry: Registry) -> None:
    submit(registry)
    find(registry, requester(STRANGER, purpose="bris_de_glace"))
    emergency = written(registry)[-1]
    assert emergency.emergency

    root = message_of(emergency)

    purpose = root.find("EventIdentification/PurposeOfUse")
    assert purpose.get("csd-code") == "bris_de_glace"
    assert purpose.get("codeSystemName") == "1.2.250.1.213.1.1.4.248"


def test_a_refusal_is_a_serious_failure_with_its_reason(registry: Registry) -> None:
    submit(registry)
    find(registry, requester(STRANGER))
    refused = written(registry)[-1]
    assert refused.outcome is Outcome.FAILURE

    root = message_of(refused)

    assert root.find("EventIdentification").get("EventOutcomeIndicator") == "8"
    assert root.findtext("EventIdentification/EventOutcomeDescription")


def test_a_retrieve_is_an_export_naming_each_document_and_its_repository(
    registry: Registry,
) -> None:
    doc = submit(registry)
    registry.audit_retrieve(requester(AUTHORISED), None, [doc["unique_id"]], success=True)
    retrieve = written(registry)[-1]

    root = message_of(retrieve)

    assert root.find("EventIdentification/EventID").get("csd-code") == "110106"
    assert root.find("EventIdentification").get("EventActionCode") == "R"
    consumer, _professional, repository = root.findall("ActiveParticipant")
    assert consumer.find("RoleIDCode").get("csd-code") == "110152"  # the consumer receives
    assert repository.find("RoleIDCode").get("csd-code") == "110153"
    assert repository.get("UserID").endswith("/xds/repository")
    document = participant_objects(root)["9"]
    assert document.get("ParticipantObjectID") == doc["unique_id"]
    detail = document.find("ParticipantObjectDetail")
    assert detail.get("type") == "Repository Unique Id"
    assert base64.b64decode(detail.get("value")).decode() == SOURCE.repository_id


def test_an_update_and_a_delete_are_patient_record_events(registry: Registry) -> None:
    doc = submit(registry)
    registry.update(status_change(doc["uuid"], APPROVED, DELETED), requester=requester(AUTHOR))
    registry.delete([doc["uuid"]])
    update = next(e for e in written(registry) if e.transaction == "ITI-57")
    deletion = next(e for e in written(registry) if e.transaction == "ITI-62")

    update_root, delete_root = message_of(update), message_of(deletion)

    assert update_root.find("EventIdentification/EventID").get("csd-code") == "110110"
    assert update_root.find("EventIdentification").get("EventActionCode") == "U"
    assert update.submission_set_id in {
        o.get("ParticipantObjectID") for o in update_root.iter("ParticipantObjectIdentification")
    }
    assert delete_root.find("EventIdentification").get("EventActionCode") == "D"
    assert delete_root.find("EventIdentification/EventTypeCode").get("csd-code") == "ITI-62"


def test_a_record_management_event_is_a_patient_record_event() -> None:
    event = AuditEvent(
        transaction="records:Grant",
        outcome=Outcome.SUCCESS,
        patient_id=PATIENT,
        detail="810000000001",
        occurred_at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
    )

    root = message_of(event)

    assert root.find("EventIdentification/EventID").get("csd-code") == "110110"
    assert root.find("EventIdentification").get("EventActionCode") == "U"
    assert root.find("EventIdentification").get("EventDateTime") == "2026-11-24T10:00:00.000Z"
    event_type = root.find("EventIdentification/EventTypeCode")
    assert (event_type.get("csd-code"), event_type.get("codeSystemName")) == (
        "Grant",
        "urn:xds-registry:records",
    )
    server = root.findall("ActiveParticipant")[-1]
    assert server.get("UserID") == "https://xds.example.org:8443/xds/records"


def test_an_unknown_transaction_is_refused_by_name() -> None:
    event = AuditEvent(transaction="ITI-99", outcome=Outcome.SUCCESS)
    with pytest.raises(ValueError, match="ITI-99"):
        render_audit_message(event, SOURCE)


def test_an_anonymous_in_process_caller_is_still_a_participant() -> None:
    event = AuditEvent(transaction="ITI-42", outcome=Outcome.SUCCESS, patient_id=PATIENT)

    root = message_of(event)

    system, server = root.findall("ActiveParticipant")
    assert system.get("UserID") == "http://www.w3.org/2005/08/addressing/anonymous"
    assert server.get("UserIsRequestor") == "false"


def test_a_server_reached_by_ip_address_says_so() -> None:
    source = AuditSource(source_id="node", base_url="http://10.1.2.3:8080")
    event = AuditEvent(transaction="ITI-18", outcome=Outcome.SUCCESS)

    root = assert_dicom_audit_valid(render_audit_message(event, source))

    server = root.findall("ActiveParticipant")[-1]
    assert server.get("NetworkAccessPointID") == "10.1.2.3"
    assert server.get("NetworkAccessPointTypeCode") == "2"


def test_the_schema_refuses_a_message_that_breaks_it() -> None:
    """The schema is not vacuous: a message without its audit source does not validate."""
    event = AuditEvent(transaction="ITI-18", outcome=Outcome.SUCCESS)
    root = etree.fromstring(render_audit_message(event, SOURCE))
    root.remove(root.find("AuditSourceIdentification"))
    assert not dicom_audit_schema().validate(root)
    root = etree.fromstring(render_audit_message(event, SOURCE))
    root.find("EventIdentification").set("EventOutcomeIndicator", "1")
    assert not dicom_audit_schema().validate(root)
    root = etree.fromstring(render_audit_message(event, SOURCE))
    del root.find("EventIdentification/EventID").attrib["originalText"]
    assert not dicom_audit_schema().validate(root)


def test_a_removal_of_documents_names_each_with_its_repository() -> None:
    event = AuditEvent(
        transaction="ITI-86", outcome=Outcome.SUCCESS, document_ids=("1.2.3.1", "1.2.3.2")
    )

    root = message_of(event)

    assert root.find("EventIdentification").get("EventActionCode") == "D"
    assert root.find("EventIdentification/EventTypeCode").get("csd-code") == "ITI-86"
    removed = root.findall("ParticipantObjectIdentification")
    assert [o.get("ParticipantObjectID") for o in removed] == ["1.2.3.1", "1.2.3.2"]
    assert root.findall("ActiveParticipant")[-1].get("UserID").endswith("/xds/repository/remove")


def test_where_the_request_came_from_is_the_requesting_system_s_access_point(
    registry: Registry,
) -> None:
    with requests_from(RequestOrigin(address="10.0.0.7", structure_id="1750712184")):
        registry.query(
            StoredQueryRequest(FindDocumentsQuery(patient_id=PATIENT, statuses=(APPROVED,)))
        )
    [event] = [e for e in written(registry) if e.transaction == "ITI-18"]
    assert (event.source_address, event.structure_id) == ("10.0.0.7", "1750712184")

    system = message_of(event).findall("ActiveParticipant")[0]

    assert system.get("UserID") == "1750712184"  # the TLS certificate's structure
    assert system.get("NetworkAccessPointID") == "10.0.0.7"
    assert system.get("NetworkAccessPointTypeCode") == "2"


def test_the_origin_does_not_outlive_its_request(registry: Registry) -> None:
    with requests_from(RequestOrigin(address="10.0.0.7")):
        pass
    find(registry, requester(AUTHORISED))
    assert written(registry)[-1].source_address is None


def test_characters_xml_cannot_carry_are_dropped_not_fatal() -> None:
    event = AuditEvent(
        transaction="ITI-43",
        outcome=Outcome.FAILURE,
        detail="unknown document 1.2\x01.3",
        document_ids=("1.2\x00.3",),
        professional_name="DUPONT\x1bJean",
    )

    root = message_of(event)

    assert root.findtext("EventIdentification/EventOutcomeDescription") == "unknown document 1.2.3"
    assert root.find("ParticipantObjectIdentification").get("ParticipantObjectID") == "1.2.3"
