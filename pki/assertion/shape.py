"""What the signature must look like before any cryptography runs (signxml's lesson).

An assertion is accepted only when its signature is shaped to cover exactly the whole
assertion: one ds:Signature, a direct child of the Assertion; one Reference whose URI is
"#" + the Assertion's own ID, an ID no other element repeats; the transforms
enveloped-signature then exc-c14n, nothing else; allow-listed algorithms.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography import x509
from lxml import etree

from pki.assertion.errors import (
    DisallowedAlgorithm,
    UnsignedAssertion,
    UntrustedCertificate,
    WrappedAssertion,
)
from pki.assertion.names import (
    ENVELOPED_SIGNATURE,
    EXC_C14N,
    LEGACY_ALGORITHMS,
    NS,
    DigestAlgorithm,
    SignatureAlgorithm,
    ds,
)

_ID_NAMES = ("ID", "Id", "id")


@dataclass(frozen=True)
class SignaturePlan:
    """The checked parts of the signature that verification needs."""

    signature: etree._Element
    signature_algorithm: str
    digest_algorithm: str
    digest_value: bytes
    inclusive_prefixes: tuple[str, ...]
    certificates: tuple[x509.Certificate, ...]  # KeyInfo's, in document order


def inspect_signature(root: etree._Element, *, allow_legacy: bool) -> SignaturePlan:
    """Check the signature's shape on the isolated assertion `root`, or raise."""
    assertion_id = root.get("ID") or ""
    signatures = list(root.iter(ds("Signature")))
    if not signatures:
        raise UnsignedAssertion("the assertion carries no ds:Signature")
    if len(signatures) > 1:
        raise WrappedAssertion(f"the assertion holds {len(signatures)} ds:Signature elements")
    signature = signatures[0]
    if signature.getparent() is not root:
        raise WrappedAssertion("the ds:Signature is not a child of the assertion it must cover")
    holders = [e for e in root.iter() if any(e.get(n) == assertion_id for n in _ID_NAMES)]
    if holders != [root]:
        raise WrappedAssertion(f"the ID {assertion_id!r} is carried by several elements")

    signed_info = _only(signature, "SignedInfo")
    c14n = _only(signed_info, "CanonicalizationMethod").get("Algorithm")
    if c14n != EXC_C14N:
        raise DisallowedAlgorithm(f"canonicalization {c14n!r} is not exc-c14n")
    method = _only(signed_info, "SignatureMethod").get("Algorithm") or ""
    _allowed(method, {a.value for a in SignatureAlgorithm}, allow_legacy)

    references = signed_info.findall(ds("Reference"))
    if len(references) != 1:
        raise WrappedAssertion(f"the signature has {len(references)} References, expected one")
    reference = references[0]
    if reference.get("URI") != f"#{assertion_id}":
        raise WrappedAssertion(
            f"the Reference points at {reference.get('URI')!r}, not at the assertion's own ID"
        )
    prefixes = _check_transforms(reference)
    digest = _only(reference, "DigestMethod").get("Algorithm") or ""
    _allowed(digest, {a.value for a in DigestAlgorithm}, allow_legacy)
    return SignaturePlan(
        signature=signature,
        signature_algorithm=method,
        digest_algorithm=digest,
        digest_value=_base64(_only(reference, "DigestValue").text),
        inclusive_prefixes=prefixes,
        certificates=_certificates(signature),
    )


def _check_transforms(reference: etree._Element) -> tuple[str, ...]:
    transforms = reference.findall(f"{ds('Transforms')}/{ds('Transform')}")
    algorithms = [t.get("Algorithm") for t in transforms]
    if algorithms != [ENVELOPED_SIGNATURE, EXC_C14N]:
        raise WrappedAssertion(
            f"transforms {algorithms} are not exactly enveloped-signature then exc-c14n"
        )
    if len(transforms[0]):
        raise WrappedAssertion("the enveloped-signature transform takes no parameters")
    prefixes: tuple[str, ...] = ()
    for child in transforms[1]:
        if child.tag != f"{{{NS.EXC_C14N}}}InclusiveNamespaces":
            raise WrappedAssertion(f"unexpected exc-c14n parameter {child.tag}")
        prefixes = tuple((child.get("PrefixList") or "").split())
    return prefixes


def _allowed(algorithm: str, known: set[str], allow_legacy: bool) -> None:
    if algorithm not in known:
        raise DisallowedAlgorithm(f"algorithm {algorithm!r} is not allowed")
    if algorithm in LEGACY_ALGORITHMS and not allow_legacy:
        raise DisallowedAlgorithm(f"legacy algorithm {algorithm!r} is refused by configuration")


def _only(parent: etree._Element, local: str) -> etree._Element:
    found = parent.findall(ds(local))
    if len(found) != 1:
        raise WrappedAssertion(f"ds:{local} appears {len(found)} times in ds:{_local(parent)}")
    return found[0]


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _base64(text: str | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise WrappedAssertion("a base64 value of the signature is not base64") from None


def _certificates(signature: etree._Element) -> tuple[x509.Certificate, ...]:
    path = f"{ds('KeyInfo')}/{ds('X509Data')}/{ds('X509Certificate')}"
    certificates = []
    for element in signature.findall(path):
        try:
            certificates.append(x509.load_der_x509_certificate(_base64(element.text)))
        except (ValueError, WrappedAssertion):
            raise UntrustedCertificate("a KeyInfo certificate cannot be read") from None
    if not certificates:
        raise UntrustedCertificate("KeyInfo carries no X509Certificate")
    return tuple(certificates)
