"""The served WSDLs: official shape, our address, schemas loadable by zeep from the server alone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import zeep
from lxml import etree
from soap_support import FakeRepository, call
from zeep.transports import Transport

from soap import SoapSettings, make_app

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"


class _RegistryStub:
    def register(self, metadata):  # pragma: no cover - never called here
        raise AssertionError

    def query(self, request):  # pragma: no cover
        raise AssertionError


@pytest.fixture
def app():
    return make_app(registry=_RegistryStub(), repository=FakeRepository())


class InProcessTransport(Transport):
    """zeep's transport, answered by the WSGI app; any other URL fails (no network in tests)."""

    def __init__(self, app) -> None:
        super().__init__()
        self.app = app
        self.loaded: list[str] = []

    def load(self, url: str) -> bytes:
        parts = urlsplit(url)
        assert parts.netloc == "xds.test:8080", url
        self.loaded.append(url)
        answer = call(self.app, parts.path, method="GET", query=parts.query)
        assert answer.status == 200, url
        return answer.body


@pytest.mark.parametrize(
    ("path", "operations"),
    [
        (
            "/xds/registry",
            {"DocumentRegistry_RegisterDocumentSet-b", "DocumentRegistry_RegistryStoredQuery"},
        ),
        (
            "/xds/repository",
            {
                "DocumentRepository_ProvideAndRegisterDocumentSet-b",
                "DocumentRepository_RetrieveDocumentSet",
            },
        ),
    ],
)
def test_zeep_loads_the_served_wsdl(app, path, operations):
    transport = InProcessTransport(app)
    client = zeep.Client(f"http://xds.test:8080{path}?wsdl", transport=transport)
    service = next(iter(client.wsdl.services.values()))
    port = next(iter(service.ports.values()))
    assert port.binding_options["address"] == f"http://xds.test:8080{path}"
    assert set(port.binding._operations) == operations
    assert any("xsd=schema/xml.xsd" in url for url in transport.loaded)
    assert client.get_element("{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryResponse")


def test_wsdl_address_uses_public_url_when_configured():
    app = make_app(
        repository=FakeRepository(), settings=SoapSettings(public_url="https://xds.example.org")
    )
    root = etree.fromstring(call(app, "/xds/repository", method="GET", query="wsdl").body)
    address = root.find(f".//{{{SOAP12}}}address")
    assert address.get("location") == "https://xds.example.org/xds/repository"
    includes = root.iter("{http://www.w3.org/2001/XMLSchema}include")
    assert all(i.get("schemaLocation").startswith("https://xds.example.org/") for i in includes)


def test_registry_wsdl_drops_the_unpublished_hl7v3_operations(app):
    root = etree.fromstring(call(app, "/xds/registry", method="GET", query="wsdl").body)
    schemas = root.iter("{http://www.w3.org/2001/XMLSchema}schema")
    assert "urn:hl7-org:v3" not in {s.get("targetNamespace") for s in schemas}
    assert "PRPA" not in etree.tostring(root).decode()


def test_rim_schema_imports_xml_xsd_from_the_server(app):
    body = call(app, "/xds/registry", method="GET", query="xsd=schema/ebRS/rim.xsd").body
    imports = etree.fromstring(body).iter("{http://www.w3.org/2001/XMLSchema}import")
    locations = [i.get("schemaLocation") for i in imports]
    assert locations == ["http://xds.test:8080/xds/registry?xsd=schema/xml.xsd"]


@pytest.mark.parametrize("query", ["xsd=../../etc/passwd", "xsd=schema/ebRS/cms.xsd", "foo"])
def test_only_the_published_schemas_are_served(app, query):
    assert call(app, "/xds/registry", method="GET", query=query).status == 404
