"""Who a personal authentication certificate names: the professional behind a browser.

A CPS card's authentication certificate (and the development PKI's `issue_professional`)
names the person in CN, their national id (RPPS or ADELI) in serialNumber, their profession
code (TRE_G15) in title and their structure in OU. An organisation certificate has no
serialNumber: it names no person, so it is not a professional's.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Professional:
    professional_id: str
    name: str
    profession: str | None
    structure_id: str | None


def professional_of(cert: x509.Certificate) -> Professional | None:
    """The professional a personal certificate names, or None for any other certificate."""

    def one(oid: x509.ObjectIdentifier) -> str | None:
        values = cert.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if len(values) == 1 else None

    professional_id = one(NameOID.SERIAL_NUMBER)
    if not professional_id:
        return None
    return Professional(
        professional_id=professional_id,
        name=one(NameOID.COMMON_NAME) or professional_id,
        profession=one(NameOID.TITLE),
        structure_id=one(NameOID.ORGANIZATIONAL_UNIT_NAME),
    )


__all__ = ["Professional", "professional_of"]
