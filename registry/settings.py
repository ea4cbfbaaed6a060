"""The registry's settings: one typed object, passed down (never read from globals)."""

from __future__ import annotations

from dataclasses import dataclass

from ebrim.profile import Profile


@dataclass(frozen=True)
class RegistrySettings:
    """What the registry needs to know; the wire and CLI layers build it from the environment.

    `database_schema` puts every table in one PostgreSQL schema (ignored on SQLite).
    """

    database_url: str = "sqlite:///xds-registry.sqlite"
    database_schema: str | None = None
    profile: Profile = Profile.GENERIC
    max_query_results: int = 1000
    max_objects_per_submission: int = 10_000
    home_community_id: str | None = None
