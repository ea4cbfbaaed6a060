"""The registry's settings: one typed object, passed down (never read from globals)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ebrim.profile import Profile


@dataclass(frozen=True)
class RegistrySettings:
    """What the registry needs to know; the wire and CLI layers build it from the environment.

    `database_schema` puts every table in one PostgreSQL schema (ignored on SQLite).
    `patient_id_domains` are the assigning-authority OIDs of the affinity domain: the ITI-8 feed
    keeps only PID-3 identifiers issued by one of them (an empty tuple accepts any ISO OID).
    `mllp_max_message_bytes` bounds one MLLP frame; a larger one closes the connection.
    `require_open_record`: register documents only for a patient whose record is open
    (XDSUnknownPatientId otherwise); None means "as the profile says" (the DMP: yes).
    `access_rules`: a JSON file of access rules replacing the shipped defaults
    (`registry.policy.rules`; the regulatory profession x typeCode matrix goes there).
    """

    database_url: str = "sqlite:///xds-registry.sqlite"
    database_schema: str | None = None
    profile: Profile = Profile.GENERIC
    max_query_results: int = 1000
    max_objects_per_submission: int = 10_000
    home_community_id: str | None = None
    patient_id_domains: tuple[str, ...] = ()
    mllp_max_message_bytes: int = 1_048_576
    require_open_record: bool | None = None
    access_rules: Path | None = None

    @property
    def records_required(self) -> bool:
        """Whether registration needs the patient's record open."""
        if self.require_open_record is not None:
            return self.require_open_record
        return self.profile is Profile.DMP
