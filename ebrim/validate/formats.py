"""Syntax of scalar metadata values: DTM, OID, uniqueId, hash, size, MIME type, language, UUID.

Each function returns None when the value is well-formed, or a short reason otherwise,
so that the caller picks the rule (and the object) to report against.
"""

from __future__ import annotations

import re
import uuid

from ebrim.hl7 import dtm_moment

MAX_OID_LENGTH = 64  # ITI TF-3 4.2.3.1.7 (OID) and ISO/IEC 8824 as profiled by HL7
MAX_UNIQUE_ID_LENGTH = 128  # DocumentEntry.uniqueId, TF-3 4.2.3.2.26
MAX_EXTENSION_LENGTH = 16  # the "^extension" part of an OID^extension uniqueId, same section

_DTM_LENGTHS = (4, 6, 8, 10, 12, 14)
_ARC = re.compile(r"0|[1-9][0-9]*")
_OID = re.compile(r"[012](?:\.(?:0|[1-9][0-9]*))+")  # what the checks below accept, at once
_HASH = re.compile(r"[0-9a-fA-F]{40}")
_SIZE = re.compile(r"[0-9]+")
# RFC 2045 token characters for type and subtype.
_MIME_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_MIME = re.compile(rf"{_MIME_TOKEN}/{_MIME_TOKEN}(\s*;\s*{_MIME_TOKEN}=\S+)*")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


def dtm_problem(value: str) -> str | None:
    """HL7 DTM truncated to any precision from year to second, in UTC (no zone, no fraction)."""
    if not value.isdigit():
        return "only digits are allowed (no time zone, no fraction of second)"
    if len(value) not in _DTM_LENGTHS:
        return f"{len(value)} digits; a time has 4, 6, 8, 10, 12 or 14"
    try:
        dtm_moment(value)
    except ValueError:
        return "a month, day, hour, minute or second is out of range"
    return None


def dtm_not_after(start: str, stop: str) -> bool:
    """Whether `start` is not later than `stop`, comparing them at their common precision."""
    common = min(len(start), len(stop))
    return start[:common] <= stop[:common]


def oid_problem(value: str) -> str | None:
    if len(value) <= MAX_OID_LENGTH and _OID.fullmatch(value):
        return None  # the usual case; each ITI-41 checks a dozen OIDs
    if not value:
        return "it is empty"
    if len(value) > MAX_OID_LENGTH:
        return f"{len(value)} characters, more than {MAX_OID_LENGTH}"
    arcs = value.split(".")
    for arc in arcs:
        if not _ARC.fullmatch(arc):
            if arc.isdigit():
                return f"arc {arc!r} has a leading zero"
            return f"arc {arc!r} is not a number"
    if len(arcs) < 2:
        return "an OID has at least two arcs"
    if arcs[0] not in ("0", "1", "2"):
        return f"the first arc is {arcs[0]}, not 0, 1 or 2"
    return None


def document_unique_id_problem(value: str) -> str | None:
    """DocumentEntry.uniqueId: an OID, or OID^extension (the CDA id root and extension)."""
    if len(value.encode("utf-8")) > MAX_UNIQUE_ID_LENGTH:
        return f"longer than {MAX_UNIQUE_ID_LENGTH} bytes"
    root, caret, extension = value.partition("^")
    problem = oid_problem(root)
    if problem:
        return f"root {root!r}: {problem}"
    if caret and not extension:
        return "'^' without an extension"
    if "^" in extension:
        return "more than one '^'"
    if len(extension) > MAX_EXTENSION_LENGTH:
        return f"extension longer than {MAX_EXTENSION_LENGTH} characters"
    return None


def is_hash(value: str) -> bool:
    return bool(_HASH.fullmatch(value))


def is_size(value: str) -> bool:
    return bool(_SIZE.fullmatch(value))


def is_mime_type(value: str) -> bool:
    return bool(_MIME.fullmatch(value))


def is_language_code(value: str) -> bool:
    return bool(_LANGUAGE.fullmatch(value))


def is_uuid_urn(value: str) -> bool:
    if not value.startswith("urn:uuid:"):
        return False
    try:
        uuid.UUID(value[len("urn:uuid:") :])
    except ValueError:
        return False
    return True


def entry_id_problem(value: str) -> str | None:
    """An entryUUID as submitted: a urn:uuid, or a symbolic id the registry will replace."""
    if not value or any(c.isspace() for c in value):
        return "empty or contains white space"
    if value.lower().startswith("urn:uuid:") and not is_uuid_urn(value):
        return "malformed urn:uuid"
    return None
