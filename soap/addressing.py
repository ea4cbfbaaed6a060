"""WS-Addressing 1.0 (SOAP binding) as IHE ITI TF-2x V.3.2 uses it: synchronous exchanges only.

`read_addressing` checks the request's headers against the actions an endpoint serves;
`reply_headers` builds the response's (Action, MessageID, RelatesTo).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from lxml import etree

from ebrim.ids import new_uuid4
from soap.faults import WSA, AddressingFault, addressing

ANONYMOUS = f"{WSA}/anonymous"
NONE_ADDRESS = f"{WSA}/none"
_ACTION = f"{{{WSA}}}Action"
_MESSAGE_ID = f"{{{WSA}}}MessageID"
_TO = f"{{{WSA}}}To"
_REPLY_TO = f"{{{WSA}}}ReplyTo"
_FAULT_TO = f"{{{WSA}}}FaultTo"
_FROM = f"{{{WSA}}}From"
_RELATES_TO = f"{{{WSA}}}RelatesTo"
_ADDRESS = f"{{{WSA}}}Address"
_MUST_UNDERSTAND = "{http://www.w3.org/2003/05/soap-envelope}mustUnderstand"
_SINGLE = (_ACTION, _MESSAGE_ID, _TO, _REPLY_TO, _FAULT_TO, _FROM)


@dataclass(frozen=True)
class Addressing:
    """The request's message addressing properties."""

    action: str
    message_id: str
    to: str | None = None


def read_addressing(
    headers: Sequence[etree._Element], actions: Collection[str], *, http_action: str | None = None
) -> Addressing:
    """The addressing of a request to an endpoint serving `actions`, or a wsa: fault.

    `http_action` is the `action` parameter of the HTTP Content-Type, which must agree.
    """
    found: dict[str, list[etree._Element]] = {}
    for block in headers:
        found.setdefault(str(block.tag), []).append(block)
    for tag in _SINGLE:
        if len(found.get(tag, [])) > 1:
            local = etree.QName(tag).localname
            raise addressing(
                AddressingFault.INVALID_ADDRESSING_HEADER,
                f"wsa:{local} appears more than once",
                AddressingFault.INVALID_CARDINALITY,
            )
    action = _text(found, _ACTION)
    if not action:
        raise addressing(
            AddressingFault.MESSAGE_ADDRESSING_HEADER_REQUIRED, "the wsa:Action header is required"
        )
    if action not in actions:
        served = ", ".join(sorted(actions))
        raise addressing(
            AddressingFault.ACTION_NOT_SUPPORTED,
            f"action {action} is not served at this endpoint (it serves {served})",
        )
    if http_action is not None and http_action != action:
        raise addressing(
            AddressingFault.INVALID_ADDRESSING_HEADER,
            f"wsa:Action {action} differs from the HTTP action parameter {http_action}",
            AddressingFault.ACTION_MISMATCH,
        )
    message_id = _text(found, _MESSAGE_ID)
    if not message_id:
        raise addressing(
            AddressingFault.MESSAGE_ADDRESSING_HEADER_REQUIRED,
            "the wsa:MessageID header is required (a reply is expected)",
        )
    for tag in (_REPLY_TO, _FAULT_TO):
        _check_anonymous(found.get(tag, []))
    return Addressing(action, message_id, _text(found, _TO) or None)


def reply_headers(
    action: str, relates_to: str | None, *, message_id: str | None = None
) -> list[etree._Element]:
    """wsa:Action (mustUnderstand), wsa:MessageID and wsa:RelatesTo of a reply."""
    nsmap = {"wsa": WSA}
    head = etree.Element(_ACTION, nsmap=nsmap)
    head.set(_MUST_UNDERSTAND, "true")
    head.text = action
    blocks = [head]
    own_id = etree.Element(_MESSAGE_ID, nsmap=nsmap)
    own_id.text = message_id or f"urn:uuid:{new_uuid4()}"
    blocks.append(own_id)
    if relates_to:
        relates = etree.Element(_RELATES_TO, nsmap=nsmap)
        relates.text = relates_to
        blocks.append(relates)
    return blocks


def reply_header_xml(action: str, relates_to: str | None) -> bytes:
    """`reply_headers` as they stand serialized in a reply's env:Header (`write_reply`).

    The same bytes as lxml writes for those elements inside the envelope, where `env` is
    declared: without building and serializing three elements per reply.
    """
    relates = b""
    if relates_to:
        relates = _RELATES_TO_OPEN + _escape_text(relates_to).encode() + _RELATES_TO_CLOSE
    return b"".join(
        [
            _ACTION_OPEN,
            _escape_text(action).encode(),
            _ACTION_CLOSE,
            _MESSAGE_ID_OPEN,
            f"urn:uuid:{new_uuid4()}".encode(),
            _MESSAGE_ID_CLOSE,
            relates,
        ]
    )


def _escape_text(text: str) -> str:
    """XML character data as libxml2 escapes it."""
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        text = text.replace("\r", "&#13;")
    return text


_DECLARE = f'xmlns:wsa="{WSA}"'
_ACTION_OPEN = f'<wsa:Action {_DECLARE} env:mustUnderstand="true">'.encode()
_ACTION_CLOSE = b"</wsa:Action>"
_MESSAGE_ID_OPEN = f"<wsa:MessageID {_DECLARE}>".encode()
_MESSAGE_ID_CLOSE = b"</wsa:MessageID>"
_RELATES_TO_OPEN = f"<wsa:RelatesTo {_DECLARE}>".encode()
_RELATES_TO_CLOSE = b"</wsa:RelatesTo>"


def request_message_id(headers: Sequence[etree._Element]) -> str | None:
    """The wsa:MessageID of a request whatever else is wrong with it (for a fault's RelatesTo)."""
    for block in headers:
        if block.tag == _MESSAGE_ID and (block.text or "").strip():
            return (block.text or "").strip()
    return None


def _text(found: dict[str, list[etree._Element]], tag: str) -> str:
    blocks = found.get(tag)
    return (blocks[0].text or "").strip() if blocks else ""


def _check_anonymous(blocks: list[etree._Element]) -> None:
    for block in blocks:
        found = next(block.iterchildren(_ADDRESS), None)  # findtext parses a path per call
        address = (found.text or "").strip() if found is not None else ""
        if address not in (ANONYMOUS, NONE_ADDRESS) or (
            block.tag == _REPLY_TO and address == NONE_ADDRESS
        ):
            local = etree.QName(block).localname
            raise addressing(
                AddressingFault.INVALID_ADDRESSING_HEADER,
                f"wsa:{local} must be the anonymous address (synchronous exchange only),"
                f" got {address or 'nothing'}",
                AddressingFault.ONLY_ANONYMOUS_ADDRESS_SUPPORTED,
            )
