"""ITI-8 Patient Identity Feed (ITI TF-2a 3.8): one ADT message in, one ACK out.

A01/A04/A05 create the patient (or refresh its demographics), A08 updates a known one,
A40 merges MRG-1 into PID-3. Outcomes (HL7 tables 0008 and 0357):

- AA: applied.
- AR: not for us: no readable MSH, not ADT, an event other than the five above, not HL7
  v2, unparseable, or the registry failed (the sender may retry).
- AE: understood but not applicable: no PID/MRG segment, no PID-3 / MRG-1 identifier in
  the affinity domain (101 when the field is empty, 204 otherwise), A08 of an unknown
  patient or A40 into an unknown surviving patient (204).

Only control ids, events, patient ids and outcomes are logged, never demographics.
"""

from __future__ import annotations

import logging

import hl7
from sqlalchemy.exc import SQLAlchemyError

from registry.feed.ack import AckCode, ErrorCode, FeedError, build_ack
from registry.feed.header import Header, decode, read_header, segments
from registry.feed.identity import demographics, domain_patient_id, repetitions, value
from registry.patients import PatientError, Patients
from registry.settings import RegistrySettings

log = logging.getLogger(__name__)
# A patient id is stored as a CX of at most 256 characters (registry.schema.PID).
MAX_PATIENT_ID = 256

CREATE_EVENTS = frozenset({"A01", "A04", "A05"})
UPDATE_EVENT = "A08"
MERGE_EVENT = "A40"
SUPPORTED_EVENTS = CREATE_EVENTS | {UPDATE_EVENT, MERGE_EVENT}


def handle_message(patients: Patients, raw: str | bytes, settings: RegistrySettings) -> str:
    """Apply one ITI-8 message to `patients`; the HL7 ACK text to send back. Never raises."""
    text = decode(raw)[0] if isinstance(raw, bytes) else raw
    header = read_header(text)
    error: FeedError | None
    if header is None:
        log.warning("ITI-8 message without a readable MSH: AR")
        error = FeedError(ErrorCode.SEGMENT_SEQUENCE, "message must start with an MSH segment")
        return build_ack(None, AckCode.REJECT, error)
    try:
        code, error, event = _process(patients, text, header, settings)
    except Exception:  # a bug must not stop the feed: reject (the sender retries) and say why
        log.exception("ITI-8 control id %r: internal error", header.control_id)
        code, event = AckCode.REJECT, ""
        error = FeedError(ErrorCode.INTERNAL_ERROR, "internal error")
    log.info(
        "ITI-8 %s control id %r: %s%s",
        event or "?",
        header.control_id,
        code.value,
        f" ({error.code.value})" if error else "",
    )
    return build_ack(header, code, error, event=event)


def _process(
    patients: Patients, text: str, header: Header, settings: RegistrySettings
) -> tuple[AckCode, FeedError | None, str]:
    """(ack code, error, event) for one message whose MSH was readable."""
    error: FeedError | None
    try:
        message = hl7.parse("\r".join(segments(text)))
    except (hl7.HL7Exception, IndexError, ValueError) as exc:
        log.warning("ITI-8 control id %r unparseable: %s", header.control_id, type(exc).__name__)
        return AckCode.REJECT, FeedError(ErrorCode.DATA_TYPE, "message cannot be parsed"), ""
    message_type, event = value(message, "MSH", 9), value(message, "MSH", 9, 1, 2)
    event = (event or value(message, "EVN", 1)).upper()
    if not header.version.startswith("2."):
        error = FeedError(ErrorCode.UNSUPPORTED_VERSION, "HL7 v2 expected", "MSH", 12)
        return AckCode.REJECT, error, event
    if message_type.upper() != "ADT":
        error = FeedError(ErrorCode.UNSUPPORTED_MESSAGE_TYPE, "ADT expected", "MSH", 9)
        return AckCode.REJECT, error, event
    if event not in SUPPORTED_EVENTS:
        text = "events A01, A04, A05, A08 and A40 are supported"
        return AckCode.REJECT, FeedError(ErrorCode.UNSUPPORTED_EVENT, text, "MSH", 9), event
    apply = _merge if event == MERGE_EVENT else _feed
    try:
        error = apply(patients, message, event, settings.patient_id_domains)
    except SQLAlchemyError as exc:
        # The exception text may quote demographics (SQL parameters): log its type only.
        log.error("ITI-8 control id %r: storage failed: %s", header.control_id, type(exc).__name__)
        error = FeedError(ErrorCode.INTERNAL_ERROR, "registry storage unavailable")
        return AckCode.REJECT, error, event
    return (AckCode.ACCEPT if error is None else AckCode.ERROR), error, event


def _feed(
    patients: Patients, message: hl7.Message, event: str, domains: tuple[str, ...]
) -> FeedError | None:
    """A01/A04/A05 (create or refresh) and A08 (update a known patient)."""
    if repetitions(message, "PID", 3) == 0:
        return _missing(message, "PID", 3)
    patient_id = domain_patient_id(message, "PID", 3, domains)
    if patient_id is None:
        return _not_in_domain("PID", 3)
    if len(patient_id) > MAX_PATIENT_ID:
        return _too_long("PID", 3, patient_id)
    if event == UPDATE_EVENT:
        try:
            patients.update(patient_id, demographics(message))
        except PatientError:
            return FeedError(ErrorCode.UNKNOWN_KEY, "A08 for an unknown patient", "PID", 3)
        log.info("ITI-8 A08 updated patient %s", patient_id)
        return None
    created = patients.feed(patient_id, demographics(message))
    log.info("ITI-8 %s %s patient %s", event, "created" if created else "refreshed", patient_id)
    return None


def _merge(
    patients: Patients, message: hl7.Message, event: str, domains: tuple[str, ...]
) -> FeedError | None:
    """A40: each PID/MRG pair merges MRG-1 (the merged id) into PID-3 (the survivor)."""
    pairs = _count(message, "MRG")
    if pairs == 0:
        return FeedError(ErrorCode.SEGMENT_SEQUENCE, "A40 without an MRG segment", "MRG")
    if pairs != _count(message, "PID"):
        return FeedError(ErrorCode.SEGMENT_SEQUENCE, "each MRG must follow a PID", "MRG")
    for pair in range(1, pairs + 1):
        error = _merge_pair(patients, message, pair, domains)
        if error is not None:
            return error
    return None


def _merge_pair(
    patients: Patients, message: hl7.Message, pair: int, domains: tuple[str, ...]
) -> FeedError | None:
    ids: list[str] = []
    for segment, field in (("PID", 3), ("MRG", 1)):
        if repetitions(message, segment, field, occurrence=pair) == 0:
            return _missing(message, segment, field)
        found = domain_patient_id(message, segment, field, domains, occurrence=pair)
        if found is None:
            return _not_in_domain(segment, field)
        if len(found) > MAX_PATIENT_ID:
            return _too_long(segment, field, found)
        ids.append(found)
    surviving, merged = ids
    if merged == surviving:
        return FeedError(ErrorCode.DUPLICATE_KEY, "MRG-1 equals PID-3", "MRG", 1)
    try:
        patients.merge(merged, surviving)
    except PatientError:
        return FeedError(
            ErrorCode.UNKNOWN_KEY, "surviving patient is unknown or was merged", "PID", 3
        )
    log.info("ITI-8 A40 merged patient %s into %s", merged, surviving)
    return None


def _count(message: hl7.Message, segment: str) -> int:
    try:
        return len(message.segments(segment))
    except KeyError:
        return 0


def _missing(message: hl7.Message, segment: str, field: int) -> FeedError:
    if _count(message, segment) == 0:
        return FeedError(ErrorCode.SEGMENT_SEQUENCE, f"{segment} segment missing", segment)
    return FeedError(
        ErrorCode.REQUIRED_FIELD_MISSING, f"{segment}-{field} is empty", segment, field
    )


def _too_long(segment: str, field: int, patient_id: str) -> FeedError:
    text = f"{segment}-{field} of {len(patient_id)} characters: at most {MAX_PATIENT_ID}"
    return FeedError(ErrorCode.DATA_TYPE, text, segment, field)


def _not_in_domain(segment: str, field: int) -> FeedError:
    text = f"no {segment}-{field} identifier issued by the affinity domain"
    return FeedError(ErrorCode.UNKNOWN_KEY, text, segment, field)
