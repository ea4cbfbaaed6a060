"""ITI-62 Delete Document Set on the registry (RMD): all or nothing, no dangling reference."""

from __future__ import annotations

from typing import Any

import pytest
from registry_fixtures import (
    OTHER_PATIENT,
    PATIENT,
    Submission,
    codes_of,
    document,
    dump,
    new_registry,
)
from sqlalchemy import Connection, Engine, select
from update_support import registered, succeeded

from ebrim.hl7 import patient_key
from ebrim.model import DocumentEntry
from registry import Registry, schema, store


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return new_registry(engine)


def whole_submission(registry: Registry) -> tuple[Submission, dict[str, str]]:
    submission = Submission()
    submission.add()
    submission.add_folder()
    submission.file("Folder01", "Document01")
    return submission, registered(registry, submission)


def test_delete_a_whole_submission(registry: Registry, engine: Engine) -> None:
    before = dump(engine)
    _, ids = whole_submission(registry)

    succeeded(registry.delete(list(ids.values())))

    after = dump(engine)
    for table in ("documents", "folders", "submission_sets", "associations", "codes"):
        assert after[table] == before[table], table
    assert after["unique_ids"] == before["unique_ids"]


def test_deleted_unique_id_can_be_registered_again(registry: Registry) -> None:
    submission, ids = whole_submission(registry)
    unique_id = submission.documents[0].unique_id
    succeeded(registry.delete(list(ids.values())))

    again = Submission()
    again.add(document(unique_id=unique_id))
    registered(registry, again)

    (doc,) = registry.find_by_unique_id(unique_id or "")
    assert isinstance(doc, DocumentEntry) and doc.entry_uuid not in ids.values()


def test_delete_leaving_a_dangling_association_is_refused(
    registry: Registry, engine: Engine
) -> None:
    submission, ids = whole_submission(registry)
    before = dump(engine)

    response = registry.delete([ids["Document01"]])

    assert set(codes_of(response)) == {"ReferencesExistException"}
    holders = {e.location for e in response.errors}
    filing = ids[submission.associations[-2].entry_uuid]  # Folder01 → Document01
    assert filing in holders
    assert dump(engine) == before


def test_delete_of_a_submission_set_needs_its_memberships(registry: Registry) -> None:
    submission, ids = whole_submission(registry)
    response = registry.delete([ids[submission.set_id]])
    assert set(codes_of(response)) == {"ReferencesExistException"}


def test_delete_of_an_unknown_id_is_refused(registry: Registry, engine: Engine) -> None:
    _, ids = whole_submission(registry)
    missing = "urn:uuid:00000000-0000-4000-8000-000000000003"
    before = dump(engine)

    response = registry.delete([*ids.values(), missing])

    assert codes_of(response) == ["UnresolvedReferenceException"]
    assert response.errors[0].location == missing
    assert dump(engine) == before


def test_delete_of_a_folder_membership_touches_the_folder(
    registry: Registry, engine: Engine
) -> None:
    submission, ids = whole_submission(registry)
    filing = ids[submission.associations[-2].entry_uuid]
    holder = ids[submission.associations[-1].entry_uuid]  # SubmissionSet → filing

    succeeded(registry.delete([filing, holder]))

    assert registry.associations(source=ids["Folder01"]) == []
    with engine.connect() as conn:
        rows = conn.execute(select(schema.folders.c.last_update_time)).all()
    assert rows == [("20240506070809",)]


def test_removing_one_version_keeps_the_unique_id(registry: Registry, engine: Engine) -> None:
    from update_support import new_version

    _, ids = whole_submission(registry)
    v1 = registry.get(ids["Document01"])
    assert isinstance(v1, DocumentEntry)
    succeeded(registry.update(new_version(v1, title=None)))
    v2 = next(v for v in registry.find_by_unique_id(v1.unique_id or "") if v.version == "2")
    links = [a.entry_uuid for a in registry.associations(target=v2.entry_uuid)]
    links += [a.entry_uuid for a in registry.associations() if a.target in links]

    succeeded(registry.delete([v2.entry_uuid, *links]))

    with engine.connect() as conn:
        claims = conn.execute(
            select(schema.unique_ids).where(schema.unique_ids.c.unique_id == v1.unique_id)
        ).all()
    assert len(claims) == 1


def test_removing_the_first_version_keeps_the_later_ones_found_by_logical_id(
    registry: Registry, engine: Engine
) -> None:
    """A logicalId is its first version's entryUUID, and lookups by logicalId name their
    patient through that entryUUID's lookup row (revision 0013): deleting the first version
    keeps that row while a later version lives, so the uniqueId stays claimed and the next
    update finds the latest version; deleting the last version drops it."""
    from update_support import new_version

    _, ids = whole_submission(registry)
    v1 = registry.get(ids["Document01"])
    assert isinstance(v1, DocumentEntry) and v1.unique_id
    succeeded(registry.update(new_version(v1, title=None)))

    succeeded(registry.delete(_with_links(registry, [v1.entry_uuid])))

    (v2,) = registry.find_by_unique_id(v1.unique_id)
    with engine.connect() as conn:
        assert len(_claims(conn, v1.unique_id)) == 1
        latest = store.latest_version(conn, DocumentEntry, v1.entry_uuid)
    assert latest is not None and latest.entry_uuid == v2.entry_uuid
    succeeded(registry.update(new_version(v2, "2", title=None)))
    later = [v.entry_uuid for v in registry.find_by_unique_id(v1.unique_id)]
    assert len(later) == 2

    succeeded(registry.delete(_with_links(registry, later)))

    with engine.connect() as conn:
        assert _claims(conn, v1.unique_id) == []
        op = schema.object_patients.c
        assert conn.execute(select(op.entry_uuid).where(op.entry_uuid == v1.entry_uuid)).all() == []


def test_a_merge_moves_the_logical_id_of_a_removed_first_version(
    registry: Registry, engine: Engine
) -> None:
    from update_support import new_version

    _, ids = whole_submission(registry)
    v1 = registry.get(ids["Document01"])
    assert isinstance(v1, DocumentEntry) and v1.unique_id
    succeeded(registry.update(new_version(v1, title=None)))
    succeeded(registry.delete(_with_links(registry, [v1.entry_uuid])))

    registry.patients.merge(PATIENT, OTHER_PATIENT)

    with engine.connect() as conn:
        latest = store.latest_version(conn, DocumentEntry, v1.entry_uuid)
    assert latest is not None and latest.version == "2"
    assert patient_key(latest.patient_id or "") == patient_key(OTHER_PATIENT)


def _with_links(registry: Registry, uuids: list[str]) -> list[str]:
    """`uuids`, the associations that target them, and those that target these."""
    links = [a.entry_uuid for uuid in uuids for a in registry.associations(target=uuid)]
    links += [a.entry_uuid for a in registry.associations() if a.target in links]
    return [*uuids, *links]


def _claims(conn: Connection, unique_id: str) -> list[Any]:
    u = schema.unique_ids.c
    return list(conn.execute(select(u.unique_id).where(u.unique_id == unique_id)).all())
