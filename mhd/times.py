"""XDS times (HL7 DTM, UTC, any precision) and FHIR date, dateTime and search dates.

A DTM to the day or coarser is a FHIR date (``2024``, ``2024-05``, ``2024-05-06``); finer,
a dateTime in UTC. FHIR has no hour or minute precision: the missing minutes and seconds
are written as zeros. Search values (``ge2024-05-06``, ``lt2024-05-06T10:00:00+02:00``)
become DTM bounds in UTC, at the precision given.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from ebrim.hl7 import dtm_digits, dtm_moment

_FHIR = re.compile(
    r"(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.[0-9]+)?)?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?"
)


class BadDate(ValueError):
    """A search or resource date that is not a FHIR date or dateTime."""


def fhir_datetime(dtm: str | None) -> str | None:
    """The FHIR date or dateTime of an XDS DTM; None when absent or unreadable."""
    if not dtm or not dtm.isdigit() or len(dtm) not in (4, 6, 8, 10, 12, 14):
        return None
    date = "-".join(part for part in (dtm[0:4], dtm[4:6], dtm[6:8]) if part)
    if len(dtm) <= 8:
        return date
    padded = dtm.ljust(14, "0")
    return f"{date}T{padded[8:10]}:{padded[10:12]}:{padded[12:14]}Z"


def dtm_of(value: str) -> str:
    """The UTC DTM of a FHIR date or dateTime, at its precision (seconds at most)."""
    match = _FHIR.fullmatch(value.strip())
    if match is None:
        raise BadDate(f"{value!r} is not a FHIR date or dateTime")
    parts = match.groupdict()
    digits = "".join(parts[name] or "" for name in ("year", "month", "day", "hour", "minute"))
    digits += parts["second"] or ("00" if parts["hour"] else "")
    zone = parts["zone"]
    try:
        moment = dtm_moment(digits)
    except ValueError:
        raise BadDate(f"{value!r} has a field out of range") from None
    if parts["hour"] is None:
        return digits
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return dtm_digits(moment.replace(tzinfo=UTC))[: len(digits)]


__all__ = ["BadDate", "dtm_of", "fhir_datetime"]
