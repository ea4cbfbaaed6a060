"""The record-management vocabulary: our own small XML, served at `/xds/records`.

No IHE profile covers a patient's consent, authorisations and access history, so these
operations are the project's own (no WSDL is published for them; README "Consent, access
policy and audit"). Namespace `urn:xds-registry:records`; each SOAP action is
`urn:xds-registry:records:<Name>` and its body `rec:<Name>Request`::

    <rec:GrantRequest xmlns:rec="urn:xds-registry:records">
      <rec:PatientId>279035121518989^^^&amp;1.2.250.1.213.1.4.10&amp;ISO^NH</rec:PatientId>
      <rec:Grantee kind="professional">899700218896</rec:Grantee>   <!-- Grant, Revoke -->
      <rec:ExpiresAt>2030-01-01T00:00:00+00:00</rec:ExpiresAt>      <!-- Grant, optional -->
      <rec:Professional>810000000003</rec:Professional>              <!-- Block, Unblock -->
      <rec:Opposed>true</rec:Opposed>                                <!-- OpposeEmergencyAccess -->
      <rec:By>operator name</rec:By>          <!-- who acts, when no assertion says so -->
    </rec:GrantRequest>

Every operation answers `rec:RecordResponse status="Success|Failure"`, holding its
`rec:Error code=…` (LocalPolicyRestrictionError: the policy refused; RecordStateError: the
record is not in a state the operation applies to), the record as it now stands
(`rec:Record` with its `rec:Authorisation`s and `rec:Blocked` professionals) and, for
AccessHistory, the patient's `rec:Event`s. A malformed request is a Sender fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from lxml import etree

from registry.audit import AuditEvent, Outcome
from registry.records import Authorisation, GranteeKind, RecordState, RecordStatus

NS = "urn:xds-registry:records"
ACTION_PREFIX = f"{NS}:"


class RecordAction(StrEnum):
    """The operations served, by the name their SOAP action and body element carry."""

    OPEN = "OpenRecord"
    REOPEN = "ReopenRecord"
    CLOSE = "CloseRecord"
    GRANT = "Grant"
    REVOKE = "Revoke"
    BLOCK = "Block"
    UNBLOCK = "Unblock"
    OPPOSE_EMERGENCY_ACCESS = "OpposeEmergencyAccess"
    ACCESS_HISTORY = "AccessHistory"

    @property
    def soap_action(self) -> str:
        return ACTION_PREFIX + self.value


class RecordErrorCode(StrEnum):
    POLICY = "LocalPolicyRestrictionError"
    STATE = "RecordStateError"


class RecordRequestError(ValueError):
    """A request body that does not follow the vocabulary (a Sender fault on the wire)."""


def rec(name: str) -> str:
    return f"{{{NS}}}{name}"


@dataclass(frozen=True)
class RecordRequest:
    action: RecordAction
    patient_id: str
    grantee_id: str | None = None  # Grant, Revoke; the professional of Block, Unblock
    grantee_kind: GranteeKind = GranteeKind.PROFESSIONAL
    expires_at: datetime | None = None
    opposed: bool = True
    by: str | None = None


@dataclass(frozen=True)
class RecordAnswer:
    """What an operation answered: success or the error, the record, the history."""

    success: bool
    error_code: str | None = None
    error: str | None = None
    record: RecordState | None = None
    authorisations: tuple[Authorisation, ...] = ()
    events: tuple[AuditEvent, ...] = field(default=())


# --- requests ------------------------------------------------------------------------------

_NEEDS_GRANTEE = {RecordAction.GRANT, RecordAction.REVOKE}
_NEEDS_PROFESSIONAL = {RecordAction.BLOCK, RecordAction.UNBLOCK}


def patient_of_request(payload: etree._Element) -> str | None:
    """The patient a record request names (its assertion must name the same one)."""
    found = payload.findtext(rec("PatientId"))
    return found.strip() if found else None


def render_request(request: RecordRequest) -> etree._Element:
    root = etree.Element(rec(f"{request.action.value}Request"), nsmap={"rec": NS})
    etree.SubElement(root, rec("PatientId")).text = request.patient_id
    if request.action in _NEEDS_GRANTEE:
        grantee = etree.SubElement(root, rec("Grantee"), kind=request.grantee_kind.value)
        grantee.text = request.grantee_id
    if request.action in _NEEDS_PROFESSIONAL:
        etree.SubElement(root, rec("Professional")).text = request.grantee_id
    if request.action is RecordAction.GRANT and request.expires_at is not None:
        etree.SubElement(root, rec("ExpiresAt")).text = request.expires_at.isoformat()
    if request.action is RecordAction.OPPOSE_EMERGENCY_ACCESS:
        etree.SubElement(root, rec("Opposed")).text = "true" if request.opposed else "false"
    if request.by:
        etree.SubElement(root, rec("By")).text = request.by
    return root


def parse_request(payload: etree._Element, action: RecordAction) -> RecordRequest:
    """The request of `action`; RecordRequestError when the body does not fit."""
    expected = rec(f"{action.value}Request")
    if payload.tag != expected:
        raise RecordRequestError(f"the body of {action.soap_action} must be {expected}")
    patient = patient_of_request(payload)
    if not patient:
        raise RecordRequestError(f"{action.value}Request names no rec:PatientId")
    grantee_id, kind = None, GranteeKind.PROFESSIONAL
    if action in _NEEDS_GRANTEE:
        grantee = payload.find(rec("Grantee"))
        if grantee is None or not (grantee.text or "").strip():
            raise RecordRequestError(f"{action.value}Request names no rec:Grantee")
        grantee_id = (grantee.text or "").strip()
        try:
            kind = GranteeKind(grantee.get("kind", GranteeKind.PROFESSIONAL.value))
        except ValueError:
            raise RecordRequestError(
                f"rec:Grantee kind {grantee.get('kind')!r} is not professional or structure"
            ) from None
    if action in _NEEDS_PROFESSIONAL:
        grantee_id = (payload.findtext(rec("Professional")) or "").strip() or None
        if grantee_id is None:
            raise RecordRequestError(f"{action.value}Request names no rec:Professional")
    expires_at = None
    if action is RecordAction.GRANT and payload.findtext(rec("ExpiresAt")):
        expires_at = _datetime(payload.findtext(rec("ExpiresAt")) or "", "rec:ExpiresAt")
    opposed = True
    if action is RecordAction.OPPOSE_EMERGENCY_ACCESS:
        opposed = _boolean(payload.findtext(rec("Opposed")) or "true", "rec:Opposed")
    by = (payload.findtext(rec("By")) or "").strip() or None
    return RecordRequest(action, patient, grantee_id, kind, expires_at, opposed, by)


# --- answers -------------------------------------------------------------------------------


def render_answer(answer: RecordAnswer) -> etree._Element:
    root = etree.Element(
        rec("RecordResponse"),
        nsmap={"rec": NS},
        status="Success" if answer.success else "Failure",
    )
    if answer.error is not None:
        error = etree.SubElement(root, rec("Error"), code=answer.error_code or "")
        error.text = answer.error
    if answer.record is not None:
        state = answer.record
        record = etree.SubElement(
            root,
            rec("Record"),
            patientId=state.patient_id,
            status=state.status.value,
            emergencyOpposition=_text(state.emergency_opposition),
        )
        for granted in answer.authorisations:
            attributes = {
                "kind": granted.grantee_kind.value,
                "id": granted.grantee_id,
                "grantedBy": granted.granted_by,
                "grantedAt": granted.granted_at.isoformat(),
            }
            if granted.expires_at is not None:
                attributes["expiresAt"] = granted.expires_at.isoformat()
            etree.SubElement(record, rec("Authorisation"), attributes)
        for professional in sorted(state.blocked):
            etree.SubElement(record, rec("Blocked")).text = professional
    for event in answer.events:
        root.append(_render_event(event))
    return root


_EVENT_ATTRIBUTES = (
    ("transaction", "transaction"),
    ("requesterKind", "requester_kind"),
    ("professionalId", "professional_id"),
    ("professionalName", "professional_name"),
    ("structureId", "structure_id"),
    ("software", "software"),
    ("purposeOfUse", "purpose_of_use"),
    ("authenticationMode", "authentication_mode"),
)


def _render_event(event: AuditEvent) -> etree._Element:
    element = etree.Element(rec("Event"), outcome=event.outcome.value)
    for attribute, name in _EVENT_ATTRIBUTES:
        value = getattr(event, name)
        if value is not None:
            element.set(attribute, str(value))
    if event.occurred_at is not None:
        element.set("occurredAt", event.occurred_at.isoformat())
    element.set("emergency", _text(event.emergency))
    for unique_id in event.document_ids:
        etree.SubElement(element, rec("DocumentUniqueId")).text = unique_id
    if event.detail:
        etree.SubElement(element, rec("Detail")).text = event.detail
    return element


def parse_answer(payload: etree._Element) -> RecordAnswer:
    """A `rec:RecordResponse` read back (the client side); RecordRequestError if it is not one."""
    if payload.tag != rec("RecordResponse"):
        raise RecordRequestError(f"expected rec:RecordResponse, got {payload.tag}")
    error = payload.find(rec("Error"))
    record = payload.find(rec("Record"))
    state: RecordState | None = None
    granted: tuple[Authorisation, ...] = ()
    if record is not None:
        state = RecordState(
            patient_id=record.get("patientId", ""),
            status=RecordStatus(record.get("status", RecordStatus.NONE.value)),
            emergency_opposition=record.get("emergencyOpposition") == "true",
            blocked=frozenset(b.text or "" for b in record.iterfind(rec("Blocked"))),
        )
        granted = tuple(
            _parse_authorisation(state.patient_id, a) for a in record.iterfind(rec("Authorisation"))
        )
    return RecordAnswer(
        success=payload.get("status") == "Success",
        error_code=error.get("code") if error is not None else None,
        error=(error.text or "") if error is not None else None,
        record=state,
        authorisations=granted,
        events=tuple(_parse_event(e) for e in payload.iterfind(rec("Event"))),
    )


def _parse_authorisation(patient_id: str, element: etree._Element) -> Authorisation:
    expires = element.get("expiresAt")
    return Authorisation(
        patient_id=patient_id,
        grantee_kind=GranteeKind(element.get("kind", GranteeKind.PROFESSIONAL.value)),
        grantee_id=element.get("id", ""),
        granted_by=element.get("grantedBy", ""),
        granted_at=_datetime(element.get("grantedAt", ""), "grantedAt"),
        expires_at=_datetime(expires, "expiresAt") if expires else None,
    )


def _parse_event(element: etree._Element) -> AuditEvent:
    get = element.get
    when = get("occurredAt")
    return AuditEvent(
        transaction=get("transaction", ""),
        outcome=Outcome(get("outcome", Outcome.FAILURE.value)),
        document_ids=tuple(d.text or "" for d in element.iterfind(rec("DocumentUniqueId"))),
        requester_kind=get("requesterKind"),
        professional_id=get("professionalId"),
        professional_name=get("professionalName"),
        structure_id=get("structureId"),
        software=get("software"),
        purpose_of_use=get("purposeOfUse"),
        authentication_mode=get("authenticationMode"),
        emergency=get("emergency") == "true",
        detail=element.findtext(rec("Detail")),
        occurred_at=_datetime(when, "occurredAt") if when else None,
    )


def _datetime(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RecordRequestError(f"{where} {text!r} is not an ISO 8601 date-time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # naive: UTC


def _boolean(text: str, where: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise RecordRequestError(f"{where} {text!r} is not a boolean")
    return value in ("true", "1")


def _text(flag: bool) -> str:
    return "true" if flag else "false"


__all__ = [
    "NS",
    "RecordAction",
    "RecordAnswer",
    "RecordErrorCode",
    "RecordRequest",
    "RecordRequestError",
    "parse_answer",
    "parse_request",
    "patient_of_request",
    "render_answer",
    "render_request",
]
