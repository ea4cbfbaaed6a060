"""The vocabularies of SAML assertions: namespaces, attribute names, algorithms, codes."""

from __future__ import annotations

from enum import StrEnum


class NS(StrEnum):
    SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
    DS = "http://www.w3.org/2000/09/xmldsig#"
    EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
    HL7 = "urn:hl7-org:v3"
    XSI = "http://www.w3.org/2001/XMLSchema-instance"


def saml(local: str) -> str:
    return f"{{{NS.SAML}}}{local}"


def ds(local: str) -> str:
    return f"{{{NS.DS}}}{local}"


class Attr(StrEnum):
    """SAML Attribute names of the VIHF (CI-SIS) and of IHE XUA (XSPA / XACML)."""

    VIHF_VERSION = "VIHF_Version"
    AUTHENTICATION_MODE = "Authentification_Mode"
    STRUCTURE_ID = "Identifiant_Structure"
    SECTOR = "Secteur_Activite"
    RESOURCE_URN = "Ressource_URN"
    LPS_NAME = "LPS_Nom"
    LPS_VERSION = "LPS_Version"
    LPS_HOMOLOGATION = "LPS_ID_HOMOLOGATION_DMP"
    SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
    ORGANIZATION = "urn:oasis:names:tc:xspa:1.0:subject:organization"
    ORGANIZATION_ID = "urn:oasis:names:tc:xspa:1.0:subject:organization-id"
    ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
    PURPOSE_OF_USE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
    RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"


# What the DMP profile cannot do without (DESIGN.md §5); LPS_ID_HOMOLOGATION_DMP included.
VIHF_REQUIRED: frozenset[Attr] = frozenset(
    {
        Attr.VIHF_VERSION,
        Attr.AUTHENTICATION_MODE,
        Attr.STRUCTURE_ID,
        Attr.SECTOR,
        Attr.SUBJECT_ID,
        Attr.ROLE,
        Attr.RESOURCE_ID,
        Attr.RESOURCE_URN,
        Attr.PURPOSE_OF_USE,
        Attr.LPS_NAME,
        Attr.LPS_VERSION,
        Attr.LPS_HOMOLOGATION,
    }
)
VIHF_VERSIONS = frozenset({"3.0", "4.0"})
RESOURCE_URN_DMP = "urn:dmp"


class AuthenticationMode(StrEnum):
    DIRECT = "DIRECTE"  # the professional's own card (CPx)
    INDIRECT = "INDIRECTE"  # the establishment's certificate vouches for the professional
    INDIRECT_REINFORCED = "INDIRECTE_RENFORCEE"


class PurposeOfUse(StrEnum):
    """VIHF purposeofuse codes (code system `PURPOSE_OF_USE_SYSTEM`)."""

    NORMAL = "normal"
    BREAK_THE_GLASS = "bris_de_glace"
    EMERGENCY_REGULATION = "centre_15"


PURPOSE_OF_USE_SYSTEM = "1.2.250.1.213.1.1.4.248"
PROFESSION_SYSTEM = "1.2.250.1.71.1.2.7"  # TRE_G15 ProfessionSante: 10 médecin, 21 pharmacien...
NON_PS_PRODUCER_SYSTEM = "1.2.250.1.213.1.1.4.6"  # TRE_A00 ProducteurDocNonPS (AUTOMATE...)
# Emergency purposes: the VIHF ones, NHIN's EMERGENCY and HL7 v3 ActReason ETREAT (generic XUA).
EMERGENCY_PURPOSES = frozenset(
    {PurposeOfUse.BREAK_THE_GLASS.value, PurposeOfUse.EMERGENCY_REGULATION.value}
) | {"EMERGENCY", "ETREAT"}

X509_SUBJECT_NAME = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
AUTHN_TLS_CLIENT = "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient"


class SignatureAlgorithm(StrEnum):
    RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
    RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"  # legacy VIHF; refused unless allowed


class DigestAlgorithm(StrEnum):
    SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
    SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
    SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"


LEGACY_ALGORITHMS = frozenset({SignatureAlgorithm.RSA_SHA1.value, DigestAlgorithm.SHA1.value})
ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
