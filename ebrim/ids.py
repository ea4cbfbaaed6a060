"""New entryUUIDs, ordered by time: UUID version 7 (RFC 9562) as a urn:uuid.

The registry's tables are indexed by entryUUID (the objects' primary keys, association ends,
the global lookup by entryUUID). Random ids (version 4) land on any page of those indexes:
once the indexes outgrow memory, as at national scale, each new row first reads a page from
disk. Ids that start with the time land on the last pages of each index, which stay in
memory. A version 7 id is an RFC 9562 UUID like any other for the standard's `urn:uuid:`
syntax; it tells when it was made, which an entry's submissionTime tells anyway.
"""

from __future__ import annotations

import os
import time
import uuid

_MILLIS = (1 << 48) - 1
_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62
_RANDOM_A = (1 << 12) - 1
_RANDOM_B = (1 << 62) - 1


def new_uuid7() -> uuid.UUID:
    """48 bits of Unix milliseconds, the version, 12 + 62 random bits and the variant."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10))
    rand_a = rand >> 64 & _RANDOM_A
    rand_b = rand & _RANDOM_B
    return uuid.UUID(int=(millis & _MILLIS) << 80 | _VERSION | rand_a << 64 | _VARIANT | rand_b)


def new_entry_uuid() -> str:
    """A fresh entryUUID for an object submitted with a symbolic id, or built by the registry."""
    return f"urn:uuid:{new_uuid7()}"
