"""New ids: entryUUIDs ordered by time (UUID version 7, RFC 9562) and random UUIDs (version 4).

The registry's tables are indexed by entryUUID (the objects' primary keys, association ends,
the global lookup by entryUUID). Random ids (version 4) land on any page of those indexes:
once the indexes outgrow memory, as at national scale, each new row first reads a page from
disk. Ids that start with the time land on the last pages of each index, which stay in
memory. A version 7 id is an RFC 9562 UUID like any other for the standard's `urn:uuid:`
syntax; it tells when it was made, which an entry's submissionTime tells anyway.

Their random bits come from the kernel's generator (`os.urandom`), drawn 4 KB at a time per
thread: an ITI-41 makes about eight ids, and each `os.urandom` is a system call that lets go
of the GIL, a turn for the request threads of a busy worker to hand it over and back.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_MILLIS = (1 << 48) - 1
_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62
_RANDOM_A = (1 << 12) - 1
_RANDOM_B = (1 << 62) - 1
# Version 4: the version nibble and the variant's two bits cleared, then set (as uuid.UUID).
_KEEP_4 = ~(0xF000 << 64) & ~(0xC000 << 48)
_VERSION_4 = (4 << 76) | (0x8000 << 48)
_DRAW = 4096  # bytes asked of the kernel at a time, per thread

_drawn = threading.local()
_forks = 0  # a forked child must not hand out what its parent had drawn


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)


def random_bytes(count: int) -> bytes:
    """`count` bytes from the kernel's cryptographic generator, as `os.urandom` gives them."""
    state = _drawn.__dict__
    pool: bytes | None = state.get("pool")
    at: int = state.get("at", 0)
    if pool is None or state["forks"] != _forks or at + count > len(pool):
        pool, at = os.urandom(max(_DRAW, count)), 0
        state.update(pool=pool, forks=_forks)
    state["at"] = at + count
    return pool[at : at + count]


def new_uuid4() -> uuid.UUID:
    """A random UUID, as `uuid.uuid4` makes it (122 random bits)."""
    return uuid.UUID(bytes=random_bytes(16), version=4)


def new_uuid4_hex() -> str:
    """`new_uuid4().hex` without the UUID object, whose checks cost more than the draw: a
    request makes several (its id, the stored file's name, the reply's MIME boundary)."""
    value = int.from_bytes(random_bytes(16)) & _KEEP_4 | _VERSION_4
    return f"{value:032x}"


def new_uuid7() -> uuid.UUID:
    """48 bits of Unix milliseconds, the version, 12 + 62 random bits and the variant."""
    return uuid.UUID(int=_uuid7_int())


def _uuid7_int() -> int:
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(random_bytes(10))
    rand_a = rand >> 64 & _RANDOM_A
    rand_b = rand & _RANDOM_B
    return (millis & _MILLIS) << 80 | _VERSION | rand_a << 64 | _VARIANT | rand_b


def new_entry_uuid() -> str:
    """A fresh entryUUID for an object submitted with a symbolic id, or built by the registry:
    `urn:uuid:` and `str(new_uuid7())`, written without the UUID object."""
    digits = f"{_uuid7_int():032x}"
    return f"urn:uuid:{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
