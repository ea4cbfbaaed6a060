"""Checks shared by the object validators: presence, codes, times, ids, authors."""

from __future__ import annotations

from collections.abc import Iterable

from ebrim.model import Author, Code, RegistryObject
from ebrim.validate.context import Context
from ebrim.validate.formats import dtm_problem, oid_problem
from ebrim.validate.hl7_formats import cx_problem, xcn_problem, xon_problem, xtn_problem
from ebrim.validate.messages import Rule


def present(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, tuple):
        return bool(value)
    return value is not None


def require(ctx: Context, obj: RegistryObject, attribute: str, value: object) -> bool:
    """Report `attribute` missing unless it has a value; True when present."""
    if present(value):
        return True
    ctx.report(Rule.MISSING_ATTRIBUTE, obj, attribute=attribute)
    return False


def check_code(ctx: Context, obj: RegistryObject, attribute: str, code: Code) -> None:
    """A coded value has its code, its coding scheme and its display name (TF-3 4.2.3.1.7)."""
    missing = [
        part
        for part, value in (
            ("code", code.code),
            ("codingScheme", code.scheme),
            ("display name", code.display_name),
        )
        if not present(value)
    ]
    if missing:
        shown = f"{code.code}^{code.display_name or ''}^{code.scheme}"
        ctx.report(
            Rule.INCOMPLETE_CODE, obj, attribute=attribute, value=shown, parts=" and ".join(missing)
        )


def check_codes(
    ctx: Context, obj: RegistryObject, attribute: str, codes: Iterable[Code | None]
) -> None:
    for code in codes:
        if code is not None:
            check_code(ctx, obj, attribute, code)


def check_time(ctx: Context, obj: RegistryObject, attribute: str, value: str | None) -> None:
    if value is None:
        return
    reason = dtm_problem(value)
    if reason:
        ctx.report(Rule.INVALID_TIME, obj, attribute=attribute, value=value, reason=reason)


def check_oid(ctx: Context, obj: RegistryObject, attribute: str, value: str | None) -> None:
    if value is None:
        return
    reason = oid_problem(value)
    if reason:
        ctx.report(Rule.INVALID_OID, obj, attribute=attribute, value=value, reason=reason)


def check_cx(ctx: Context, obj: RegistryObject, attribute: str, value: str | None) -> None:
    if value is None:
        return
    reason = cx_problem(value)
    if reason:
        ctx.report(Rule.INVALID_CX, obj, attribute=attribute, value=value, reason=reason)


def check_xcn(ctx: Context, obj: RegistryObject, attribute: str, value: str | None) -> None:
    if not value:
        return
    reason = xcn_problem(value)
    if reason:
        ctx.report(Rule.INVALID_XCN, obj, attribute=attribute, value=value, reason=reason)


def check_patient_id(ctx: Context, obj: RegistryObject, value: str | None) -> None:
    """patientId syntax, checked once: on the SubmissionSet, or where it differs from it."""
    if not require(ctx, obj, "patientId", value):
        return
    submission_set = ctx.submission_set
    if submission_set not in (None, obj) and value == submission_set.patient_id:
        return
    check_cx(ctx, obj, "patientId", value)


def check_authors(ctx: Context, obj: RegistryObject, authors: Iterable[Author]) -> None:
    """Each author names someone, and each of its HL7 values is well-formed (TF-3 4.2.3.1.4)."""
    for author in authors:
        if not (present(author.person) or author.institutions or author.telecoms):
            ctx.report(Rule.EMPTY_AUTHOR, obj)
        check_xcn(ctx, obj, "authorPerson", author.person)
        for institution in author.institutions:
            reason = xon_problem(institution)
            if reason:
                ctx.report(
                    Rule.INVALID_XON,
                    obj,
                    attribute="authorInstitution",
                    value=institution,
                    reason=reason,
                )
        for telecom in author.telecoms:
            reason = xtn_problem(telecom)
            if reason:
                ctx.report(
                    Rule.INVALID_XTN,
                    obj,
                    attribute="authorTelecommunication",
                    value=telecom,
                    reason=reason,
                )


def check_limited_metadata(ctx: Context, obj: RegistryObject) -> None:
    # TF-3 Table 4.3.1-3: limitedMetadata is X (prohibited) for XDS Document Sources and
    # Repositories; only XDR/XDM senders may flag it.
    if getattr(obj, "limited_metadata", False):
        ctx.report(Rule.LIMITED_METADATA, obj)
