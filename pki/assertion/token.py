"""IUA JSON Web Tokens (IHE ITI TF-2 3.72, the JWT token option): verified into a `Requester`.

An HTTP client (MHD) may present the acting professional as a signed JWT instead of a SAML
assertion. Its trust is the assertions' trust: the token's ``x5c`` header carries the
signing certificate (and its chain), which must chain to the same CAs, be valid, not be
revoked, and, in the DMP profile, belong to the establishment on the TLS connection, as a
VIHF's signer must. The signature is checked by PyJWT with the algorithms the header may
name limited to RSA and EC ones (never ``none`` nor an HMAC, whose key would be public).

Claims: ``iss``, ``exp``, ``iat`` and ``jti`` are required, a lifetime over an hour is
refused; ``aud`` is required and must name one of the server's addresses when it gives
them; ``nbf`` is honoured. The IUA extension ``extensions.ihe_iua``
gives ``subject_name``, ``subject_organization``, ``subject_organization_id`` (the
structure), ``subject_role`` and ``purpose_of_use`` (codings ``{system, code, display}``,
one or a list), ``national_provider_identifier`` (else ``sub`` is the professional) and
``person_id`` (the patient, a CX). The DMP's authentication mode, which IUA does not name,
is read from the standard ``acr`` claim when it is one of DIRECTE, INDIRECTE or
INDIRECTE_RENFORCEE; without it the mode is indirect (may feed, not consult).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
from cryptography import x509

from pki.assertion.errors import (
    ExpiredAssertion,
    InvalidAttribute,
    InvalidSignature,
    MalformedAssertion,
    MissingAttribute,
    UntrustedCertificate,
)
from pki.assertion.model import Code, Requester
from pki.assertion.names import AuthenticationMode
from pki.trust import ChainError, verify_signing_chain

if TYPE_CHECKING:
    from pki.assertion.verify import AssertionVerifier

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
MAX_LIFETIME = timedelta(hours=1)
MODES = {mode.value for mode in AuthenticationMode}


def read_token(
    token: str,
    verifier: AssertionVerifier,
    *,
    audience: Sequence[str] | None,
) -> tuple[Requester, x509.Certificate]:
    """The requester a JWT names and its verified signing certificate; `AssertionRejected`."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise MalformedAssertion(f"not a JSON Web Token: {exc}") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise InvalidSignature(f"JWT algorithm {algorithm!r} is not accepted")
    chain = _chain(header.get("x5c"))
    leaf = chain[0]
    now = verifier.clock()
    try:
        verify_signing_chain(
            leaf,
            trusted=verifier.trusted_cas,
            intermediates=[*chain[1:], *verifier.intermediates],
            at=now,
            crls=verifier.crls,
        )
    except ChainError as exc:
        raise UntrustedCertificate(str(exc)) from None
    required = ["iss", "exp", "iat", "jti", *(["aud"] if audience else [])]
    options: Any = {"require": required, "verify_aud": bool(audience)}
    try:
        claims = jwt.decode(
            token,
            key=leaf.public_key(),  # type: ignore[arg-type]
            algorithms=[algorithm],
            audience=list(audience) if audience else None,
            options=options,
            leeway=verifier.clock_skew,
        )
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredAssertion(f"the token expired: {exc}") from None
    except jwt.ImmatureSignatureError as exc:
        raise ExpiredAssertion(f"the token is not valid yet: {exc}") from None
    except jwt.InvalidSignatureError:
        raise InvalidSignature("the token's signature does not verify") from None
    except jwt.MissingRequiredClaimError as exc:
        raise MissingAttribute(str(exc)) from None
    except jwt.PyJWTError as exc:
        raise InvalidAttribute(f"the token is refused: {exc}") from None
    issued = datetime.fromtimestamp(float(claims["iat"]), UTC)
    expires = datetime.fromtimestamp(float(claims["exp"]), UTC)
    if expires - issued > MAX_LIFETIME:
        raise InvalidAttribute(f"the token lives {expires - issued}, more than {MAX_LIFETIME}")
    return _requester(claims, leaf, issued), leaf


def _chain(x5c: Any) -> list[x509.Certificate]:
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise UntrustedCertificate("the token's header carries no x5c certificate chain")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(c)) for c in x5c[:8]]
    except ValueError as exc:
        raise UntrustedCertificate(f"the token's x5c is not a certificate: {exc}") from None


def _requester(claims: Mapping[str, Any], leaf: x509.Certificate, issued: datetime) -> Requester:
    iua = (claims.get("extensions") or {}).get("ihe_iua") or {}
    if not isinstance(iua, dict):
        raise InvalidAttribute("extensions.ihe_iua is not an object")
    professional = _text(iua.get("national_provider_identifier")) or _text(claims.get("sub"))
    if not professional:
        raise MissingAttribute("the token names no professional (sub)")
    purposes = _codes(iua.get("purpose_of_use"))
    mode = _text(claims.get("acr"))
    return Requester(
        assertion_id=str(claims["jti"]),
        issuer=str(claims["iss"]),
        signer=leaf.subject.rfc4514_string(),
        professional_id=professional,
        name=_text(iua.get("subject_name")) or professional,
        roles=_codes(iua.get("subject_role")),
        structure_id=_text(iua.get("subject_organization_id")),
        organisation=_text(iua.get("subject_organization")),
        authentication_mode=mode if mode in MODES else None,
        purpose_of_use=purposes[0] if purposes else None,
        patient_id=_text(iua.get("person_id")),
        sector=None,
        software=None,
        vihf_version=None,
        issue_instant=issued,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int):
        raise InvalidAttribute(f"{value!r} is not a text value")
    return str(value).strip() or None


def _codes(value: Any) -> tuple[Code, ...]:
    items: Sequence[Any] = value if isinstance(value, list) else [value] if value else []
    codes = []
    for item in items:
        if not isinstance(item, dict) or not item.get("code"):
            raise InvalidAttribute(f"{item!r} is not a coding {{system, code, display}}")
        system = str(item.get("system", "")).removeprefix("urn:oid:")
        codes.append(Code(str(item["code"]), system, str(item.get("display", ""))))
    return tuple(codes)


__all__ = ["ALGORITHMS", "read_token"]
