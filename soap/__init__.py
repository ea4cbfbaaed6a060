"""The SOAP 1.2 wire of the registry and repository: WS-Addressing, MTOM/XOP, faults, WSDLs.

Public API::

    app = make_app(registry=registry, repository=repository, settings=SoapSettings())
    # a WSGI callable serving /xds/registry (ITI-42, ITI-18) and /xds/repository (ITI-41, ITI-43)

Layers, one module each: `message` (HTTP body, limits) → `mtom`/`multipart` → `envelope`
→ `addressing` → `security` (WS-Security: the signed assertion, held against the TLS client
of `tls` and the body's patient) → `operations` (dispatch table) ; `faults` renders what goes
wrong, `wsdl` serves the official WSDLs.
"""

from soap.app import make_app
from soap.faults import AddressingFault, FaultCode, SoapFault
from soap.mtom import Attachment, MtomMessage, decode_mtom, encode_mtom
from soap.settings import SoapSettings

__all__ = [
    "AddressingFault",
    "Attachment",
    "FaultCode",
    "MtomMessage",
    "SoapFault",
    "SoapSettings",
    "decode_mtom",
    "encode_mtom",
    "make_app",
]
