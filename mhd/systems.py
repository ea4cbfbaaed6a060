"""Code systems and identifier systems: the OIDs of XDS metadata and the URIs of FHIR.

XDS codes name their coding scheme by OID; FHIR codings by a URI, the canonical URL of the
code system where one is published (HL7 terminology, the ANS "TRE" tables of the
NOS), else ``urn:oid:<OID>`` (FHIR R4 2.1.0.3, "Using Codes in Resources"). The table
holds the systems the French DMP and the IHE examples use; any other OID travels as
``urn:oid:``, and any other URI is kept as given (an XDS scheme need not be an OID).
"""

from __future__ import annotations

import re

_NOS = "https://mos.esante.gouv.fr/NOS"

# OID -> canonical URL (FHIR R4 terminology pages; ANS NOS tables, checked against
# the OIDs of the DMP value sets JDV_J01/J02/J04/J06/J07/J08).
CANONICAL: dict[str, str] = {
    "2.16.840.1.113883.6.1": "http://loinc.org",
    "2.16.840.1.113883.6.96": "http://snomed.info/sct",
    "2.16.840.1.113883.5.25": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    "2.16.840.1.113883.5.4": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "1.3.6.1.4.1.19376.1.2.3": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
    "1.2.250.1.213.1.1.4.1": f"{_NOS}/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument",
    "1.2.250.1.213.1.1.4.5": f"{_NOS}/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante",
    "1.2.250.1.213.1.1.4.9": f"{_NOS}/TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice",
    "1.2.250.1.213.1.1.4.13": (
        f"{_NOS}/TRE_A07-StatusVisibiliteDocument/FHIR/TRE-A07-StatusVisibiliteDocument"
    ),
    "1.2.250.1.71.4.2.4": f"{_NOS}/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite",
}
_BY_URL = {url: oid for oid, url in CANONICAL.items()}
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
URN_OID = "urn:oid:"


def is_oid(value: str) -> bool:
    return bool(_OID.fullmatch(value))


def system_of(scheme: str) -> str:
    """The FHIR system URI of an XDS coding scheme."""
    url = CANONICAL.get(scheme)
    if url is not None:
        return url
    return URN_OID + scheme if is_oid(scheme) else scheme


def scheme_of(system: str) -> str:
    """The XDS coding scheme of a FHIR system URI (the inverse of `system_of`)."""
    oid = _BY_URL.get(system)
    if oid is not None:
        return oid
    if system.startswith(URN_OID) and is_oid(system[len(URN_OID) :]):
        return system[len(URN_OID) :]
    return system


__all__ = ["CANONICAL", "URN_OID", "is_oid", "scheme_of", "system_of"]
