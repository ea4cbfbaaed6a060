"""WS-Addressing layer: required headers, the Action served, and the reply's headers."""

from __future__ import annotations

import pytest
from soap_support import PNR, REGISTER, RETRIEVE, WSA, FakeRepository, call, envelope, root_of

from ebrim.xdsb import DocumentLocator, render_retrieve_document_set_request
from soap import make_app

PATH = "/xds/repository"
BODY = render_retrieve_document_set_request([DocumentLocator("1.2.3", "4.5.6")])
MESSAGE_ID = "urn:uuid:6d296e90-e5dc-43d0-b455-7c1f3eb35d83"


@pytest.fixture
def app():
    return make_app(repository=FakeRepository())


def test_reply_carries_response_action_relates_to_and_own_message_id(app):
    answer = call(app, PATH, envelope(RETRIEVE, BODY, message_id=MESSAGE_ID))
    assert answer.status == 200
    xml = root_of(answer)
    ns = {"wsa": WSA}
    assert xml.findtext(".//wsa:Action", namespaces=ns) == f"{RETRIEVE}Response"
    assert xml.findtext(".//wsa:RelatesTo", namespaces=ns) == MESSAGE_ID
    own = xml.findtext(".//wsa:MessageID", namespaces=ns)
    assert own and own.startswith("urn:uuid:") and own != MESSAGE_ID


def test_action_of_another_endpoint_is_action_not_supported(app):
    answer = call(app, PATH, envelope(REGISTER, BODY))
    assert answer.status == 400
    assert answer.fault_codes() == ["env:Sender", "wsa:ActionNotSupported"]
    assert answer.header("Action") == f"{WSA}/fault"


def test_missing_action_is_message_addressing_header_required(app):
    answer = call(app, PATH, envelope(None, BODY))
    assert answer.fault_codes() == ["env:Sender", "wsa:MessageAddressingHeaderRequired"]


def test_missing_message_id_is_message_addressing_header_required(app):
    answer = call(app, PATH, envelope(RETRIEVE, BODY, message_id=None))
    assert answer.status == 400
    assert answer.fault_codes() == ["env:Sender", "wsa:MessageAddressingHeaderRequired"]
    assert b"MessageID" in answer.body


def test_fault_relates_to_the_request_message_id(app):
    answer = call(app, PATH, envelope(REGISTER, BODY, message_id=MESSAGE_ID))
    assert answer.header("RelatesTo") == MESSAGE_ID


def test_non_anonymous_reply_to_is_refused(app):
    extra = "<wsa:FaultTo><wsa:Address>http://client.example/cb</wsa:Address></wsa:FaultTo>"
    answer = call(app, PATH, envelope(RETRIEVE, BODY, extra=extra))
    assert answer.fault_codes() == [
        "env:Sender",
        "wsa:InvalidAddressingHeader",
        "wsa:OnlyAnonymousAddressSupported",
    ]


def test_action_given_twice_is_invalid_cardinality(app):
    extra = f"<wsa:Action>{RETRIEVE}</wsa:Action>"
    answer = call(app, PATH, envelope(RETRIEVE, BODY, extra=extra))
    assert answer.fault_codes()[-1] == "wsa:InvalidCardinality"


def test_http_action_parameter_must_match_wsa_action(app):
    content_type = f'application/soap+xml; charset=UTF-8; action="{PNR}"'
    answer = call(app, PATH, envelope(RETRIEVE, BODY), content_type=content_type)
    assert answer.fault_codes()[-1] == "wsa:ActionMismatch"


def test_matching_http_action_parameter_is_accepted(app):
    content_type = f'application/soap+xml; charset=UTF-8; action="{RETRIEVE}"'
    assert call(app, PATH, envelope(RETRIEVE, BODY), content_type=content_type).status == 200
