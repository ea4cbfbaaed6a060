"""DocumentEntry rules: required attributes (TF-3 Table 4.3.1-3) and value formats."""

from __future__ import annotations

from ebrim.model import DocumentEntry
from ebrim.validate.attributes import (
    check_authors,
    check_codes,
    check_cx,
    check_limited_metadata,
    check_oid,
    check_patient_id,
    check_time,
    check_xcn,
    present,
    require,
)
from ebrim.validate.context import Context
from ebrim.validate.formats import (
    document_unique_id_problem,
    dtm_not_after,
    dtm_problem,
    is_hash,
    is_language_code,
    is_mime_type,
    is_size,
)
from ebrim.validate.hl7_formats import (
    cxi_problem,
    source_patient_info_problem,
)
from ebrim.validate.messages import Rule
from ebrim.vocabulary import DOCUMENT_ENTRY_TYPES

# Attributes that an On-Demand DocumentEntry does not have (TF-3 Table 4.3.1-3, column XDS OD:
# they only make sense once a stable document exists).
_ON_DEMAND_PROHIBITED = (
    ("creationTime", "creation_time"),
    ("hash", "hash"),
    ("size", "size"),
    ("legalAuthenticator", "legal_authenticator"),
    ("serviceStartTime", "service_start_time"),
    ("serviceStopTime", "service_stop_time"),
)


def validate_document(ctx: Context, doc: DocumentEntry) -> None:
    """Every rule about one DocumentEntry taken alone."""
    check_limited_metadata(ctx, doc)
    if doc.object_type not in {t.value for t in DOCUMENT_ENTRY_TYPES}:
        ctx.report(Rule.UNKNOWN_OBJECT_TYPE, doc, value=doc.object_type)
    _check_required(ctx, doc)
    _check_on_demand(ctx, doc)
    _check_values(ctx, doc)


def _check_required(ctx: Context, doc: DocumentEntry) -> None:
    for attribute, value in (
        ("classCode", doc.class_code),
        ("confidentialityCode", doc.confidentiality_codes),
        ("formatCode", doc.format_code),
        ("healthcareFacilityTypeCode", doc.healthcare_facility_type_code),
        ("practiceSettingCode", doc.practice_setting_code),
        ("typeCode", doc.type_code),
        ("languageCode", doc.language_code),
        ("mimeType", doc.mime_type),
        ("sourcePatientId", doc.source_patient_id),
        ("uniqueId", doc.unique_id),
    ):
        require(ctx, doc, attribute, value)
    check_patient_id(ctx, doc, doc.patient_id)
    if doc.is_on_demand:
        require(ctx, doc, "repositoryUniqueId", doc.repository_unique_id)
        return
    require(ctx, doc, "creationTime", doc.creation_time)
    # ITI-41: the repository computes hash and size and adds its repositoryUniqueId
    # (TF-2b 3.41.4.1.3.2); any other transaction registers them as given.
    if not ctx.is_provide_and_register:
        require(ctx, doc, "hash", doc.hash)
        require(ctx, doc, "size", doc.size)
        require(ctx, doc, "repositoryUniqueId", doc.repository_unique_id)


def _check_on_demand(ctx: Context, doc: DocumentEntry) -> None:
    if not doc.is_on_demand:
        return
    for attribute, field_name in _ON_DEMAND_PROHIBITED:
        if present(getattr(doc, field_name)):
            ctx.report(Rule.ON_DEMAND_PROHIBITED, doc, attribute=attribute)


def _check_values(ctx: Context, doc: DocumentEntry) -> None:
    check_codes(ctx, doc, "classCode", [doc.class_code])
    check_codes(ctx, doc, "confidentialityCode", doc.confidentiality_codes)
    check_codes(ctx, doc, "eventCodeList", doc.event_codes)
    check_codes(ctx, doc, "formatCode", [doc.format_code])
    check_codes(ctx, doc, "healthcareFacilityTypeCode", [doc.healthcare_facility_type_code])
    check_codes(ctx, doc, "practiceSettingCode", [doc.practice_setting_code])
    check_codes(ctx, doc, "typeCode", [doc.type_code])
    check_authors(ctx, doc, doc.authors)
    for attribute, value in (
        ("creationTime", doc.creation_time),
        ("serviceStartTime", doc.service_start_time),
        ("serviceStopTime", doc.service_stop_time),
    ):
        check_time(ctx, doc, attribute, value or None)
    _check_service_times(ctx, doc)
    if doc.unique_id:
        reason = document_unique_id_problem(doc.unique_id)
        if reason:
            ctx.report(Rule.INVALID_DOCUMENT_UNIQUE_ID, doc, value=doc.unique_id, reason=reason)
    check_oid(ctx, doc, "repositoryUniqueId", doc.repository_unique_id or None)
    if doc.hash and not is_hash(doc.hash):
        ctx.report(Rule.INVALID_HASH, doc, value=doc.hash)
    if doc.size and not is_size(doc.size):
        ctx.report(Rule.INVALID_SIZE, doc, value=doc.size)
    if doc.mime_type and not is_mime_type(doc.mime_type):
        ctx.report(Rule.INVALID_MIME_TYPE, doc, value=doc.mime_type)
    if doc.language_code and not is_language_code(doc.language_code):
        ctx.report(Rule.INVALID_LANGUAGE_CODE, doc, value=doc.language_code)
    check_cx(ctx, doc, "sourcePatientId", doc.source_patient_id or None)
    check_xcn(ctx, doc, "legalAuthenticator", doc.legal_authenticator)
    for line in doc.source_patient_info:
        reason = source_patient_info_problem(line)
        if reason:
            ctx.report(Rule.INVALID_SOURCE_PATIENT_INFO, doc, value=line, reason=reason)
    for reference in doc.reference_ids:
        reason = cxi_problem(reference)
        if reason:
            ctx.report(Rule.INVALID_REFERENCE_ID, doc, value=reference, reason=reason)


def _check_service_times(ctx: Context, doc: DocumentEntry) -> None:
    start, stop = doc.service_start_time, doc.service_stop_time
    if not (start and stop) or dtm_problem(start) or dtm_problem(stop):
        return
    if not dtm_not_after(start, stop):
        ctx.report(Rule.SERVICE_TIMES_REVERSED, doc, start=start, stop=stop)
