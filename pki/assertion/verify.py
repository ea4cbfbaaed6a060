"""Verify a signed SAML assertion and say who calls (server side).

Order matters: the signature's shape is checked before any cryptography, the certificate
before the signature, and every attribute is read from the canonical bytes the signature
digest covers, re-parsed, so that nothing unsigned can be smuggled in (signature wrapping).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from xmlsec import constants

from ebrim.errors import XMLRejected
from ebrim.profile import Profile
from ebrim.safexml import XMLLimits, parse_xml
from pki.assertion.errors import (
    ExpiredAssertion,
    InvalidSignature,
    MalformedAssertion,
    NotYetValid,
    PatientMismatch,
    StaleAssertion,
    StructureMismatch,
    UntrustedCertificate,
)
from pki.assertion.identity import check_issuer, same_patient
from pki.assertion.model import Requester
from pki.assertion.names import DigestAlgorithm, saml
from pki.assertion.read import parse_instant, read_requester
from pki.assertion.replay import ReplayCache, ReplayGuard
from pki.assertion.shape import SignaturePlan, inspect_signature
from pki.structure import structure_id
from pki.trust import ChainError, verify_signing_chain

ASSERTION_LIMITS = XMLLimits(max_bytes=256 * 1024)
_HASHES = {
    DigestAlgorithm.SHA256.value: hashlib.sha256,
    DigestAlgorithm.SHA512.value: hashlib.sha512,
    DigestAlgorithm.SHA1.value: hashlib.sha1,
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Validity:
    issued: datetime
    not_before: datetime | None
    not_on_or_after: datetime | None


class AssertionVerifier:
    """Checks signed assertions against one trust configuration; safe to share across threads.

    `trusted_cas` anchor the signing certificates (IGC-Santé roots and/or intermediates);
    `max_age` bounds IssueInstant's age; `clock_skew` tolerates peers' clocks; rsa-sha1
    and sha1 digests are refused unless `allow_legacy_algorithms`.
    """

    def __init__(
        self,
        trusted_cas: Sequence[x509.Certificate],
        *,
        profile: Profile = Profile.DMP,
        clock: Callable[[], datetime] = _utcnow,
        max_age: timedelta = timedelta(minutes=5),
        clock_skew: timedelta = timedelta(minutes=1),
        replay_cache: ReplayGuard | None = None,
        intermediates: Sequence[x509.Certificate] = (),
        crls: Sequence[x509.CertificateRevocationList] = (),
        allow_legacy_algorithms: bool = False,
    ) -> None:
        if not trusted_cas:
            raise ValueError("an AssertionVerifier needs at least one trusted CA")
        self.trusted_cas = tuple(trusted_cas)
        self.profile = profile
        self.clock = clock
        self.max_age = max_age
        self.clock_skew = clock_skew
        self.replay_cache: ReplayGuard = replay_cache if replay_cache is not None else ReplayCache()
        self.intermediates = tuple(intermediates)
        self.crls = tuple(crls)
        self.allow_legacy_algorithms = allow_legacy_algorithms

    def verify(
        self,
        assertion: etree._Element | bytes,
        *,
        tls_structure_id: str | None,
        body_patient_id: str | None,
        single_use: bool = True,
    ) -> Requester:
        """The verified requester, or a subclass of `AssertionRejected`.

        `tls_structure_id` is the structure of the TLS client certificate (required in the
        DMP profile); `body_patient_id` the request's patientId (None when it has none).
        `single_use`: a second use of the assertion is a replay (a WS-Security header). An
        HTTP bearer token (MHD) is reused until it expires, as OAuth bearer tokens are; its
        signer stays bound to the TLS client's structure, so it is not usable elsewhere.
        """
        now = self.clock()
        root = _isolate(assertion)
        plan = inspect_signature(root, allow_legacy=self.allow_legacy_algorithms)
        leaf = plan.certificates[0]
        try:
            verify_signing_chain(
                leaf,
                trusted=self.trusted_cas,
                intermediates=[*plan.certificates[1:], *self.intermediates],
                at=now,
                crls=self.crls,
            )
        except ChainError as exc:
            raise UntrustedCertificate(str(exc)) from None
        _check_signature(root, plan, leaf)
        signed = _signed_tree(root, plan)

        check_issuer(signed, leaf, dn_required=self.profile is Profile.DMP)
        validity = self._check_times(signed, now)
        expires = min(
            validity.not_on_or_after or validity.issued + self.max_age,
            validity.issued + self.max_age,
        )
        issuer = (signed.findtext(saml("Issuer")) or "").strip()
        if single_use:
            self.replay_cache.check_and_remember(
                f"{issuer}|{signed.get('ID')}", expires=expires + self.clock_skew, now=now
            )
        requester = read_requester(
            signed, signer=leaf.subject.rfc4514_string(), require_vihf=self.profile is Profile.DMP
        )
        self._check_structure(requester, tls_structure_id)
        self._check_signer(leaf, tls_structure_id, requester)
        _check_patient(requester, body_patient_id)
        return requester

    def verify_token(
        self,
        token: str,
        *,
        tls_structure_id: str | None,
        body_patient_id: str | None,
        audience: Sequence[str] | None = None,
    ) -> Requester:
        """The requester of an IUA JSON Web Token (`pki.assertion.token`), held to the same
        structure, signer and patient checks as a SAML assertion; `AssertionRejected`."""
        from pki.assertion.token import read_token

        requester, leaf = read_token(token, self, audience=audience)
        self._check_structure(requester, tls_structure_id)
        self._check_signer(leaf, tls_structure_id, requester)
        _check_patient(requester, body_patient_id)
        return requester

    def _check_times(self, signed: etree._Element, now: datetime) -> _Validity:
        skew = self.clock_skew
        issued = parse_instant(signed.get("IssueInstant"), "IssueInstant")
        conditions = signed.find(saml("Conditions"))
        not_before = not_after = None
        if conditions is not None:
            if conditions.get("NotBefore") is not None:
                not_before = parse_instant(conditions.get("NotBefore"), "NotBefore")
            if conditions.get("NotOnOrAfter") is not None:
                not_after = parse_instant(conditions.get("NotOnOrAfter"), "NotOnOrAfter")
        if not_before is not None and now + skew < not_before:
            raise NotYetValid(f"the assertion is valid from {not_before.isoformat()}")
        if issued > now + skew:
            raise NotYetValid(f"the assertion is issued in the future ({issued.isoformat()})")
        if not_after is not None and now - skew >= not_after:
            raise ExpiredAssertion(f"the assertion expired at {not_after.isoformat()}")
        if now - skew - self.max_age > issued:
            raise StaleAssertion(
                f"the assertion was issued at {issued.isoformat()}, more than {self.max_age} ago"
            )
        return _Validity(issued, not_before, not_after)

    def _check_structure(self, requester: Requester, tls_structure_id: str | None) -> None:
        if tls_structure_id is None:
            if self.profile is Profile.DMP:
                raise StructureMismatch("no TLS client structure to hold the VIHF against")
            return
        if requester.structure_id is None and self.profile is not Profile.DMP:
            return
        if requester.structure_id != tls_structure_id:
            raise StructureMismatch(
                f"Identifiant_Structure {requester.structure_id!r} is not the TLS certificate's "
                f"structure {tls_structure_id!r}"
            )

    def _check_signer(
        self, leaf: x509.Certificate, tls_structure_id: str | None, requester: Requester
    ) -> None:
        """A VIHF is sealed by the establishment on the TLS connection, not by another.

        The signing (ORG SIGN) and TLS (ORG AUTH_CLI) certificates carry the same structure
        identifier; without this check, an establishment could sign an assertion claiming
        another's Identifiant_Structure and send it over that other's connection. A plain
        XUA assertion (generic profile, no structure claimed) is signed by an identity
        provider instead, and is not bound.
        """
        if tls_structure_id is None:
            return  # the DMP profile refused it already; the generic one binds nothing
        if self.profile is not Profile.DMP and requester.structure_id is None:
            return
        try:
            signer = structure_id(leaf)
        except ValueError as exc:
            raise StructureMismatch(f"the signing certificate names no structure: {exc}") from None
        if signer != tls_structure_id:
            raise StructureMismatch(
                f"the assertion is signed by structure {signer!r}'s certificate, not by the TLS "
                f"client's structure {tls_structure_id!r}"
            )


def _check_patient(requester: Requester, body_patient_id: str | None) -> None:
    asserted = requester.patient_id
    if body_patient_id is None or asserted is None:
        return  # no patient in the body (e.g. retrieve); the DMP profile requires resource-id
    if not same_patient(asserted, body_patient_id):
        raise PatientMismatch(f"the assertion is for {asserted}, the request for {body_patient_id}")


def _isolate(assertion: etree._Element | bytes) -> etree._Element:
    """The assertion alone in a fresh document, through the project's hardened parser.

    Whatever surrounds it in the SOAP envelope (where a wrapping attack would hide the
    genuinely signed assertion) is left behind.
    """
    data = assertion if isinstance(assertion, bytes) else etree.tostring(assertion)
    try:
        root = parse_xml(data, ASSERTION_LIMITS)
    except XMLRejected as exc:
        raise MalformedAssertion(str(exc)) from None
    if root.tag != saml("Assertion"):
        raise MalformedAssertion(f"{root.tag} is not a SAML 2.0 Assertion")
    if root.get("Version") != "2.0":
        raise MalformedAssertion(f"SAML Version {root.get('Version')!r} is not 2.0")
    if not root.get("ID"):
        raise MalformedAssertion("the assertion has no ID")
    return root


def _check_signature(root: etree._Element, plan: SignaturePlan, leaf: x509.Certificate) -> None:
    context = xmlsec.SignatureContext()
    context.register_id(root, "ID")
    context.key = xmlsec.Key.from_memory(
        leaf.public_bytes(serialization.Encoding.PEM), constants.KeyDataFormatCertPem
    )
    try:
        context.verify(plan.signature)
    except xmlsec.Error as exc:
        raise InvalidSignature(f"the signature does not verify: {exc}") from None


def _signed_tree(root: etree._Element, plan: SignaturePlan) -> etree._Element:
    """Re-derive the exact bytes the Reference digests, check them, and parse them."""
    copy = deepcopy(root)
    signature = next(copy.iter(plan.signature.tag))
    _remove_keeping_tail(signature)
    canonical = etree.tostring(
        copy,
        method="c14n",
        exclusive=True,
        with_comments=False,
        inclusive_ns_prefixes=list(plan.inclusive_prefixes) or None,
    )
    digest = _HASHES[plan.digest_algorithm](canonical).digest()
    if not hmac.compare_digest(digest, plan.digest_value):
        raise InvalidSignature("the signed content does not match the Reference digest")
    try:
        return parse_xml(canonical, ASSERTION_LIMITS)
    except XMLRejected as exc:  # cannot happen for c14n output; kept typed regardless
        raise MalformedAssertion(str(exc)) from None


def _remove_keeping_tail(element: etree._Element) -> None:
    """Remove an element but not the text after it (lxml would drop its tail with it)."""
    parent = element.getparent()
    assert parent is not None
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)
