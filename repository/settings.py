"""The repository's settings: one typed object, passed down (never read from globals)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ebrim.profile import Profile
from ebrim.validate.formats import oid_problem
from ebrim.vocabulary import Severity

DEFAULT_CDA_MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class RepositorySettings:
    """What a Document Repository needs to know; the CLI builds it from its options.

    `repository_unique_id` is this repository's OID, put on every DocumentEntry it stores and
    required in every ITI-43 DocumentRequest; `data_folder` is the root of its document store.
    `cda_mismatch` is what a difference between submitted metadata and a CDA document's
    header is (ITI-41): an error or a warning; None means an error in the DMP profile and a
    warning otherwise. A CDA document over `cda_max_bytes` is stored unchecked, with a warning.
    """

    repository_unique_id: str
    data_folder: Path = Path("xds-data/repository")
    profile: Profile = Profile.GENERIC
    cda_mismatch: Severity | None = None
    cda_max_bytes: int = DEFAULT_CDA_MAX_BYTES

    @property
    def cda_mismatch_severity(self) -> Severity:
        if self.cda_mismatch is not None:
            return self.cda_mismatch
        return Severity.ERROR if self.profile is Profile.DMP else Severity.WARNING

    def __post_init__(self) -> None:
        problem = oid_problem(self.repository_unique_id)
        if problem:
            raise ValueError(f"repository_unique_id {self.repository_unique_id!r}: {problem}")


__all__ = ["RepositorySettings"]
