"""HL7 DTM times normalised for range comparison in SQL.

Stored queries compare times (creation, service start/stop, submission, folder
lastUpdateTime) as strings. A DTM may stop at any precision and carry a UTC offset,
so every stored value (and, later, every query parameter) goes through `normalize_dtm`:
UTC, ``YYYYMMDDHHMMSS``, the missing parts at their minimum, fractions dropped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ebrim.hl7 import dtm_digits

_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")


def normalize_dtm(value: str | None) -> str | None:
    """The 14-digit UTC form of a DTM, or None when it is absent or not a DTM."""
    if not value:
        return None
    match = _DTM.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
        )
    except ValueError:
        return None
    if offset and hour is not None:
        # An offset only means something once the hour is known (HL7 v2.5 DTM).
        sign = 1 if offset[0] == "+" else -1
        moment -= sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
    return dtm_digits(moment)


def now_dtm(clock: datetime | None = None) -> str:
    """The current UTC time as a DTM to the second (lastUpdateTime, submission bookkeeping)."""
    moment = clock or datetime.now(UTC)
    return dtm_digits(moment.astimezone(UTC))
