"""The coded values of the DICOM audit messages this server sends, as data.

Each transaction the registry audits maps to its EventID, EventActionCode and EventTypeCode
as IHE ITI TF-2 gives them for the actor that receives the request (registry, or repository
for ITI-43). The record-management operations of our own (`/xds/records`) are DICOM
"Patient Record" events, typed by a code system of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Coded:
    """A DICOM CodedValueType: csd-code, codeSystemName, originalText."""

    code: str
    system: str
    text: str


class Role(StrEnum):
    """Which side of the exchange this server is: ActiveParticipant RoleIDCode."""

    SOURCE = "110153"
    DESTINATION = "110152"

    @property
    def coded(self) -> Coded:
        name = "Source Role ID" if self is Role.SOURCE else "Destination Role ID"
        return Coded(self.value, "DCM", name)


@dataclass(frozen=True)
class EventKind:
    event_id: Coded
    action: str  # C R U D E
    event_type: Coded
    server_role: Role  # this server's role; the requester takes the other one


IMPORT = Coded("110107", "DCM", "Import")
EXPORT = Coded("110106", "DCM", "Export")
QUERY = Coded("110112", "DCM", "Query")
PATIENT_RECORD = Coded("110110", "DCM", "Patient Record")


def _iti(number: str, name: str) -> Coded:
    return Coded(f"ITI-{number}", "IHE Transactions", name)


EVENT_KINDS: dict[str, EventKind] = {
    "ITI-41": EventKind(
        IMPORT, "C", _iti("41", "Provide and Register Document Set-b"), Role.DESTINATION
    ),
    "ITI-42": EventKind(IMPORT, "C", _iti("42", "Register Document Set-b"), Role.DESTINATION),
    "ITI-18": EventKind(QUERY, "E", _iti("18", "Registry Stored Query"), Role.DESTINATION),
    "ITI-43": EventKind(EXPORT, "R", _iti("43", "Retrieve Document Set"), Role.SOURCE),
    "ITI-57": EventKind(PATIENT_RECORD, "U", _iti("57", "Update Document Set"), Role.DESTINATION),
    "ITI-62": EventKind(PATIENT_RECORD, "D", _iti("62", "Delete Document Set"), Role.DESTINATION),
    "ITI-86": EventKind(PATIENT_RECORD, "D", _iti("86", "Remove Documents"), Role.DESTINATION),
    # MHD (ITI TF-1 33.5 and the audit message tables of ITI-66/67/68, Document Responder)
    "ITI-66": EventKind(QUERY, "E", _iti("66", "Find Document Lists"), Role.DESTINATION),
    "ITI-67": EventKind(QUERY, "E", _iti("67", "Find Document References"), Role.DESTINATION),
    "ITI-68": EventKind(EXPORT, "R", _iti("68", "Retrieve Document"), Role.SOURCE),
    "ITI-65": EventKind(IMPORT, "C", _iti("65", "Provide Document Bundle"), Role.DESTINATION),
    "ITI-105": EventKind(IMPORT, "C", _iti("105", "Simplified Publish"), Role.DESTINATION),
}
QUERY_TRANSACTIONS = ("ITI-18", "ITI-66", "ITI-67")

RECORDS_PREFIX = "records:"  # the transaction names of `soap.records_operations`
RECORDS_SYSTEM = "urn:xds-registry:records"
RECORD_ACTIONS = {
    "OpenRecord": "C",
    "ReopenRecord": "U",
    "CloseRecord": "U",
    "Grant": "U",
    "Revoke": "U",
    "Block": "U",
    "Unblock": "U",
    "OpposeEmergencyAccess": "U",
    "AccessHistory": "R",
    "RecordStatus": "R",  # the DMP's existence check (MHD: Patient?identifier=)
}


CONSOLE_PREFIX = "console:"  # what an operator saw in the web console (`web.console`)
CONSOLE_SYSTEM = "urn:xds-registry:console"
CONSOLE_ACTIONS = {"ViewMessage": "R", "DownloadMessage": "R", "ViewDocument": "R"}


def event_kind(transaction: str) -> EventKind:
    """The coded description of an audited transaction; ValueError for an unknown one."""
    kind = EVENT_KINDS.get(transaction)
    if kind is not None:
        return kind
    operation = transaction.removeprefix(RECORDS_PREFIX)
    if transaction.startswith(RECORDS_PREFIX) and operation in RECORD_ACTIONS:
        event_type = Coded(operation, RECORDS_SYSTEM, f"Record management: {operation}")
        return EventKind(PATIENT_RECORD, RECORD_ACTIONS[operation], event_type, Role.DESTINATION)
    seen = transaction.removeprefix(CONSOLE_PREFIX)
    if transaction.startswith(CONSOLE_PREFIX) and seen in CONSOLE_ACTIONS:
        event_type = Coded(seen, CONSOLE_SYSTEM, f"Console: {seen}")
        return EventKind(PATIENT_RECORD, CONSOLE_ACTIONS[seen], event_type, Role.SOURCE)
    raise ValueError(f"no DICOM audit event is defined for transaction {transaction!r}")


# ParticipantObjectIDTypeCode values (RFC 3881 / DICOM, and the IHE XDS metadata ones).
PATIENT_NUMBER = Coded("2", "RFC-3881", "Patient Number")
REPORT_NUMBER = Coded("9", "RFC-3881", "Report Number")
SUBMISSION_SET = Coded(
    "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd",
    "IHE XDS Metadata",
    "submission set classificationNode",
)
STORED_QUERY = _iti("18", "Registry Stored Query")
QUERY_TYPES = {  # ParticipantObjectIDTypeCode of the query object, per transaction
    "ITI-18": STORED_QUERY,
    "ITI-66": _iti("66", "Find Document Lists"),
    "ITI-67": _iti("67", "Find Document References"),
}

# AuditSourceTypeCode 4: an application server process.
APPLICATION_SERVER = Coded("4", "DCM", "Application Server Process")

# The DMP's purposes of use (VIHF urn:oasis:names:tc:xspa:1.0:subject:purposeofuse).
PURPOSE_OF_USE_SYSTEM = "1.2.250.1.213.1.1.4.248"
PURPOSES_OF_USE = {
    "normal": "Accès normal",
    "bris_de_glace": "Accès en urgence (bris de glace)",
    "centre_15": "Accès par le centre 15 (régulation)",
}

# EventOutcomeIndicator: 0 success, 8 serious failure (the request was refused or failed).
SUCCESS = "0"
SERIOUS_FAILURE = "8"

__all__ = [
    "APPLICATION_SERVER",
    "EVENT_KINDS",
    "PATIENT_NUMBER",
    "PURPOSES_OF_USE",
    "PURPOSE_OF_USE_SYSTEM",
    "QUERY_TRANSACTIONS",
    "QUERY_TYPES",
    "REPORT_NUMBER",
    "SERIOUS_FAILURE",
    "STORED_QUERY",
    "SUBMISSION_SET",
    "SUCCESS",
    "Coded",
    "EventKind",
    "Role",
    "event_kind",
]
