"""The official IHE WSDLs and their schemas, served with this server's addresses filled in.

The files under `soap/ihe/` are copies of ITI's (`wsdl/`, `schema/` side by side as
published). Served, every schemaLocation points back at this endpoint (`?xsd=<path>`), so a
client such as zeep loads everything from the server alone; the W3C `xml.xsd` import is
served locally too. The registry WSDL's HL7 v3 patient-feed operations (ITI-44) are
dropped: their schemas are not published with the WSDL and this registry does not serve them.

The RMD and RMU WSDLs are served with three repairs, each with its reason:
- their SOAP 1.1 bindings and ports are dropped: this server speaks SOAP 1.2 only (as XDS.b
  asks), and a client taking the first port would otherwise pick a binding we refuse;
- `RMD_DocumentRegistry.wsdl` includes `../schema/IHE/XDSb.xsd`, which ITI does not publish
  and which declares nothing the WSDL uses: that empty schema is dropped;
- `RMU_UpdateResponder.wsdl` describes ITI-92 Restricted Update (action
  urn:ihe:iti:2018:RestrictedUpdateDocumentSet). ITI-57 has the same messages
  (lcm:SubmitObjectsRequest → rs:RegistryResponse) and no WSDL of its own among ITI's, so
  the update endpoint serves that WSDL with ITI-57's actions and operation name.
"""

from __future__ import annotations

import posixpath
from functools import cache
from importlib import resources

from lxml import etree

from ebrim.safexml import parse_xml

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
SOAP12_NS = "http://schemas.xmlsoap.org/wsdl/soap12/"
HL7_NS = "urn:hl7-org:v3"
REGISTRY_WSDL = "wsdl/XDS.b_DocumentRegistry.wsdl"
REPOSITORY_WSDL = "wsdl/XDS.b_DocumentRepository.wsdl"
UPDATE_WSDL = "wsdl/RMU_UpdateResponder.wsdl"
DELETE_WSDL = "wsdl/RMD_DocumentRegistry.wsdl"
REMOVE_DOCUMENTS_WSDL = "wsdl/RMD_DocumentRepository.wsdl"
WSAW_NS = "http://www.w3.org/2006/05/addressing/wsdl/"  # as the RMD/RMU WSDLs write it
SOAP11_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
_ITI_92 = "urn:ihe:iti:2018:RestrictedUpdateDocumentSet"
_ITI_57 = "urn:ihe:iti:2010:UpdateDocumentSet"
_ITI_92_OPERATION = "UpdateResponder_RestrictedUpdateDocumentSet"
_ITI_57_OPERATION = "UpdateResponder_UpdateDocumentSet"
_REMOTE = {"http://www.w3.org/2001/xml.xsd": "schema/xml.xsd"}
SCHEMAS = frozenset(
    {
        "schema/xml.xsd",
        "schema/ebRS/rim.xsd",
        "schema/ebRS/rs.xsd",
        "schema/ebRS/lcm.xsd",
        "schema/ebRS/query.xsd",
        "schema/IHE/XDS.b_DocumentRepository.xsd",
        "schema/IHE/RMD.xsd",
    }
)


@cache
def _packaged(path: str) -> bytes:
    return resources.files("soap").joinpath("ihe", path).read_bytes()


def render_wsdl(name: str, endpoint_url: str) -> bytes:
    """The WSDL `name` (one of the `*_WSDL` constants) as served at `endpoint_url`."""
    root = parse_xml(_packaged(name))
    if name == REGISTRY_WSDL:
        _drop_hl7(root)
    if name in (UPDATE_WSDL, DELETE_WSDL, REMOVE_DOCUMENTS_WSDL):
        _drop_soap11(root)
        _drop_unpublished_schemas(root, name)
    if name == UPDATE_WSDL:
        _as_iti57(root)
    for address in root.iter(f"{{{SOAP12_NS}}}address"):
        address.set("location", endpoint_url)
    _relocate(root, name, endpoint_url)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def render_schema(path: str, endpoint_url: str) -> bytes | None:
    """A schema of `SCHEMAS` with its imports pointing at `endpoint_url`, None if not served."""
    if path not in SCHEMAS:
        return None
    root = parse_xml(_packaged(path))
    _relocate(root, path, endpoint_url)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _relocate(root: etree._Element, own_path: str, endpoint_url: str) -> None:
    for tag in ("import", "include"):
        for node in root.iter(f"{{{XSD_NS}}}{tag}"):
            location = node.get("schemaLocation")
            if not location:
                continue
            target = _REMOTE.get(location) or posixpath.normpath(
                posixpath.join(posixpath.dirname(own_path), location)
            )
            if target in SCHEMAS:
                node.set("schemaLocation", f"{endpoint_url}?xsd={target}")


def _drop_hl7(root: etree._Element) -> None:
    """Remove the HL7 v3 schemas, messages and operations (see the module docstring)."""
    w = f"{{{WSDL_NS}}}"
    for schema in list(root.iter(f"{{{XSD_NS}}}schema")):
        if schema.get("targetNamespace") == HL7_NS:
            _remove(schema)
    hl7_messages = set()
    for message in list(root.iter(f"{w}message")):
        parts = message.findall(f"{w}part")
        if any(p.get("element", "").startswith("hl7:") for p in parts):
            hl7_messages.add(f"ihe:{message.get('name')}")
            _remove(message)
    dropped = set()
    for operation in list(root.iterfind(f"{w}portType/{w}operation")):
        input_ = operation.find(f"{w}input")
        if input_ is not None and input_.get("message") in hl7_messages:
            dropped.add(operation.get("name"))
            _remove(operation)
    for operation in list(root.iterfind(f"{w}binding/{w}operation")):
        if operation.get("name") in dropped:
            _remove(operation)


def _drop_soap11(root: etree._Element) -> None:
    w = f"{{{WSDL_NS}}}"
    dropped = set()
    for binding in list(root.iterfind(f"{w}binding")):
        if binding.find(f"{{{SOAP11_NS}}}binding") is not None:
            dropped.add(binding.get("name"))
            _remove(binding)
    for port in list(root.iterfind(f"{w}service/{w}port")):
        if port.get("binding", "").rpartition(":")[2] in dropped:
            _remove(port)


def _drop_unpublished_schemas(root: etree._Element, own_path: str) -> None:
    """Remove inline schemas that only include a file ITI does not publish (XDSb.xsd)."""
    for schema in list(root.iter(f"{{{XSD_NS}}}schema")):
        includes = schema.findall(f"{{{XSD_NS}}}include")
        if len(schema) != len(includes) or not includes:
            continue
        targets = {
            posixpath.normpath(
                posixpath.join(posixpath.dirname(own_path), node.get("schemaLocation", ""))
            )
            for node in includes
        }
        if not targets & SCHEMAS:
            _remove(schema)


def _as_iti57(root: etree._Element) -> None:
    """The RMU (ITI-92) WSDL turned into ITI-57's: same messages, ITI-57 actions and name."""
    for node in root.iter():
        for attribute in ("soapAction", f"{{{WSAW_NS}}}Action"):
            value = node.get(attribute)
            if value is not None and value.startswith(_ITI_92):
                node.set(attribute, _ITI_57 + value[len(_ITI_92) :])
        if node.tag == f"{{{WSDL_NS}}}operation" and node.get("name") == _ITI_92_OPERATION:
            node.set("name", _ITI_57_OPERATION)  # the messages keep their names
    documentation = root.find(f"{{{WSDL_NS}}}documentation")
    if documentation is not None:
        documentation.text = "IHE ITI-57: Update Document Set (served from the RMU WSDL)"


def _remove(node: etree._Element) -> None:
    parent = node.getparent()
    if parent is not None:
        parent.remove(node)
