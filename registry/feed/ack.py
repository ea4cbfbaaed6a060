"""HL7 v2.3.1 original-mode acknowledgements (ACK): MSH, MSA and, on error, ERR.

The ACK is written with the request's own separators, so that the MSH fields it echoes
(still escaped, as received) keep their meaning.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from registry.feed.header import Header


class AckCode(StrEnum):
    """HL7 table 0008."""

    ACCEPT = "AA"
    ERROR = "AE"
    REJECT = "AR"


class ErrorCode(StrEnum):
    """HL7 table 0357 (message error condition codes)."""

    SEGMENT_SEQUENCE = "100"
    REQUIRED_FIELD_MISSING = "101"
    DATA_TYPE = "102"
    UNSUPPORTED_MESSAGE_TYPE = "200"
    UNSUPPORTED_EVENT = "201"
    UNSUPPORTED_PROCESSING_ID = "202"
    UNSUPPORTED_VERSION = "203"
    UNKNOWN_KEY = "204"
    DUPLICATE_KEY = "205"
    INTERNAL_ERROR = "207"


_ERROR_NAMES = {
    ErrorCode.SEGMENT_SEQUENCE: "Segment sequence error",
    ErrorCode.REQUIRED_FIELD_MISSING: "Required field missing",
    ErrorCode.DATA_TYPE: "Data type error",
    ErrorCode.UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    ErrorCode.UNSUPPORTED_EVENT: "Unsupported event code",
    ErrorCode.UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    ErrorCode.UNSUPPORTED_VERSION: "Unsupported version id",
    ErrorCode.UNKNOWN_KEY: "Unknown key identifier",
    ErrorCode.DUPLICATE_KEY: "Duplicate key identifier",
    ErrorCode.INTERNAL_ERROR: "Application internal error",
}


@dataclass(frozen=True)
class FeedError:
    """Why a message was not accepted: the HL7 error code, where, and a short text (no PHI)."""

    code: ErrorCode
    text: str
    segment: str = ""
    field: int | None = None


def build_ack(
    request: Header | None,
    code: AckCode,
    error: FeedError | None = None,
    *,
    event: str = "",
    now: datetime | None = None,
    control_id: str | None = None,
) -> str:
    """The ACK text (segments ended by CR) answering `request` (None: unreadable MSH)."""
    req = request or Header()
    sep, comp, sub = req.field_separator, req.component_separator, req.subcomponent_separator
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%z")
    msh = [
        "MSH",
        req.encoding_characters,
        req.receiving_application,
        req.receiving_facility,
        req.sending_application,
        req.sending_facility,
        stamp,
        "",
        f"ACK{comp}{event}" if event else "ACK",
        control_id or uuid.uuid4().hex[:20],
        req.processing_id or "P",
        req.version or "2.3.1",
    ]
    if req.character_set:
        msh += ["", "", "", "", "", req.character_set]
    msa = ["MSA", code.value, req.control_id]
    segments = [sep.join(msh)]
    if error is None:
        segments.append(sep.join(msa))
    else:
        text = _clean(error.text, req)
        segments.append(sep.join([*msa, text]))
        condition = sub.join([error.code.value, _ERROR_NAMES[error.code], "HL70357"])
        location = [error.segment, "1" if error.segment else "", str(error.field or "")]
        segments.append(sep.join(["ERR", comp.join([*location, condition])]))
    return "\r".join(segments) + "\r"


def _clean(text: str, header: Header) -> str:
    """`text` without the message's delimiters (our texts are ASCII; this is a guard)."""
    for char in header.field_separator + header.encoding_characters + "\r\n":
        text = text.replace(char, " ")
    return text
