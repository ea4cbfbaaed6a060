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
from pki.assertion import (
    AuthenticationMode,
    Code,
    PurposeOfUse,
    Requester,
    SignatureAlgorithm,
    Software,
    VihfOptions,
    build_vihf,
    issuer_name,
    sign_assertion,
)
from pki.assertion.names import PROFESSION_SYSTEM
from pki.structure import structure_id
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


class ForwardingSigner:
    """The VIHF a repository serving alone puts on the ITI-42 it forwards to a secured registry.

    Sealed by the repository's own establishment (its SIGN certificate, its structure, which
    the registry holds to the TLS client certificate the repository presents), it carries the
    original requester of the ITI-41 (professional, roles, authentication mode, purpose) so that
    the registry decides and audits on who asked; without one, the repository's own system
    identity (its structure as the professional, INDIRECTE: it may feed, not consult).
    """

    def __init__(self, sign_key: Path, sign_cert: Path, software: Software) -> None:
        self.cert = read_cert(sign_cert)
        self.key = read_key(sign_key)
        self.structure = structure_id(self.cert)
        self.software = software

    def for_requester(self, requester: Requester | None) -> AssertionSource:
        if requester is None:
            options = VihfOptions(
                professional_id=self.structure,
                professional_name=f"{self.software.name} (system)",
                roles=[Code("10", PROFESSION_SYSTEM)],
                structure_id=self.structure,
                sector=DEFAULT_SECTOR,
                patient_id="",
                software=self.software,
            )
        else:
            options = VihfOptions(
                professional_id=requester.professional_id,
                professional_name=requester.name,
                roles=list(requester.roles) or [Code("10", PROFESSION_SYSTEM)],
                structure_id=self.structure,
                sector=requester.sector or DEFAULT_SECTOR,
                patient_id=requester.patient_id or "",
                software=self.software,
                authentication_mode=_mode(requester.authentication_mode),
                purpose_of_use=_purpose(requester.purpose_of_use),
            )

        def sign(patient_id: str | None) -> etree._Element:
            stated = replace(options, patient_id=patient_id or options.patient_id)
            assertion = build_vihf(stated, issuer=issuer_name(self.cert))
            return sign_assertion(assertion, self.key, self.cert)

        return sign


DEFAULT_SECTOR = "SA01^1.2.250.1.71.4.2.4"


def _mode(value: str | None) -> AuthenticationMode:
    try:
        return AuthenticationMode(value or AuthenticationMode.INDIRECT.value)
    except ValueError:
        return AuthenticationMode.INDIRECT


def _purpose(code: Code | None) -> PurposeOfUse:
    try:
        return PurposeOfUse(code.code) if code is not None else PurposeOfUse.NORMAL
    except ValueError:
        return PurposeOfUse.NORMAL


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
