"""The client side of the wire: XDS.b transactions over SOAP 1.2, MTOM where documents travel.

Public API::

    client = XdsClient("http://127.0.0.1:8080")
    response = client.provide_and_register(metadata, {"Document01": Path("cda.xml")})  # ITI-41
    answer = client.query(StoredQueryRequest(FindDocumentsQuery(...)))  # ITI-18, via zeep
    result = client.retrieve([DocumentLocator(repo, uid)], lambda loc: Path("out.xml"))  # ITI-43
    client.update(metadata)                                  # ITI-57, at <registry>/update
    client.delete(["urn:uuid:…"])                            # ITI-62, at <registry>/delete
    client.remove_documents([DocumentLocator(repo, uid)])    # ITI-86, at <repository>/remove
    RemoteRegistry("http://registry:8080").register(metadata)   # ITI-42, a RegistryClient
    client.records.grant(patient_id, professional_id)        # record management, /xds/records

Mutual TLS and signed assertions: `XdsClient(url, cert=(cert, key), verify=ca_bundle,
assertions=VihfSigner(options, sign_key, sign_cert))` (`soap.client.security`).

Faults raise `FaultError` (code, subcodes, reason); no SOAP answer at all, `TransportError`.
"""

from soap.client.errors import ClientError, FaultError, TransportError
from soap.client.exchange import DEFAULT_TIMEOUT, Answer, SoapExchange
from soap.client.records import RecordsClient
from soap.client.security import AssertionSource, ForwardingSigner, SecurityPlugin, VihfSigner
from soap.client.xds import (
    DEFAULT_URL,
    QueryAnswer,
    RemoteRegistry,
    RetrieveAnswer,
    RetrievedFile,
    XdsClient,
    endpoint,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_URL",
    "Answer",
    "AssertionSource",
    "ClientError",
    "FaultError",
    "ForwardingSigner",
    "QueryAnswer",
    "RecordsClient",
    "RemoteRegistry",
    "RetrieveAnswer",
    "RetrievedFile",
    "SecurityPlugin",
    "SoapExchange",
    "TransportError",
    "VihfSigner",
    "XdsClient",
    "endpoint",
]
