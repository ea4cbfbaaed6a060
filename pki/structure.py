"""Structure identifiers, as IGC-Santé organisation certificates carry them.

An IGC-Santé "ORG" certificate (AUTH_CLI for TLS, SIGN for the VIHF seal) names the
legal structure in its subject: O = the structure's name, OU = its national structure
identifier, a one-character type prefix followed by the identifier itself:
"1" + FINESS (9 characters), "3" + SIRET (14 digits), "4" + RPPS of a liberal
practice... The same string is what the VIHF's `Identifiant_Structure` must hold.
"""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.x509.oid import NameOID

FINESS_PREFIX = "1"
SIRET_PREFIX = "3"

# FINESS numbers are 9 characters: département (2 digits, or 2A/2B for Corsica) then 7 digits.
_FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")
_SIRET = re.compile(r"^\d{14}$")


def from_finess(finess: str) -> str:
    """The structure identifier "1" + FINESS, after checking the FINESS shape."""
    if not _FINESS.match(finess):
        raise ValueError(f"not a FINESS number (9 characters, e.g. 750712184): {finess!r}")
    return FINESS_PREFIX + finess


def from_siret(siret: str) -> str:
    """The structure identifier "3" + SIRET, after checking the SIRET shape."""
    if not _SIRET.match(siret):
        raise ValueError(f"not a SIRET number (14 digits): {siret!r}")
    return SIRET_PREFIX + siret


def structure_id(cert: x509.Certificate) -> str:
    """The structure identifier a certificate carries in its subject OU.

    Raises ValueError when the subject has no OU, or several (which would make the
    identity ambiguous).
    """
    values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if len(values) != 1:
        raise ValueError(f"certificate subject has {len(values)} OU, expected one: {cert.subject}")
    value = values[0].value
    if not isinstance(value, str) or not value:
        raise ValueError(f"certificate subject OU is empty: {cert.subject}")
    return value
