"""The MSH segment read tolerantly, and the bytes of a message decoded by its MSH-18.

The acknowledgement needs MSH-3..6, MSH-10, MSH-11 and MSH-12 even when the rest of the
message cannot be parsed, so this reader only splits the first segment and never fails.
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD_ENCODING_CHARACTERS = "^~\\&"

# HL7 table 0211 (alternate character sets) → Python codecs; absent means ASCII/UTF-8.
_CODECS = {
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
}


@dataclass(frozen=True)
class Header:
    """The MSH fields an acknowledgement echoes, as raw (still escaped) text."""

    field_separator: str = "|"
    encoding_characters: str = STANDARD_ENCODING_CHARACTERS
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    message_type: str = ""
    control_id: str = ""
    processing_id: str = ""
    version: str = ""
    character_set: str = ""

    @property
    def component_separator(self) -> str:
        return self.encoding_characters[0]

    @property
    def subcomponent_separator(self) -> str:
        return self.encoding_characters[3]


def segments(text: str) -> list[str]:
    """The message's segments; LF and CRLF are accepted as separators besides CR."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    return [line for line in lines if line.strip()]


def read_header(text: str) -> Header | None:
    """The MSH of `text`, or None when the message does not start with a usable MSH."""
    lines = segments(text)
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
        return None
    msh = lines[0]
    separator = msh[3]
    fields = msh.split(separator)
    encoding = fields[1]
    if len(encoding) != 4 or separator in encoding or separator.isalnum():
        return None

    def field(number: int) -> str:  # MSH-1 is the separator itself: MSH-n is fields[n - 1]
        return fields[number - 1] if number - 1 < len(fields) else ""

    return Header(
        field_separator=separator,
        encoding_characters=encoding,
        sending_application=field(3),
        sending_facility=field(4),
        receiving_application=field(5),
        receiving_facility=field(6),
        message_type=field(9),
        control_id=field(10),
        processing_id=field(11),
        version=field(12),
        character_set=field(18).split(encoding[1])[0],
    )


def decode(raw: bytes) -> tuple[str, str]:
    """(text, codec): decoded by the charset MSH-18 names, else UTF-8, else Latin-1."""
    codec = _codec(raw)
    try:
        return raw.decode(codec), codec
    except (UnicodeDecodeError, LookupError):
        return raw.decode("latin-1"), "latin-1"


def _codec(raw: bytes) -> str:
    header = read_header(raw.split(b"\r", 1)[0].split(b"\n", 1)[0].decode("latin-1"))
    if header is None:
        return "utf-8"
    return _CODECS.get(header.character_set.strip().upper(), "utf-8")
