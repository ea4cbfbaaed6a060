"""Does a certificate chain to a trusted CA? (cryptography's x509 path validation)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

MAX_CHAIN_DEPTH = 4


class ChainError(Exception):
    """The certificate does not chain to a trusted CA, is outside its validity, or is revoked."""


def _require_digital_signature(policy: Policy, cert: x509.Certificate, ku: x509.KeyUsage) -> None:
    if not ku.digital_signature:
        raise ValueError("the signing certificate's key usage lacks digitalSignature")


def _signing_ee_policy() -> ExtensionPolicy:
    # An IGC-Santé ORG SIGN certificate has no SAN and no clientAuth EKU, which the
    # Web PKI defaults demand; what matters for a seal is the digitalSignature usage.
    return ExtensionPolicy.permit_all().require_present(
        x509.KeyUsage, Criticality.AGNOSTIC, _require_digital_signature
    )


def verify_signing_chain(
    leaf: x509.Certificate,
    *,
    trusted: Sequence[x509.Certificate],
    intermediates: Iterable[x509.Certificate] = (),
    at: datetime,
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> list[x509.Certificate]:
    """Validate `leaf` as a signing certificate at time `at`; returns the chain, leaf first.

    `trusted` are the anchors (a CA bundle: roots and/or intermediates). A CRL is used
    only when its signature verifies with the leaf's issuer from the validated chain.
    """
    if not trusted:
        raise ChainError("no trusted CA configured")
    verifier = (
        PolicyBuilder()
        .store(Store(list(trusted)))
        .time(at)
        .max_chain_depth(MAX_CHAIN_DEPTH)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_signing_ee_policy()
        )
        .build_client_verifier()
    )
    try:
        chain = list(verifier.verify(leaf, [*intermediates, *trusted]).chain)
    except VerificationError as exc:
        raise ChainError(
            f"certificate {leaf.subject.rfc4514_string()} is not trusted: {exc}"
        ) from None
    if len(chain) > 1 and is_revoked(leaf, chain[1], crls):
        raise ChainError(f"certificate {leaf.subject.rfc4514_string()} is revoked")
    return chain


def is_revoked(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    crls: Iterable[x509.CertificateRevocationList],
) -> bool:
    """True when a CRL signed by `issuer` lists `cert`'s serial number."""
    for crl in crls:
        if crl.issuer != issuer.subject:
            continue
        if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            continue
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            return True
    return False
