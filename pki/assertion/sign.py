"""Seal an assertion: enveloped XML-DSig, exc-c14n, over the whole assertion (xmlsec)."""

from __future__ import annotations

from pathlib import Path

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from xmlsec import constants

from pki.assertion.names import SignatureAlgorithm, saml

_TRANSFORMS = {
    SignatureAlgorithm.RSA_SHA256: (constants.TransformRsaSha256, constants.TransformSha256),
    SignatureAlgorithm.RSA_SHA512: (constants.TransformRsaSha512, constants.TransformSha512),
    SignatureAlgorithm.RSA_SHA1: (constants.TransformRsaSha1, constants.TransformSha1),
}

KeySource = rsa.RSAPrivateKey | bytes | Path
CertSource = x509.Certificate | bytes | Path


def sign_assertion(
    assertion: etree._Element,
    key: KeySource,
    cert: CertSource,
    *,
    algorithm: SignatureAlgorithm = SignatureAlgorithm.RSA_SHA256,
) -> etree._Element:
    """Sign `assertion` in place and return it.

    The ds:Signature goes right after saml:Issuer (where the SAML schema wants it), its one
    Reference points at the assertion's own ID, and KeyInfo carries the certificate.
    `key` and `cert` are objects, PEM bytes or PEM file paths. rsa-sha1 exists for talking
    to legacy peers only.
    """
    sign_transform, digest_transform = _TRANSFORMS[SignatureAlgorithm(algorithm)]
    assertion_id = assertion.get("ID")
    if not assertion_id:
        raise ValueError("the assertion has no ID attribute to reference")
    signature = xmlsec.template.create(
        assertion, constants.TransformExclC14N, sign_transform, ns="ds"
    )
    issuer = assertion.find(saml("Issuer"))
    if issuer is None:
        raise ValueError("the assertion has no saml:Issuer")
    issuer.addnext(signature)
    reference = xmlsec.template.add_reference(signature, digest_transform, uri=f"#{assertion_id}")
    xmlsec.template.add_transform(reference, constants.TransformEnveloped)
    xmlsec.template.add_transform(reference, constants.TransformExclC14N)
    key_info = xmlsec.template.ensure_key_info(signature)
    xmlsec.template.add_x509_data(key_info)

    signing_key = xmlsec.Key.from_memory(_key_pem(key), constants.KeyDataFormatPem)
    signing_key.load_cert_from_memory(_cert_pem(cert), constants.KeyDataFormatCertPem)
    context = xmlsec.SignatureContext()
    context.register_id(assertion, "ID")
    context.key = signing_key
    context.sign(signature)
    # xmlsec builds its template nodes outside the document's name dictionary, so lxml's
    # find() cannot see them; an identical re-parsed copy makes the tree behave again.
    clean = etree.fromstring(etree.tostring(signature, with_tail=False))
    clean.tail = signature.tail
    issuer.addnext(clean)
    assertion.remove(signature)
    return assertion


def _key_pem(key: KeySource) -> bytes:
    if isinstance(key, Path):
        return key.read_bytes()
    if isinstance(key, bytes):
        return key
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: CertSource) -> bytes:
    if isinstance(cert, Path):
        return cert.read_bytes()
    if isinstance(cert, bytes):
        return cert
    return cert.public_bytes(serialization.Encoding.PEM)
