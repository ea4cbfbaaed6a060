"""SOAP 1.2 envelope layer: what is accepted, and the fault for everything else."""

from __future__ import annotations

import pytest
from soap_support import RETRIEVE, SOAP11, FakeRepository, call, envelope

from ebrim.xdsb import DocumentLocator, render_retrieve_document_set_request
from soap import make_app

PATH = "/xds/repository"
BODY = render_retrieve_document_set_request([DocumentLocator("1.2.3", "4.5.6")])


@pytest.fixture
def app():
    return make_app(repository=FakeRepository())


def test_soap12_envelope_is_answered(app):
    answer = call(app, PATH, envelope(RETRIEVE, BODY))
    assert answer.status == 200


def test_soap11_envelope_gets_version_mismatch_with_upgrade(app):
    answer = call(app, PATH, envelope(RETRIEVE, BODY, namespace=SOAP11), content_type="text/xml")
    assert answer.status == 500
    assert answer.fault_codes() == ["env:VersionMismatch"]
    upgrade = answer.xml.find(".//{http://www.w3.org/2003/05/soap-envelope}SupportedEnvelope")
    assert upgrade is not None


@pytest.mark.parametrize("body", [b"not xml at all", b"<unclosed>", b""])
def test_not_xml_is_a_sender_fault(app, body):
    answer = call(app, PATH, body)
    assert answer.status == 400
    assert answer.fault_codes() == ["env:Sender"]


@pytest.mark.parametrize(
    "name",
    [
        "billion_laughs.xml",
        "external_dtd.xml",
        "external_entity_file.xml",
        "external_entity_network.xml",
        "parameter_entity.xml",
    ],
)
def test_hostile_xml_is_a_sender_fault(app, test_data, name):
    answer = call(app, PATH, test_data(f"hostile/{name}"))
    assert answer.status == 400
    assert answer.fault_codes() == ["env:Sender"]
    assert b"SOAP message refused" in answer.body


def test_root_other_than_envelope_is_a_sender_fault(app):
    answer = call(app, PATH, b"<Envelope/>")
    assert answer.fault_codes() == ["env:Sender"]


def test_body_with_two_elements_is_a_sender_fault(app):
    two = envelope(RETRIEVE, b"<a/><b/>")
    answer = call(app, PATH, two)
    assert answer.fault_codes() == ["env:Sender"]
    assert b"exactly one element" in answer.body


def test_unknown_must_understand_header_gets_must_understand_fault(app):
    extra = '<x:Secret xmlns:x="urn:example" env:mustUnderstand="true"/>'
    answer = call(app, PATH, envelope(RETRIEVE, BODY, extra=extra))
    assert answer.status == 500
    assert answer.fault_codes() == ["env:MustUnderstand"]


def test_unknown_optional_header_is_ignored(app):
    extra = '<x:Note xmlns:x="urn:example">hello</x:Note>'
    assert call(app, PATH, envelope(RETRIEVE, BODY, extra=extra)).status == 200


def test_unsupported_content_type_is_415(app):
    answer = call(app, PATH, envelope(RETRIEVE, BODY), content_type="application/json")
    assert answer.status == 415
    assert answer.fault_codes() == ["env:Sender"]
