"""WS-Security: the signed SAML 2.0 assertion of the request's `wsse:Security` header.

One entry point, `read_security`, between addressing and the handler: it finds the
assertion (OASIS WSS 1.0 SOAP Message Security, SAML Token Profile 1.1), has
`pki.assertion.AssertionVerifier` verify it against the TLS client's structure and the
body's patient, and returns the `Requester`, or None when the request carries no assertion
and the mode allows it. Every refusal is a SOAP fault (WSS 1.0 section 12)::

    AssertionRejected subclass          env:Code   subcode
    MalformedAssertion, UnsignedAssertion,
      InvalidAttribute, MissingAttribute Sender    wsse:InvalidSecurityToken
    WrappedAssertion, InvalidSignature   Sender    wsse:FailedCheck
    DisallowedAlgorithm                  Sender    wsse:UnsupportedAlgorithm
    UntrustedCertificate, IssuerMismatch,
      ReplayedAssertion, StructureMismatch,
      PatientMismatch                    Sender    wsse:FailedAuthentication
    ExpiredAssertion, NotYetValid,
      StaleAssertion                     Sender    wsse:MessageExpired
    ReplayCacheFull                      Receiver  (none: the server is busy)
    no / several Security headers or
      assertions (where one is needed)   Sender    wsse:InvalidSecurity
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from enum import StrEnum

from lxml import etree

from pki.assertion import (
    AssertionRejected,
    AssertionVerifier,
    DisallowedAlgorithm,
    ExpiredAssertion,
    InvalidSignature,
    ReplayCacheFull,
    Requester,
    UntrustedCertificate,
    WrappedAssertion,
)
from pki.assertion import errors as rejected
from soap.faults import WSSE, FaultCode, SoapFault
from soap.settings import SecurityMode
from soap.tls import ClientIdentity

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SECURITY = f"{{{WSSE}}}Security"
ASSERTION = f"{{{SAML}}}Assertion"

log = logging.getLogger("soap.security")

PatientOf = Callable[[etree._Element], str | None]


class SecurityFault(StrEnum):
    """WSS 1.0 section 12 fault codes (subcodes of env:Sender)."""

    UNSUPPORTED_SECURITY_TOKEN = "UnsupportedSecurityToken"
    UNSUPPORTED_ALGORITHM = "UnsupportedAlgorithm"
    INVALID_SECURITY = "InvalidSecurity"
    INVALID_SECURITY_TOKEN = "InvalidSecurityToken"
    FAILED_AUTHENTICATION = "FailedAuthentication"
    FAILED_CHECK = "FailedCheck"
    SECURITY_TOKEN_UNAVAILABLE = "SecurityTokenUnavailable"
    MESSAGE_EXPIRED = "MessageExpired"


# Most specific class first: `fault_for` takes the first entry the exception is an instance of.
FAULTS: tuple[tuple[type[AssertionRejected], SecurityFault], ...] = (
    (DisallowedAlgorithm, SecurityFault.UNSUPPORTED_ALGORITHM),
    (InvalidSignature, SecurityFault.FAILED_CHECK),
    (WrappedAssertion, SecurityFault.FAILED_CHECK),
    (UntrustedCertificate, SecurityFault.FAILED_AUTHENTICATION),  # and IssuerMismatch
    (rejected.ReplayedAssertion, SecurityFault.FAILED_AUTHENTICATION),
    (rejected.StructureMismatch, SecurityFault.FAILED_AUTHENTICATION),
    (rejected.PatientMismatch, SecurityFault.FAILED_AUTHENTICATION),
    (ExpiredAssertion, SecurityFault.MESSAGE_EXPIRED),  # and NotYetValid, StaleAssertion
    (rejected.MalformedAssertion, SecurityFault.INVALID_SECURITY_TOKEN),
    (rejected.UnsignedAssertion, SecurityFault.INVALID_SECURITY_TOKEN),
    (rejected.InvalidAttribute, SecurityFault.INVALID_SECURITY_TOKEN),  # and MissingAttribute
)


def read_security(
    headers: Sequence[etree._Element],
    *,
    mode: SecurityMode,
    verifier: AssertionVerifier | None,
    client: ClientIdentity | None,
    payload: etree._Element,
    patient_of: PatientOf | None,
) -> Requester | None:
    """The verified requester of a request, None when it has no assertion and needs none.

    `patient_of` reads the patient of this transaction's body (None: the transaction names
    no patient, e.g. ITI-43 or ITI-18 Get* by id). Raises SoapFault.
    """
    if mode is SecurityMode.OFF:
        return None
    assertion = find_assertion(headers)
    if assertion is None:
        if mode is SecurityMode.REQUIRED:
            raise security_fault(
                SecurityFault.INVALID_SECURITY,
                "a signed SAML 2.0 assertion is required in the wsse:Security header",
            )
        return None
    if verifier is None:
        raise SoapFault(FaultCode.RECEIVER, "no assertion verifier is configured")
    patient = patient_of(payload) if patient_of is not None else None
    try:
        return verifier.verify(
            assertion,
            tls_structure_id=client.structure_id if client is not None else None,
            body_patient_id=patient,
        )
    except AssertionRejected as exc:
        raise fault_for(exc) from None


def find_assertion(headers: Sequence[etree._Element]) -> etree._Element | None:
    """The saml2:Assertion of the (single) wsse:Security header; None when there is none."""
    blocks = [block for block in headers if block.tag == SECURITY]
    if not blocks:
        return None
    if len(blocks) > 1:
        raise security_fault(SecurityFault.INVALID_SECURITY, "several wsse:Security headers")
    assertions = [child for child in blocks[0] if child.tag == ASSERTION]
    if len(assertions) > 1:
        raise security_fault(
            SecurityFault.INVALID_SECURITY, "several SAML assertions in wsse:Security"
        )
    return assertions[0] if assertions else None


def fault_for(exc: AssertionRejected) -> SoapFault:
    """The SOAP fault answering a refused assertion; the reason says why, for the caller."""
    if isinstance(exc, ReplayCacheFull):
        log.warning("assertion not checked: %s", exc)
        return SoapFault(FaultCode.RECEIVER, f"cannot check the assertion now: {exc}")
    for kind, code in FAULTS:
        if isinstance(exc, kind):
            return security_fault(code, f"assertion refused ({type(exc).__name__}): {exc}")
    return security_fault(
        SecurityFault.INVALID_SECURITY, f"assertion refused ({type(exc).__name__}): {exc}"
    )


def security_fault(code: SecurityFault, reason: str) -> SoapFault:
    return SoapFault(FaultCode.SENDER, reason, subcodes=(f"{{{WSSE}}}{code.value}",))


__all__ = [
    "ASSERTION",
    "FAULTS",
    "SECURITY",
    "SecurityFault",
    "fault_for",
    "find_assertion",
    "read_security",
    "security_fault",
]
