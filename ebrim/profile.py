"""Validation profiles: the generic IHE rules always, national rules on top."""

from __future__ import annotations

from enum import StrEnum


class Profile(StrEnum):
    GENERIC = "generic"
    DMP = (
        "dmp"  # French national shared record (DESIGN.md §5): INS ids, confidentiality, value sets
    )
