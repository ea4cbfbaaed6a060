"""Replies are written from serialized header blocks (`write_reply`): the same bytes as the
element path (`write_envelope` of `reply_headers`), which a fault still takes."""

from __future__ import annotations

import uuid

import pytest

from ebrim.errors import ErrorCode, XDSError
from ebrim.model import RegistryResponse
from ebrim.render import render_registry_response
from ebrim.xdsb import render_retrieve_document_set_response
from soap import addressing
from soap.addressing import reply_header_xml, reply_headers
from soap.envelope import write_envelope, write_reply
from soap.operations import PROVIDE_AND_REGISTER

PROVIDE_AND_REGISTER_RESPONSE = f"{PROVIDE_AND_REGISTER}Response"

FIXED = uuid.UUID("12345678-1234-4234-8234-123456789abc")


@pytest.fixture(autouse=True)
def fixed_message_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(addressing, "new_uuid4", lambda: FIXED)


FAILURE = RegistryResponse.from_errors(
    [XDSError(ErrorCode.XDSRegistryMetadataError, 'a "quoted" <bad> & valeur née', "urn:uuid:x")]
)
PAYLOADS = {  # each call renders a new one, as the operations do: the element path moves it
    "success": lambda: render_registry_response(RegistryResponse.from_errors([])),
    "failure": lambda: render_registry_response(FAILURE),
    "retrieve": lambda: render_retrieve_document_set_response(FAILURE, []),
}


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize(
    "relates_to",
    [
        "urn:uuid:0f0e8a3c-1d2b-4c5d-8e9f-a0b1c2d3e4f5",
        "odd & <id> \r with 'quotes' \"too\" é",
        None,
    ],
)
def test_reply_bytes_are_those_of_the_element_path(payload: str, relates_to: str | None) -> None:
    action = PROVIDE_AND_REGISTER_RESPONSE
    fast = write_reply(reply_header_xml(action, relates_to), PAYLOADS[payload]())
    slow = write_envelope(
        reply_headers(action, relates_to, message_id=f"urn:uuid:{FIXED}"), PAYLOADS[payload]()
    )
    assert fast == slow


def test_each_reply_has_its_own_message_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(addressing, "new_uuid4", uuid.uuid4)
    first = reply_header_xml(PROVIDE_AND_REGISTER_RESPONSE, "urn:uuid:a")
    second = reply_header_xml(PROVIDE_AND_REGISTER_RESPONSE, "urn:uuid:a")
    assert first != second
