"""New entryUUIDs: RFC 9562 version 7, so that they sort by the time they were made."""

from __future__ import annotations

import time
import uuid

from ebrim.ids import new_entry_uuid, new_uuid7
from ebrim.validate.formats import entry_id_problem, is_uuid_urn


def test_an_entry_uuid_is_a_version_7_urn_uuid() -> None:
    made = new_entry_uuid()

    assert made.startswith("urn:uuid:")
    assert is_uuid_urn(made)
    assert entry_id_problem(made) is None
    parsed = uuid.UUID(made.removeprefix("urn:uuid:"))
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert str(parsed) == made.removeprefix("urn:uuid:")  # lower case, canonical form


def test_it_starts_with_the_unix_milliseconds_it_was_made_at() -> None:
    before = time.time_ns() // 1_000_000
    made = new_uuid7()
    after = time.time_ns() // 1_000_000

    assert before <= made.int >> 80 <= after


def test_ids_made_in_later_milliseconds_sort_after_as_text() -> None:
    first = new_entry_uuid()
    time.sleep(0.002)
    second = new_entry_uuid()

    assert first < second


def test_ids_made_in_the_same_millisecond_still_differ() -> None:
    made = {new_entry_uuid() for _ in range(20_000)}

    assert len(made) == 20_000
    random_bits = {uuid.UUID(m[9:]).int & (1 << 62) - 1 for m in made}
    assert len(random_bits) == 20_000
