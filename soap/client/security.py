"""The client's half of WS-Security: a fresh signed assertion in each request's header.

An `AssertionSource` is called once per request with the patient the request's body names
(`soap.operations.PATIENT_OF`; None for ITI-43, ITI-62, ITI-86 and ITI-18 Get* queries)
and returns a signed saml2:Assertion. `VihfSigner` is the DMP one: `build_vihf` then
`sign_assertion` with the establishment's signing key. `SecurityPlugin` does the same for
the envelopes zeep writes (ITI-18).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from lxml import etree
from zeep import Plugin
from zeep.wsdl.utils import get_or_create_header

from pki._files import read_cert, read_key
from pki.assertion import SignatureAlgorithm, VihfOptions, build_vihf, issuer_name, sign_assertion
from soap.faults import SOAP_ENV, WSSE
from soap.operations import PATIENT_OF

AssertionSource = Callable[[str | None], etree._Element]
_MUST_UNDERSTAND = f"{{{SOAP_ENV}}}mustUnderstand"


class VihfSigner:
    """A fresh VIHF per request, signed with the establishment's SIGN certificate.

    `options.patient_id` is the patient asserted when the request's body names none
    (ITI-43 retrieve); otherwise the body's patient is asserted.
    """

    def __init__(
        self,
        options: VihfOptions,
        sign_key: Path,
        sign_cert: Path,
        *,
        algorithm: SignatureAlgorithm = SignatureAlgorithm.RSA_SHA256,
    ) -> None:
        self.options = options
        self.key = read_key(sign_key)
        self.cert = read_cert(sign_cert)
        self.algorithm = algorithm

    def __call__(self, patient_id: str | None) -> etree._Element:
        options = replace(self.options, patient_id=patient_id or self.options.patient_id)
        assertion = build_vihf(options, issuer=issuer_name(self.cert))
        return sign_assertion(assertion, self.key, self.cert, algorithm=self.algorithm)


def security_header(assertion: etree._Element) -> etree._Element:
    """A wsse:Security header block (mustUnderstand) holding `assertion`."""
    block = etree.Element(f"{{{WSSE}}}Security", nsmap={"wsse": WSSE})
    block.set(_MUST_UNDERSTAND, "true")
    block.append(assertion)
    return block


def request_security(
    source: AssertionSource | None, action: str, payload: etree._Element
) -> list[etree._Element]:
    """The Security header block for a request (none without a source)."""
    if source is None:
        return []
    patient_of = PATIENT_OF.get(action)
    return [security_header(source(patient_of(payload) if patient_of else None))]


class SecurityPlugin(Plugin):
    """Adds the Security header to the envelopes zeep sends for `action`."""

    def __init__(self, source: AssertionSource, action: str) -> None:
        self.source = source
        self.action = action

    def egress(
        self, envelope: etree._Element, http_headers: Any, operation: Any, binding_options: Any
    ) -> tuple[etree._Element, Any]:
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        payload = (
            next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
        )
        if payload is not None:
            header = get_or_create_header(envelope)
            header.extend(request_security(self.source, self.action, payload))
        return envelope, http_headers


__all__ = ["AssertionSource", "SecurityPlugin", "VihfSigner", "request_security", "security_header"]
