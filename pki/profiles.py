"""Certificate profiles of the development PKI, shaped like IGC-Santé's.

Root and intermediate CAs; organisation certificates for TLS client authentication
("ORG AUTH_CLI") and for sealing assertions ("ORG SIGN"), both naming the structure in
OU; a server certificate with its host names and addresses in the SAN.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Issued "now" minus a little, so that a peer whose clock lags slightly accepts them.
BACKDATE = timedelta(minutes=5)


def name(common_name: str, *, organisation: str, unit: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ]
    if unit is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def personal_name(
    common_name: str, *, professional_id: str, profession: str, unit: str
) -> x509.Name:
    """A personal certificate's subject: the person, their national id, profession and
    structure (as IGC-Santé's "Personne physique" authentication certificates carry them)."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.TITLE, profession),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, professional_id),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(
    *, sign: bool = False, encipher: bool = False, ca: bool = False, non_repudiation: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=non_repudiation,
        key_encipherment=encipher,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: rsa.RSAPrivateKey,
    days: int,
    not_before: datetime | None,
) -> x509.CertificateBuilder:
    start = (not_before or datetime.now(UTC)) - BACKDATE
    public = key.public_key()
    issuer_public = issuer_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(public)
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), critical=False
        )
    )


def ca_certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    *,
    issuer: x509.Certificate | None = None,
    issuer_key: rsa.RSAPrivateKey | None = None,
    path_length: int | None = 0,
    days: int = 3650,
) -> x509.Certificate:
    """A CA certificate: self-signed root when `issuer` is None, otherwise an intermediate."""
    signer = issuer_key if issuer_key is not None else key
    return (
        _builder(subject, key, issuer, signer, days, None)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_key_usage(ca=True, sign=True), critical=True)
        .sign(signer, hashes.SHA256())
    )


def leaf_certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    *,
    usage: str,
    hostnames: tuple[str, ...] = (),
    days: int = 365,
    not_before: datetime | None = None,
) -> x509.Certificate:
    """An end-entity certificate; `usage` is "auth_cli", "sign" or "server"."""
    builder = _builder(subject, key, issuer, issuer_key, days, not_before).add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    if usage == "auth_cli":
        builder = builder.add_extension(_key_usage(sign=True, encipher=True), critical=True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    elif usage == "sign":
        builder = builder.add_extension(_key_usage(sign=True, non_repudiation=True), critical=True)
    elif usage == "server":
        builder = builder.add_extension(_key_usage(sign=True, encipher=True), critical=True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(h) for h in hostnames]), critical=False
        )
    else:
        raise ValueError(f"unknown certificate usage {usage!r}")
    return builder.sign(issuer_key, hashes.SHA256())


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)
