"""New ids: entryUUIDs of RFC 9562 version 7, so that they sort by the time they were made,
random UUIDs, and the pooled kernel randomness both are made of."""

from __future__ import annotations

import os
import threading
import time
import uuid

from ebrim.ids import new_entry_uuid, new_uuid4, new_uuid4_hex, new_uuid7, random_bytes
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


def test_a_random_uuid_is_version_4_with_122_random_bits() -> None:
    made = [new_uuid4() for _ in range(5_000)]

    assert {m.version for m in made} == {4}
    assert {m.variant for m in made} == {uuid.RFC_4122}
    assert len(set(made)) == 5_000
    # every random bit varies across the ids (a fixed bit would be a slicing error)
    fixed = (0xF << 76) | (0b11 << 62)
    varying = 0
    for m in made:
        varying |= m.int ^ made[0].int
    assert varying | fixed == (1 << 128) - 1


def test_random_bytes_never_hand_out_the_same_bytes_twice() -> None:
    drawn = b"".join(random_bytes(10) for _ in range(2_000))  # several 4 KB draws
    chunks = {drawn[i : i + 10] for i in range(0, len(drawn), 10)}

    assert len(chunks) == 2_000
    assert len(random_bytes(10_000)) == 10_000  # more than one draw at once


def test_threads_draw_from_their_own_pools() -> None:
    seen: list[bytes] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [random_bytes(16) for _ in range(500)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(seen)) == 2_000


def test_a_forked_child_does_not_repeat_what_its_parent_draws_next() -> None:
    random_bytes(16)  # the pool is drawn: what follows sits in this process's memory
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: e.g. a gunicorn worker forked by the master
        os.close(reader)
        os.write(writer, random_bytes(16))
        os._exit(0)
    os.close(writer)
    child = os.read(reader, 16)
    os.close(reader)
    os.waitpid(pid, 0)

    assert len(child) == 16
    assert child != random_bytes(16)


def test_the_hex_of_a_random_uuid_is_a_version_4_uuid() -> None:
    made = [uuid.UUID(hex=new_uuid4_hex()) for _ in range(5_000)]

    assert {m.version for m in made} == {4}
    assert {m.variant for m in made} == {uuid.RFC_4122}
    assert len(set(made)) == 5_000
    assert all(len(m.hex) == 32 for m in made)
    fixed = (0xF << 76) | (0b11 << 62)
    varying = 0
    for m in made:
        varying |= m.int ^ made[0].int
    assert varying == ((1 << 128) - 1) & ~fixed  # all 122 random bits vary, no other


def test_an_entry_uuid_is_written_as_the_uuid_module_writes_it() -> None:
    for _ in range(2_000):
        made = new_entry_uuid()
        assert made == f"urn:uuid:{uuid.UUID(made[9:])}"
        assert uuid.UUID(made[9:]).version == 7
