"""SubmissionSet and Folder rules: required attributes (TF-3 Table 4.3.1-3) and value formats."""

from __future__ import annotations

from ebrim.model import Folder, SubmissionSet
from ebrim.validate.attributes import (
    check_authors,
    check_codes,
    check_limited_metadata,
    check_oid,
    check_patient_id,
    check_time,
    require,
)
from ebrim.validate.context import Context


def validate_submission_set(ctx: Context, submission_set: SubmissionSet) -> None:
    """Every rule about the SubmissionSet taken alone.

    Authors are R2 for an XDS Document Source (required if known), so none is not an error;
    intendedRecipient is optional in XDS (it is the XDR/XDM alternative to an author).
    """
    check_limited_metadata(ctx, submission_set)
    for attribute, value in (
        ("contentTypeCode", submission_set.content_type_code),
        ("sourceId", submission_set.source_id),
        ("submissionTime", submission_set.submission_time),
        ("uniqueId", submission_set.unique_id),
    ):
        require(ctx, submission_set, attribute, value)
    check_patient_id(ctx, submission_set, submission_set.patient_id)
    check_codes(ctx, submission_set, "contentTypeCode", [submission_set.content_type_code])
    check_authors(ctx, submission_set, submission_set.authors)
    check_time(ctx, submission_set, "submissionTime", submission_set.submission_time or None)
    check_oid(ctx, submission_set, "uniqueId", submission_set.unique_id or None)
    check_oid(ctx, submission_set, "sourceId", submission_set.source_id or None)


def validate_folder(ctx: Context, folder: Folder) -> None:
    """Every rule about one Folder taken alone (title is R; lastUpdateTime is the registry's)."""
    check_limited_metadata(ctx, folder)
    require(ctx, folder, "codeList", folder.codes)
    require(ctx, folder, "title", folder.title.value if folder.title else None)
    require(ctx, folder, "uniqueId", folder.unique_id)
    check_patient_id(ctx, folder, folder.patient_id)
    check_codes(ctx, folder, "codeList", folder.codes)
    check_oid(ctx, folder, "uniqueId", folder.unique_id or None)
