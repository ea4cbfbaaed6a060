"""The repository's settings: one typed object, passed down (never read from globals)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ebrim.profile import Profile
from ebrim.validate.formats import oid_problem


@dataclass(frozen=True)
class RepositorySettings:
    """What a Document Repository needs to know; the CLI builds it from its options.

    `repository_unique_id` is this repository's OID, put on every DocumentEntry it stores and
    required in every ITI-43 DocumentRequest; `data_folder` is the root of its document store.
    """

    repository_unique_id: str
    data_folder: Path = Path("xds-data/repository")
    profile: Profile = Profile.GENERIC

    def __post_init__(self) -> None:
        problem = oid_problem(self.repository_unique_id)
        if problem:
            raise ValueError(f"repository_unique_id {self.repository_unique_id!r}: {problem}")


__all__ = ["RepositorySettings"]
