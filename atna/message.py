"""An audit event as a DICOM audit message (PS3.15 A.5), the payload of ITI-20.

The message names who asked (the establishment's system, and the professional of the signed
assertion), this server (the endpoint that answered), the patient, and what the transaction
touched, with the shape ITI TF-2 gives per transaction:
- ITI-42 / ITI-57 / ITI-65: the submission set (by uniqueId);
- ITI-18: the stored query, its AdhocQueryRequest in ParticipantObjectQuery (base64);
  ITI-66 / ITI-67 (MHD): the same object typed by the transaction, holding the FHIR
  search's query string;
- ITI-43 / ITI-68 / ITI-62 / ITI-86: each document (uniqueId), with the repository's id for
  ITI-43, ITI-68 and ITI-86.
An emergency access carries its purpose of use (bris_de_glace, centre_15) in PurposeOfUse.
Document bytes never appear; the query holds only the request's parameters.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from atna.codes import (
    APPLICATION_SERVER,
    PATIENT_NUMBER,
    PURPOSE_OF_USE_SYSTEM,
    PURPOSES_OF_USE,
    QUERY_TRANSACTIONS,
    QUERY_TYPES,
    REPORT_NUMBER,
    SERIOUS_FAILURE,
    SUBMISSION_SET,
    SUCCESS,
    Coded,
    Role,
    event_kind,
)
from registry.audit import AuditEvent, Outcome

ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"  # a requester with no identity
ENDPOINT_PATHS = {
    "ITI-41": "/xds/repository",
    "ITI-42": "/xds/registry",
    "ITI-18": "/xds/registry",
    "ITI-43": "/xds/repository",
    "ITI-57": "/xds/registry/update",
    "ITI-62": "/xds/registry/delete",
    "ITI-86": "/xds/repository/remove",
    "ITI-66": "/fhir/List",
    "ITI-67": "/fhir/DocumentReference",
    "ITI-68": "/mhd/document",
    "ITI-65": "/fhir",
    "ITI-105": "/fhir/DocumentReference",
}
RECORDS_PATH = "/xds/records"
# Characters XML 1.0 cannot carry (lxml refuses them): dropped from the event's texts.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class AuditSource:
    """This server as the audit messages name it.

    `source_id` is the AuditSourceID (the name the collector files messages under),
    `base_url` the public URL of the SOAP endpoints, `site_id` the AuditEnterpriseSiteID
    (the hosting establishment), `repository_id` the repositoryUniqueId of a co-located
    repository (named beside the documents an ITI-43 returned).
    """

    source_id: str
    base_url: str
    site_id: str | None = None
    repository_id: str | None = None


def render_audit_message(event: AuditEvent, source: AuditSource) -> bytes:
    """The UTF-8 XML of the DICOM audit message of `event` (ValueError: unknown transaction)."""
    kind = event_kind(event.transaction)
    event = _xml_safe(event)
    root = etree.Element("AuditMessage")

    identification = etree.SubElement(
        root,
        "EventIdentification",
        EventActionCode=kind.action,
        EventDateTime=_datetime(event.occurred_at),
        EventOutcomeIndicator=SUCCESS if event.outcome is Outcome.SUCCESS else SERIOUS_FAILURE,
    )
    _coded(identification, "EventID", kind.event_id)
    _coded(identification, "EventTypeCode", kind.event_type)
    if event.detail:
        etree.SubElement(identification, "EventOutcomeDescription").text = event.detail
    if event.purpose_of_use:
        purpose = event.purpose_of_use
        text = PURPOSES_OF_USE.get(purpose, purpose)
        _coded(identification, "PurposeOfUse", Coded(purpose, PURPOSE_OF_USE_SYSTEM, text))

    requester_role = Role.DESTINATION if kind.server_role is Role.SOURCE else Role.SOURCE
    _requesting_system(root, event, requester_role)
    if event.professional_id or event.professional_name:
        professional = etree.SubElement(
            root,
            "ActiveParticipant",
            _attrs(
                UserID=event.professional_id or event.professional_name,
                UserName=_user_name(event),
                UserIsRequestor="true",
            ),
        )
        role = _role(event.professional_role)
        if role is not None:
            _coded(professional, "RoleIDCode", role)
    _this_server(root, event, source, kind.server_role)

    source_element = etree.SubElement(
        root,
        "AuditSourceIdentification",
        _attrs(AuditEnterpriseSiteID=source.site_id, AuditSourceID=source.source_id),
    )
    _coded(source_element, "AuditSourceTypeCode", APPLICATION_SERVER)

    _participant_objects(root, event, source)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _requesting_system(root: etree._Element, event: AuditEvent, role: Role) -> None:
    address = event.source_address
    participant = etree.SubElement(
        root,
        "ActiveParticipant",
        _attrs(
            UserID=event.structure_id or ANONYMOUS,
            UserName=event.software,
            UserIsRequestor="true",
            NetworkAccessPointID=address,
            NetworkAccessPointTypeCode=(("2" if _is_ip(address) else "1") if address else None),
        ),
    )
    _coded(participant, "RoleIDCode", role.coded)


def _this_server(root: etree._Element, event: AuditEvent, source: AuditSource, role: Role) -> None:
    path = ENDPOINT_PATHS.get(event.transaction, RECORDS_PATH)
    host = urlsplit(source.base_url).hostname or source.source_id
    participant = etree.SubElement(
        root,
        "ActiveParticipant",
        UserID=source.base_url.rstrip("/") + path,
        UserIsRequestor="false",
        NetworkAccessPointID=host,
        NetworkAccessPointTypeCode="2" if _is_ip(host) else "1",
    )
    _coded(participant, "RoleIDCode", role.coded)


def _participant_objects(root: etree._Element, event: AuditEvent, source: AuditSource) -> None:
    if event.patient_id:
        patient = _object(root, event.patient_id, type_code="1", role="1")
        _coded(patient, "ParticipantObjectIDTypeCode", PATIENT_NUMBER)
    if event.transaction in ("ITI-42", "ITI-57", "ITI-65", "ITI-105") and event.submission_set_id:
        submission = _object(root, event.submission_set_id, type_code="2", role="20")
        _coded(submission, "ParticipantObjectIDTypeCode", SUBMISSION_SET)
    if event.transaction in QUERY_TRANSACTIONS and event.query_id:
        query = _object(root, event.query_id, type_code="2", role="24")
        _coded(query, "ParticipantObjectIDTypeCode", QUERY_TYPES[event.transaction])
        if event.query:
            etree.SubElement(query, "ParticipantObjectQuery").text = _b64(event.query)
        _detail(query, "QueryEncoding", "UTF-8")
    if event.transaction in ("ITI-43", "ITI-62", "ITI-68", "ITI-86"):
        for unique_id in event.document_ids:
            document = _object(root, unique_id, type_code="2", role="3")
            _coded(document, "ParticipantObjectIDTypeCode", REPORT_NUMBER)
            if event.transaction in ("ITI-43", "ITI-68", "ITI-86") and source.repository_id:
                _detail(document, "Repository Unique Id", source.repository_id)


def _object(root: etree._Element, object_id: str, *, type_code: str, role: str) -> etree._Element:
    return etree.SubElement(
        root,
        "ParticipantObjectIdentification",
        ParticipantObjectID=object_id,
        ParticipantObjectTypeCode=type_code,
        ParticipantObjectTypeCodeRole=role,
    )


def _detail(parent: etree._Element, kind: str, value: str) -> None:
    etree.SubElement(parent, "ParticipantObjectDetail", type=kind, value=_b64(value))


def _coded(parent: etree._Element, name: str, code: Coded) -> None:
    attributes = {"csd-code": code.code, "codeSystemName": code.system, "originalText": code.text}
    etree.SubElement(parent, name, attributes)


def _role(text: str | None) -> Coded | None:
    """The XUA subject:role kept as code^display^system (the DMP's profession codes)."""
    code, _, rest = (text or "").partition("^")
    display, _, system = rest.partition("^")
    if not code or not system:
        return None
    return Coded(code, system, display or code)


def _user_name(event: AuditEvent) -> str | None:
    """The professional's name, with the kind of requester and how they authenticated."""
    extra = ", ".join(filter(None, [event.requester_kind, event.authentication_mode]))
    name = event.professional_name or ""
    return f"{name} ({extra})".strip() if extra else (name or None)


def _xml_safe(event: AuditEvent) -> AuditEvent:
    """The event with every text XML can carry: an error message may quote anything."""
    changes: dict[str, Any] = {
        f.name: NOT_XML.sub("", value)
        for f in dataclasses.fields(event)
        if isinstance(value := getattr(event, f.name), str) and NOT_XML.search(value)
    }
    if any(NOT_XML.search(d) for d in event.document_ids):
        changes["document_ids"] = tuple(NOT_XML.sub("", d) for d in event.document_ids)
    return dataclasses.replace(event, **changes) if changes else event


def _attrs(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def _datetime(when: datetime | None) -> str:
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


__all__ = ["AuditSource", "render_audit_message"]
