"""SOAP 1.2 faults: the one exception of the wire layer and its rendering.

Exception tree::

    SoapFault                 code + optional subcode + readable reason
    └── (raised by envelope, addressing, mtom, http reading and the handlers)

HTTP status follows the SOAP 1.2 HTTP binding: 400 for env:Sender, 500 otherwise;
`http_status` overrides it (413 for an oversized request).
"""

from __future__ import annotations

import re
from enum import StrEnum

from lxml import etree

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSA_FAULT_ACTION = f"{WSA}/fault"
SOAP_FAULT_ACTION = f"{WSA}/soap/fault"


class FaultCode(StrEnum):
    """env:Code/env:Value (SOAP 1.2 part 1, 5.4.6)."""

    VERSION_MISMATCH = "VersionMismatch"
    MUST_UNDERSTAND = "MustUnderstand"
    DATA_ENCODING_UNKNOWN = "DataEncodingUnknown"
    SENDER = "Sender"
    RECEIVER = "Receiver"


class AddressingFault(StrEnum):
    """WS-Addressing 1.0 SOAP binding, section 6.4: subcodes of env:Sender."""

    INVALID_ADDRESSING_HEADER = "InvalidAddressingHeader"
    MESSAGE_ADDRESSING_HEADER_REQUIRED = "MessageAddressingHeaderRequired"
    ACTION_NOT_SUPPORTED = "ActionNotSupported"
    ENDPOINT_UNAVAILABLE = "EndpointUnavailable"
    ONLY_ANONYMOUS_ADDRESS_SUPPORTED = "OnlyAnonymousAddressSupported"
    ACTION_MISMATCH = "ActionMismatch"
    INVALID_CARDINALITY = "InvalidCardinality"


class SoapFault(Exception):
    """An envelope-level problem, answered with a SOAP 1.2 fault instead of a RegistryResponse.

    `subcodes` are qualified names in Clark notation (`{ns}local`), outermost first.
    """

    def __init__(
        self,
        code: FaultCode,
        reason: str,
        *,
        subcodes: tuple[str, ...] = (),
        http_status: int | None = None,
    ) -> None:
        reason = xml_text(reason)
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.subcodes = subcodes
        self._http_status = http_status

    @property
    def http_status(self) -> int:
        if self._http_status is not None:
            return self._http_status
        return 400 if self.code is FaultCode.SENDER else 500

    @property
    def action(self) -> str:
        """The wsa:Action of the fault message: WS-A's own for addressing faults."""
        if self.subcodes and etree.QName(self.subcodes[0]).namespace == WSA:
            return WSA_FAULT_ACTION
        return SOAP_FAULT_ACTION


# Characters XML 1.0 cannot carry: a reason quoting outside bytes (a MIME header, say)
# would otherwise make the fault itself unwritable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` with the characters XML cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def sender(reason: str, *, http_status: int | None = None) -> SoapFault:
    return SoapFault(FaultCode.SENDER, reason, http_status=http_status)


def receiver(reason: str) -> SoapFault:
    return SoapFault(FaultCode.RECEIVER, reason)


def addressing(kind: AddressingFault, reason: str, *detail: AddressingFault) -> SoapFault:
    """A wsa: fault (always env:Sender); `detail` adds a deeper subcode such as ActionMismatch."""
    subcodes = tuple(f"{{{WSA}}}{k.value}" for k in (kind, *detail))
    return SoapFault(FaultCode.SENDER, reason, subcodes=subcodes)


_PREFIXES = {WSA: "wsa", WSSE: "wsse"}


def render_fault(fault: SoapFault) -> etree._Element:
    """The env:Fault element (the body's only child)."""
    root = etree.Element(f"{{{SOAP_ENV}}}Fault", nsmap={"env": SOAP_ENV, "wsa": WSA})
    parent = etree.SubElement(root, f"{{{SOAP_ENV}}}Code")
    etree.SubElement(parent, f"{{{SOAP_ENV}}}Value").text = f"env:{fault.code.value}"
    for subcode in fault.subcodes:
        parent = etree.SubElement(parent, f"{{{SOAP_ENV}}}Subcode")
        name = etree.QName(subcode)
        # A QName in text content needs its prefix declared by hand where it is used.
        prefix = _PREFIXES.get(name.namespace or "", "sub")
        nsmap = {} if prefix == "wsa" else {prefix: name.namespace or ""}
        value = etree.SubElement(parent, f"{{{SOAP_ENV}}}Value", nsmap=nsmap)
        value.text = f"{prefix}:{name.localname}"
    reason = etree.SubElement(root, f"{{{SOAP_ENV}}}Reason")
    text = etree.SubElement(reason, f"{{{SOAP_ENV}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = fault.reason
    return root


def upgrade_header() -> etree._Element:
    """env:Upgrade for a VersionMismatch fault: we speak SOAP 1.2 only (SOAP 1.2 part 1, 5.4.7)."""
    upgrade = etree.Element(f"{{{SOAP_ENV}}}Upgrade", nsmap={"env": SOAP_ENV})
    etree.SubElement(
        upgrade, f"{{{SOAP_ENV}}}SupportedEnvelope", qname="ns:Envelope", nsmap={"ns": SOAP_ENV}
    )
    return upgrade
