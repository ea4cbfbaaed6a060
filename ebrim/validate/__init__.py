"""Metadata validation without the database: model in, list of XDSError out.

`validate` applies the generic IHE rules (ITI TF-3 4.2.3 and 4.3, TF-2b 3.41/3.42) and,
for `Profile.DMP`, the French national rules on top. It never raises for bad metadata
and does no I/O; what needs the registry's state (known patient, existing documents,
uniqueIds already registered) is the registry's job. Every finding comes from the
inventory in `ebrim.validate.messages.Rule`.
"""

from __future__ import annotations

from ebrim.errors import Transaction, XDSError
from ebrim.model import Metadata
from ebrim.profile import Profile
from ebrim.validate.associations import validate_associations
from ebrim.validate.context import Context
from ebrim.validate.dmp import validate_dmp
from ebrim.validate.documents import validate_document
from ebrim.validate.messages import Rule
from ebrim.validate.packages import validate_folder, validate_submission_set
from ebrim.validate.submission import validate_submission


def validate(
    metadata: Metadata,
    *,
    transaction: Transaction = Transaction.ITI_42,
    profile: Profile = Profile.GENERIC,
) -> list[XDSError]:
    """All errors and warnings of a submission's metadata; empty when it is valid.

    ITI-41 differs from ITI-42 in that hash, size and repositoryUniqueId may be absent (the
    repository computes them) and in its codes (XDSRepositoryMetadataError,
    XDSRepositoryDuplicateUniqueIdInMessage). For ITI-57 (XDSMetadataUpdateError) this is
    what an update shares with a submission; the Metadata Update rules proper are
    `ebrim.validate.update.validate_update`'s, which the registry runs on top.
    """
    ctx = Context(metadata=metadata, transaction=transaction, profile=profile)
    validate_submission(ctx)
    for submission_set in metadata.submission_sets:
        validate_submission_set(ctx, submission_set)
    for document in metadata.documents:
        validate_document(ctx, document)
    for folder in metadata.folders:
        validate_folder(ctx, folder)
    validate_associations(ctx)
    if profile is Profile.DMP:
        validate_dmp(ctx)
    return ctx.findings


__all__ = ["Rule", "validate"]
