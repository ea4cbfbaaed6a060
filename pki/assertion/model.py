"""Plain data: who calls (the `Requester` a verified assertion yields) and what to assert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pki.assertion.names import (
    EMERGENCY_PURPOSES,
    PROFESSION_SYSTEM,
    PURPOSE_OF_USE_SYSTEM,
    AuthenticationMode,
    PurposeOfUse,
)


@dataclass(frozen=True)
class Code:
    """An HL7 CE: a code in a code system, with an optional display name."""

    code: str
    code_system: str
    display_name: str = ""
    code_system_name: str = ""


@dataclass(frozen=True)
class Software:
    """The calling software (LPS): name, version and DMP homologation number."""

    name: str
    version: str
    homologation: str = ""


@dataclass(frozen=True)
class Requester:
    """Who calls, read only from the signed content of a verified assertion."""

    assertion_id: str
    issuer: str
    signer: str  # subject DN of the verified signing certificate
    professional_id: str  # Subject/NameID
    name: str  # subject-id
    roles: tuple[Code, ...]
    structure_id: str | None
    organisation: str | None
    authentication_mode: str | None
    purpose_of_use: Code | None
    patient_id: str | None  # resource-id
    sector: str | None  # Secteur_Activite
    software: Software | None
    vihf_version: str | None
    issue_instant: datetime
    reason: str | None = None  # an emergency access's reason, given on the professional's page

    @property
    def is_emergency(self) -> bool:
        """Break-the-glass or emergency regulation: traced apart, and policy-checked apart."""
        return self.purpose_of_use is not None and self.purpose_of_use.code in EMERGENCY_PURPOSES

    def roles_in(self, code_system: str) -> tuple[Code, ...]:
        """The roles from one code system, e.g. professions (`PROFESSION_SYSTEM`)."""
        return tuple(r for r in self.roles if r.code_system == code_system)

    @property
    def professions(self) -> tuple[Code, ...]:
        return self.roles_in(PROFESSION_SYSTEM)


@dataclass(frozen=True)
class VihfOptions:
    """What a VIHF asserts: the professional, the structure, the patient, the software."""

    professional_id: str
    professional_name: str
    roles: Sequence[Code]
    structure_id: str
    sector: str  # Secteur_Activite, e.g. "SA01^1.2.250.1.71.4.2.4"
    patient_id: str  # the INS as a CX: NIR^^^&1.2.250.1.213.1.4.8&ISO^NH
    software: Software
    authentication_mode: AuthenticationMode = AuthenticationMode.INDIRECT
    purpose_of_use: PurposeOfUse = PurposeOfUse.NORMAL
    vihf_version: str = "3.0"

    def purpose_code(self) -> Code:
        return Code(self.purpose_of_use.value, PURPOSE_OF_USE_SYSTEM)


@dataclass(frozen=True)
class XuaOptions:
    """A generic IHE XUA assertion: XSPA subject attributes, no VIHF ones."""

    subject_name_id: str
    subject_id: str
    roles: Sequence[Code] = ()
    organisation: str | None = None
    organisation_id: str | None = None
    purpose_of_use: Code | None = None
    patient_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
