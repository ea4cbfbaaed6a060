"""Who acts on an MHD request: the TLS client and the signed assertion it carries over HTTP.

The SOAP side reads the professional's signed SAML assertion (the DMP's VIHF, or an XUA)
from WS-Security; over HTTP the same assertion travels in the Authorization header, as
IHE IUA's SAML token option carries it (ITI-72): ``Authorization: Bearer <token>``, the
token being the assertion in base64 or base64url (the Swiss EPR's ``IHE-SAML`` scheme is
read the same way). IUA's JWT token option is accepted too: a JWS whose ``x5c`` chains to
the same trust (`pki.assertion.token`). Either is verified by the same `AssertionVerifier`
(signature, chain, validity, the signer bound to the TLS client's structure, the patient),
and gives the same `Requester`, so that the access policy, the audit trail and the
refusals are those of ITI-18, ITI-41 and ITI-43. Unlike a WS-Security header, the token
may be reused until it expires (paging through a search), as an OAuth bearer token is.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ebrim.errors import XMLRejected
from ebrim.safexml import XMLLimits, parse_xml
from mhd.outcome import FhirError
from pki.assertion import AssertionRejected
from pki.assertion.errors import ReplayCacheFull
from soap.settings import SecurityMode, SoapSettings
from soap.tls import ClientIdentity

if TYPE_CHECKING:
    from pki.assertion import AssertionVerifier, Requester

SAML_ASSERTION = "{urn:oasis:names:tc:SAML:2.0:assertion}Assertion"
SCHEMES = ("bearer", "ihe-saml", "saml")
MAX_TOKEN_BYTES = 64 * 1024


def requester_of(
    environ: dict[str, Any],
    *,
    settings: SoapSettings,
    verifier: AssertionVerifier | None,
    client: ClientIdentity | None,
    patient_id: str | None,
    audience: Sequence[str] = (),
) -> Requester | None:
    """The verified requester; None when security is off, or optional and no token is sent.

    `patient_id` is the patient the request is about (a search's patient.identifier, a
    Bundle's subject), held against the assertion's; None when the request names none.
    `audience`: this server's addresses, one of which a JWT's ``aud`` must name.
    Raises FhirError: 401 for a missing or refused token, 503 when it cannot be checked.
    """
    if settings.security is SecurityMode.OFF:
        return None
    header = environ.get("HTTP_AUTHORIZATION", "").strip()
    if not header:
        if settings.security is SecurityMode.REQUIRED:
            raise FhirError(
                401,
                "a signed SAML assertion (VIHF) is required: Authorization: Bearer <base64>",
                code="login",
            )
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() not in SCHEMES or not token:
        raise FhirError(401, f"Authorization scheme {scheme!r} is not accepted", code="login")
    if verifier is None:
        raise FhirError(500, "no assertion verifier is configured", code="exception")
    structure = client.structure_id if client is not None else None
    try:
        if token.count(".") == 2 and token.startswith("eyJ"):  # a JWS: {"alg"… in base64url
            return verifier.verify_token(
                token, tls_structure_id=structure, body_patient_id=patient_id, audience=audience
            )
        return verifier.verify(
            _assertion(token),
            tls_structure_id=structure,
            body_patient_id=patient_id,
            single_use=False,
        )
    except ReplayCacheFull as exc:
        raise FhirError(503, f"cannot check the assertion now: {exc}", code="transient") from None
    except AssertionRejected as exc:
        reason = f"assertion refused ({type(exc).__name__}): {exc}"
        raise FhirError(401, reason, code="security") from None


def _assertion(token: str) -> Any:
    if len(token) > MAX_TOKEN_BYTES:
        raise FhirError(401, f"token over {MAX_TOKEN_BYTES} bytes", code="login")
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = base64.b64decode(padded, altchars=b"-_" if "-" in token or "_" in token else None)
    except (binascii.Error, ValueError):
        raise FhirError(401, "the token is not base64", code="login") from None
    if not raw.lstrip().startswith(b"<"):
        raise FhirError(
            401,
            "the token is not a SAML assertion (JSON Web Tokens are not accepted yet)",
            code="login",
        )
    try:
        root = parse_xml(raw, XMLLimits(max_bytes=MAX_TOKEN_BYTES))
    except XMLRejected as exc:
        raise FhirError(401, f"the token is not readable XML: {exc}", code="login") from None
    if root.tag != SAML_ASSERTION:
        raise FhirError(401, "the token is not a saml2:Assertion", code="login")
    return root


__all__ = ["requester_of"]
