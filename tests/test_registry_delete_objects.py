"""ITI-62 Delete Document Set on the registry (RMD): all or nothing, no dangling reference."""

from __future__ import annotations

import pytest
from registry_fixtures import (
    Submission,
    codes_of,
    document,
    dump,
    new_registry,
)
from sqlalchemy import Engine, select
from update_support import registered, succeeded

from ebrim.model import DocumentEntry
from registry import Registry, schema


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
