"""Why an assertion is refused; the SOAP layer maps each class to a WS-Security fault.

Exception tree::

    AssertionRejected           base: the request must not proceed
    ├── MalformedAssertion      not a well-formed SAML 2.0 Assertion (tag, Version, ID, times)
    ├── UnsignedAssertion       no ds:Signature at all
    ├── WrappedAssertion        the signature does not cover exactly this whole assertion:
    │                           Signature not a child of the Assertion, several Signatures or
    │                           References, a Reference to another ID, a duplicated ID,
    │                           transforms other than enveloped-signature + exc-c14n
    ├── InvalidSignature        digest or signature value does not verify (tampering, other key)
    │   └── DisallowedAlgorithm signature, digest or c14n algorithm outside the allow-list
    │                           (rsa-sha1 unless legacy algorithms are allowed)
    ├── UntrustedCertificate    no certificate in KeyInfo, no chain to a trusted CA, outside its
    │   │                       validity, revoked
    │   └── IssuerMismatch      saml:Issuer does not name the signing certificate
    ├── ExpiredAssertion        now is at or past Conditions/@NotOnOrAfter (plus clock skew)
    │   ├── NotYetValid         now is before Conditions/@NotBefore, or IssueInstant is future
    │   └── StaleAssertion      IssueInstant is older than the maximum age
    ├── ReplayedAssertion       this (Issuer, ID) was already accepted
    ├── ReplayCacheFull         more live assertions than the replay cache holds (fail closed;
    │                           a "busy" fault, not the caller's fault)
    ├── InvalidAttribute        an attribute has a value outside its vocabulary, or repeats
    │   └── MissingAttribute    an attribute the profile requires is absent
    ├── StructureMismatch       Identifiant_Structure differs from the TLS certificate's structure
    └── PatientMismatch         resource-id differs from the request body's patient id
"""

from __future__ import annotations


class AssertionRejected(Exception):
    """An assertion that must not be trusted; `str()` says why, for the fault and the audit."""


class MalformedAssertion(AssertionRejected):
    pass


class UnsignedAssertion(AssertionRejected):
    pass


class WrappedAssertion(AssertionRejected):
    pass


class InvalidSignature(AssertionRejected):
    pass


class DisallowedAlgorithm(InvalidSignature):
    pass


class UntrustedCertificate(AssertionRejected):
    pass


class IssuerMismatch(UntrustedCertificate):
    pass


class ExpiredAssertion(AssertionRejected):
    pass


class NotYetValid(ExpiredAssertion):
    pass


class StaleAssertion(ExpiredAssertion):
    pass


class ReplayedAssertion(AssertionRejected):
    pass


class ReplayCacheFull(AssertionRejected):
    pass


class InvalidAttribute(AssertionRejected):
    pass


class MissingAttribute(InvalidAttribute):
    pass


class StructureMismatch(AssertionRejected):
    pass


class PatientMismatch(AssertionRejected):
    pass
