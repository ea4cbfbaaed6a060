"""Patient identifiers and demographics read from a parsed ADT message (python-hl7).

An identifier is kept in the XDS form ``id^^^&OID&ISO`` (plus ``^type`` when CX.5 is
given, as the DMP's INS ``...^NH``): only its assigning authority's universal id (CX.4.2,
type ISO) counts, the namespace (CX.4.1) and the other components are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import hl7

from ebrim.hl7 import CX, HD

# Characters an XDS patient id cannot carry once unescaped.
_FORBIDDEN = set("^&~|\\\r\n")


def value(
    message: hl7.Message,
    segment: str,
    field: int,
    repetition: int = 1,
    component: int = 1,
    subcomponent: int = 1,
    *,
    occurrence: int = 1,
) -> str:
    """One unescaped value, '' when the message does not go that deep."""
    try:
        text = message.extract_field(
            segment, occurrence, field, repetition, component, subcomponent
        )
    except (IndexError, KeyError):
        return ""
    return str(text).strip()


def repetitions(message: hl7.Message, segment: str, field: int, *, occurrence: int = 1) -> int:
    """How many repetitions `segment`-`field` holds (0 when absent or empty)."""
    try:
        seg = message.segments(segment)(occurrence)
    except (IndexError, KeyError):
        return 0
    if field >= len(seg) or not str(seg(field)):
        return 0
    return len(seg(field))


def domain_patient_id(
    message: hl7.Message,
    segment: str,
    field: int,
    domains: Sequence[str],
    *,
    occurrence: int = 1,
) -> str | None:
    """The first repetition of `segment`-`field` issued by one of `domains` (any ISO OID if
    `domains` is empty), in XDS CX form; None when there is none."""
    count = repetitions(message, segment, field, occurrence=occurrence)
    for rep in range(1, count + 1):
        parts = [
            value(message, segment, field, rep, component, subcomponent, occurrence=occurrence)
            for component, subcomponent in ((1, 1), (4, 2), (4, 3), (5, 1))
        ]
        id_number, oid, oid_type, type_code = parts
        if not id_number or not oid or oid_type.upper() != "ISO":
            continue
        if domains and oid not in domains:
            continue
        if _FORBIDDEN & set("".join(parts)):
            continue
        return str(CX(id_number, HD("", oid, "ISO"), type_code))
    return None


def demographics(message: hl7.Message, *, occurrence: int = 1) -> dict[str, str]:
    """Name (PID-5, first repetition, components joined by ^), birth date (PID-7) and
    sex (PID-8), the keys present only when given."""
    name = "^".join(
        value(message, "PID", 5, 1, component, occurrence=occurrence) for component in range(1, 7)
    ).rstrip("^")
    found = {
        "name": name,
        "birth_date": value(message, "PID", 7, occurrence=occurrence),
        "sex": value(message, "PID", 8, occurrence=occurrence),
    }
    return {key: text for key, text in found.items() if text}
