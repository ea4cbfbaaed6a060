"""HL7 v3 TS (``YYYYMMDDhhmmss.ffff±ZZZZ`` at any precision) to the UTC DTM of XDS metadata.

XDS times are UTC (ITI TF-3 4.2.3.1.7); CDA times carry the author's offset. A time of
hour precision or finer with an offset is converted to UTC and kept at its precision
(a conversion that lands between two units of that precision is truncated, never rounded
up). A date, or a time without an offset, cannot be converted: its digits are kept as
they are, which is what the document says. Fractions of a second are dropped.
"""

from __future__ import annotations

import re
from datetime import timedelta

from cda.errors import IncompleteHeader
from ebrim.hl7 import dtm_digits, dtm_moment

_TS = re.compile(r"(?P<digits>[0-9]{4}(?:[0-9]{2}){0,5})(?:\.[0-9]{1,6})?(?P<zone>[+-][0-9]{4})?")
_CONVERTIBLE = 10  # digits from which an offset can be applied (hour precision)


def ts_to_utc_dtm(value: str) -> str:
    """The UTC DTM of an HL7 v3 TS value, or `IncompleteHeader` naming the bad value."""
    match = _TS.fullmatch(value.strip())
    if match is None:
        raise IncompleteHeader(f"time {value!r} is not an HL7 TS (YYYYMMDDhhmmss±ZZZZ)")
    digits, zone = match.group("digits"), match.group("zone")
    try:
        local = dtm_moment(digits)
    except ValueError:
        raise IncompleteHeader(f"time {value!r} has a field out of range") from None
    if zone is None or len(digits) < _CONVERTIBLE:
        return digits
    sign = 1 if zone[0] == "+" else -1
    hours, minutes = int(zone[1:3]), int(zone[3:5])
    if hours > 14 or minutes > 59:
        raise IncompleteHeader(f"time {value!r} has an impossible offset {zone}")
    offset = timedelta(hours=hours, minutes=minutes) * sign
    return dtm_digits(local - offset)[: len(digits)]


__all__ = ["ts_to_utc_dtm"]
