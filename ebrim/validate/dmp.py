"""French DMP profile, checked on top of the generic rules (DESIGN.md §5, CI-SIS).

- patientId is an INS: ``<15-character NIR or NIA>^^^&<OID>&ISO^NH`` with the OIDs of the
  NIR (1.2.250.1.213.1.4.8), NIA (.9), test NIR (.10) and demonstration NIR (.11). The legacy
  INS-C (.2) is refused: since 2021 documents are fed under the qualified INS only. The NIR
  key is not recomputed: test identities of the ANS examples carry keys that do not verify,
  and the identity itself is the registry's business (XDSUnknownPatientId).
- confidentialityCode: exactly one HL7 code N, R or V and up to three masking flags.
- typeCode, healthcareFacilityTypeCode, practiceSettingCode, authorSpecialty and the
  referenceIdList id types come from the ANS value sets.
"""

from __future__ import annotations

import re
from collections import Counter

from ebrim import dmp_value_sets
from ebrim.hl7 import CX, HD
from ebrim.model import Code, DocumentEntry, Folder, RegistryObject, SubmissionSet
from ebrim.validate.context import Context
from ebrim.validate.formats import oid_problem
from ebrim.validate.messages import Rule

INS_AUTHORITIES = {
    "1.2.250.1.213.1.4.8": "NIR",
    "1.2.250.1.213.1.4.9": "NIA",
    "1.2.250.1.213.1.4.10": "test NIR",
    "1.2.250.1.213.1.4.11": "demonstration NIR",
}
LEGACY_INS_C = "1.2.250.1.213.1.4.2"
INS_TYPE_CODE = "NH"
# sex, year, month (5 digits), department (2 digits, or 2A/2B for Corsica), then 8 digits.
_NIR = re.compile(r"[0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{8}")

HL7_CONFIDENTIALITY = "2.16.840.1.113883.5.25"
HL7_CONFIDENTIALITY_CODES = frozenset({"N", "R", "V"})
MASKING_FLAGS_SYSTEM = "1.2.250.1.213.1.1.4.13"
MASKING_FLAGS = frozenset({"MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"})

_DOCUMENT_VALUE_SETS = (
    ("typeCode", "type_code", dmp_value_sets.TYPE_CODE, "JDV_J07_XdsTypeCode_CISIS"),
    (
        "healthcareFacilityTypeCode",
        "healthcare_facility_type_code",
        dmp_value_sets.HEALTHCARE_FACILITY_TYPE_CODE,
        "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS",
    ),
    (
        "practiceSettingCode",
        "practice_setting_code",
        dmp_value_sets.PRACTICE_SETTING_CODE,
        "JDV_J04_XdsPracticeSettingCode_CISIS",
    ),
)
_REFERENCE_ID_TYPES = frozenset(code for code, _ in dmp_value_sets.REFERENCE_ID_TYPE)


def validate_dmp(ctx: Context) -> None:
    """The DMP rules for every object of the submission."""
    _check_patient_ids(ctx)
    for doc in ctx.metadata.documents:
        _check_confidentiality(ctx, doc)
        for attribute, field_name, value_set, name in _DOCUMENT_VALUE_SETS:
            code = getattr(doc, field_name)
            if code is not None:
                _check_in_value_set(ctx, doc, attribute, code, value_set, name)
        for reference in doc.reference_ids:
            id_type = CX.parse(reference).identifier_type_code
            if id_type and id_type not in _REFERENCE_ID_TYPES:
                ctx.report(
                    Rule.DMP_NOT_IN_VALUE_SET,
                    doc,
                    attribute="referenceIdList type",
                    code=id_type,
                    scheme="1.2.250.1.213.1.1.4.347",
                    value_set="JDV_J231_XdsTypesIdentifiantsReferenceId_DMP",
                )
    authored: list[SubmissionSet | DocumentEntry] = [
        *ctx.metadata.submission_sets,
        *ctx.metadata.documents,
    ]
    for obj in authored:
        for author in obj.authors:
            for specialty in author.specialties:
                _check_author_specialty(ctx, obj, specialty)


def ins_problem(value: str) -> str | None:
    """Why `value` is not an INS patient id, or None."""
    cx = CX.parse(value)
    authority = cx.assigning_authority.universal_id
    if authority == LEGACY_INS_C:
        return f"the legacy INS-C ({LEGACY_INS_C}) is no longer accepted"
    if authority not in INS_AUTHORITIES:
        known = ", ".join(INS_AUTHORITIES)
        return f"assigning authority {authority!r} is not one of {known}"
    if cx.assigning_authority != HD("", authority, "ISO"):
        return "the assigning authority must be written &OID&ISO"
    if not _NIR.fullmatch(cx.id_number):
        return f"{cx.id_number!r} is not a 15-character {INS_AUTHORITIES[authority]}"
    if cx.identifier_type_code != INS_TYPE_CODE:
        return f"identifier type code (CX.5) is {cx.identifier_type_code!r}, not NH"
    if cx.other_components:
        return "only CX.1, CX.4 and CX.5 may be valued"
    return None


def _check_patient_ids(ctx: Context) -> None:
    # Each distinct value once: a mismatch between objects is its own rule.
    seen: set[str] = set()
    patients: list[SubmissionSet | DocumentEntry | Folder] = [
        *ctx.metadata.submission_sets,
        *ctx.metadata.documents,
        *ctx.metadata.folders,
    ]
    for obj in patients:
        value = obj.patient_id
        if not value or value in seen:
            continue
        seen.add(value)
        reason = ins_problem(value)
        if reason:
            ctx.report(Rule.DMP_PATIENT_ID, obj, value=value, reason=reason)


def _check_confidentiality(ctx: Context, doc: DocumentEntry) -> None:
    if not doc.confidentiality_codes:
        return  # reported as a missing attribute
    levels = 0
    flags: Counter[str] = Counter()
    for code in doc.confidentiality_codes:
        if code.scheme == HL7_CONFIDENTIALITY and code.code in HL7_CONFIDENTIALITY_CODES:
            levels += 1
        elif code.scheme == MASKING_FLAGS_SYSTEM and code.code in MASKING_FLAGS:
            flags[code.code] += 1
        else:
            ctx.report(
                Rule.DMP_CONFIDENTIALITY,
                doc,
                reason=f"{code.code}^^{code.scheme} is neither N/R/V nor a masking flag",
            )
    if levels != 1:
        ctx.report(
            Rule.DMP_CONFIDENTIALITY,
            doc,
            reason=f"holds {levels} of N, R, V ({HL7_CONFIDENTIALITY}); exactly one is required",
        )
    for flag, count in sorted(flags.items()):
        if count > 1:
            ctx.report(Rule.DMP_CONFIDENTIALITY, doc, reason=f"repeats the masking flag {flag}")


def _check_in_value_set(
    ctx: Context,
    obj: RegistryObject,
    attribute: str,
    code: Code,
    value_set: frozenset[tuple[str, str]],
    name: str,
) -> None:
    if not code.code or not code.scheme:
        return  # an incomplete code is reported by the generic rules
    if (code.code, code.scheme) not in value_set:
        ctx.report(
            Rule.DMP_NOT_IN_VALUE_SET,
            obj,
            attribute=attribute,
            code=code.code,
            scheme=code.scheme,
            value_set=name,
        )


def _check_author_specialty(ctx: Context, obj: RegistryObject, specialty: str) -> None:
    # CI-SIS writes authorSpecialty as code^display^codeSystemOID; some senders write the
    # system as an HD (&OID&ISO), which is read the same way.
    parts = specialty.split("^")
    code = parts[0]
    system = parts[2] if len(parts) > 2 else ""
    if "&" in system:
        system = HD.parse(system).universal_id
    if len(parts) != 3 or not code or oid_problem(system):
        ctx.report(Rule.DMP_AUTHOR_SPECIALTY_FORMAT, obj, value=specialty)
        return
    _check_in_value_set(
        ctx,
        obj,
        "authorSpecialty",
        Code(code, system, parts[1]),
        dmp_value_sets.AUTHOR_SPECIALTY,
        "JDV_J01_XdsAuthorSpecialty_CISIS",
    )
