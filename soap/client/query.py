"""ITI-18 through zeep: the registry's served WSDL drives the operation, envelope and addressing.

zeep loads `<registry>?wsdl` (and the schemas it points at, all served by the registry)
once, on the first query. The request is our `render_adhoc_query_request` element read into
zeep's typed value of query:AdhocQueryRequest, so zeep writes the envelope from the schema;
the answer is taken raw and read by `ebrim.parse`, so the model is the one the rest of the
project uses (zeep's own objects would be a second, weaker model of the same XML).
"""

from __future__ import annotations

import io
import threading
from typing import Any

import requests
import zeep
from zeep.transports import Transport

from ebrim.errors import XMLRejected
from ebrim.safexml import MAX_PROLOG_BYTES, refuse_doctype
from ebrim.storedquery import StoredQueryRequest
from ebrim.storedquery.render import render_adhoc_query_request
from ebrim.vocabulary import Namespace
from soap.client.errors import TransportError
from soap.client.exchange import Answer, SoapExchange, checked
from soap.client.security import SecurityPlugin
from soap.operations import STORED_QUERY

_ADHOC_QUERY_REQUEST = f"{{{Namespace.QUERY.value}}}AdhocQueryRequest"
_OPERATION = "DocumentRegistry_RegistryStoredQuery"


class _DoctypeRefusingTransport(Transport):
    """zeep's transport, refusing a WSDL or schema with a DOCTYPE before zeep's lxml parses it.

    zeep parses what the registry serves with its own parser, whose resolver hands `file:`
    URIs to libxml2: a DOCTYPE naming a local file would be read on the client's machine.
    """

    def load(self, url: str) -> bytes:
        content: bytes = super().load(url)
        try:
            refuse_doctype(content[: MAX_PROLOG_BYTES + 1024])
        except XMLRejected as exc:
            raise zeep.exceptions.Error(f"{url}: {exc}") from None
        return content


class ZeepStoredQuery:
    """`query(request)` → the AdhocQueryResponse's `Answer`, sent by a zeep client."""

    def __init__(self, registry_url: str, exchange: SoapExchange) -> None:
        self.registry_url = registry_url
        self.exchange = exchange
        self._client: zeep.Client | None = None
        self._lock = threading.Lock()

    def client(self) -> zeep.Client:
        with self._lock:
            if self._client is None:
                connect, read = self.exchange.timeout
                transport = _DoctypeRefusingTransport(
                    session=self.exchange.session, timeout=connect, operation_timeout=read
                )
                try:
                    # The WSDL declares wsaw:UsingAddressing: zeep then writes wsa:Action,
                    # MessageID and To itself (a WsAddressingPlugin would add them twice).
                    plugins = []
                    if self.exchange.assertions is not None:
                        plugins.append(SecurityPlugin(self.exchange.assertions, STORED_QUERY))
                    self._client = zeep.Client(
                        f"{self.registry_url}?wsdl",
                        transport=transport,
                        plugins=plugins,
                        settings=zeep.Settings(forbid_dtd=True, forbid_external=False),
                    )
                except (requests.RequestException, zeep.exceptions.Error) as exc:
                    raise TransportError(f"cannot load {self.registry_url}?wsdl: {exc}") from exc
            return self._client

    def __call__(self, request: StoredQueryRequest) -> Answer:
        client = self.client()
        element = client.get_element(_ADHOC_QUERY_REQUEST)
        value = element.parse(render_adhoc_query_request(request), client.wsdl.types)
        arguments: dict[str, Any] = {
            key: item for key, item in value.__values__.items() if item is not None
        }
        service = client.bind(*_first_port(client))
        try:
            with client.settings(raw_response=True):
                response = getattr(service, _OPERATION)(**arguments)
        except (requests.RequestException, zeep.exceptions.Error) as exc:
            raise TransportError(f"ITI-18 to {self.registry_url}: {exc}") from exc
        answer = self.exchange.read_answer(
            response.headers.get("Content-Type", ""),
            io.BytesIO(response.content),
            response.status_code,
        )
        return checked(answer)


def _first_port(client: zeep.Client) -> tuple[str, str]:
    service = next(iter(client.wsdl.services.values()))
    return service.name, next(iter(service.ports))


__all__ = ["ZeepStoredQuery"]
