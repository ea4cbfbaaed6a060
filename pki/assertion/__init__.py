"""SAML 2.0 assertions naming who calls: the French VIHF and generic IHE XUA.

Client side: `build_vihf` / `build_xua` then `sign_assertion`. Server side:
`AssertionVerifier(...).verify(...)` returns a `Requester` or raises a subclass of
`AssertionRejected` (the tree is drawn in `pki.assertion.errors`).
"""

from pki.assertion.build import build_vihf, build_xua, issuer_name
from pki.assertion.errors import (
    AssertionRejected,
    DisallowedAlgorithm,
    ExpiredAssertion,
    InvalidAttribute,
    InvalidSignature,
    IssuerMismatch,
    MalformedAssertion,
    MissingAttribute,
    NotYetValid,
    PatientMismatch,
    ReplayCacheFull,
    ReplayedAssertion,
    StaleAssertion,
    StructureMismatch,
    UnsignedAssertion,
    UntrustedCertificate,
    WrappedAssertion,
)
from pki.assertion.model import Code, Requester, Software, VihfOptions, XuaOptions
from pki.assertion.names import AuthenticationMode, PurposeOfUse, SignatureAlgorithm
from pki.assertion.replay import ReplayCache, ReplayGuard
from pki.assertion.sign import sign_assertion
from pki.assertion.verify import AssertionVerifier

__all__ = [
    "AssertionRejected",
    "AssertionVerifier",
    "AuthenticationMode",
    "Code",
    "DisallowedAlgorithm",
    "ExpiredAssertion",
    "InvalidAttribute",
    "InvalidSignature",
    "IssuerMismatch",
    "MalformedAssertion",
    "MissingAttribute",
    "NotYetValid",
    "PatientMismatch",
    "PurposeOfUse",
    "ReplayCache",
    "ReplayCacheFull",
    "ReplayGuard",
    "ReplayedAssertion",
    "Requester",
    "SignatureAlgorithm",
    "Software",
    "StaleAssertion",
    "StructureMismatch",
    "UnsignedAssertion",
    "UntrustedCertificate",
    "VihfOptions",
    "WrappedAssertion",
    "XuaOptions",
    "build_vihf",
    "build_xua",
    "issuer_name",
    "sign_assertion",
]
