"""GetRelatedDocuments across association types and directions (ITI TF-2 3.18.4.1.2.3.7.13).

In the record (registry_query_data): consult_v2 RPLC consult, addendum APND lab,
scan_text XFRM scan, signature signs consult_v2; note has no relation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_fixtures import BACKENDS, Submission, document, migrated_engine
from registry_query_data import ON_DEMAND, World, new_world, world_on

from ebrim.model import DocumentEntry
from ebrim.storedquery import GetRelatedDocumentsQuery
from ebrim.vocabulary import AssociationType

RPLC = AssociationType.REPLACE.value
APND = AssociationType.APPEND.value
XFRM = AssociationType.TRANSFORM.value
XFRM_RPLC = AssociationType.TRANSFORM_REPLACE.value
SIGNS = AssociationType.SIGNS.value
ALL = (RPLC, APND, XFRM, XFRM_RPLC, SIGNS)


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with world_on(request.param, tmp_path_factory, request) as built:
        yield built


def related(world: World, name: str, *types: str, **params: object) -> set[str]:
    query = GetRelatedDocumentsQuery(
        uuid=world[name],
        association_types=types or ALL,
        **params,  # type: ignore[arg-type]
    )
    return world.found(query)


def test_related_documents_of_a_replacement_cover_every_type(world: World) -> None:
    assert related(world, "consult_v2") == {
        "consult_v2",
        "consult",
        "signature",
        "RPLC(consult_v2,consult)",
        "signs(signature,consult_v2)",
    }


def test_related_documents_only_of_the_requested_types(world: World) -> None:
    assert related(world, "consult_v2", RPLC) == {
        "consult_v2",
        "consult",
        "RPLC(consult_v2,consult)",
    }
    assert related(world, "consult_v2", SIGNS, APND) == {
        "consult_v2",
        "signature",
        "signs(signature,consult_v2)",
    }


def test_related_documents_follow_links_from_the_target_side(world: World) -> None:
    assert related(world, "consult", RPLC) == {"consult", "consult_v2", "RPLC(consult_v2,consult)"}
    assert related(world, "lab") == {"lab", "addendum", "APND(addendum,lab)"}
    assert related(world, "scan") == {"scan", "scan_text", "XFRM(scan_text,scan)"}


def test_related_documents_from_the_source_side(world: World) -> None:
    assert related(world, "addendum", APND) == {"addendum", "lab", "APND(addendum,lab)"}
    assert related(world, "signature", SIGNS) == {
        "signature",
        "consult_v2",
        "signs(signature,consult_v2)",
    }


def test_related_documents_are_one_step_away_only(world: World) -> None:
    # consult is two steps from signature (signs consult_v2, which replaced consult).
    assert "consult" not in related(world, "signature")


def test_related_documents_none_of_the_type_is_empty(world: World) -> None:
    assert related(world, "scan", XFRM_RPLC, RPLC) == set()
    assert related(world, "note") == set()


def test_related_documents_by_unique_id(world: World) -> None:
    lab = world.registry.get(world["lab"])
    assert isinstance(lab, DocumentEntry) and lab.unique_id
    query = GetRelatedDocumentsQuery(unique_id=lab.unique_id, association_types=(APND,))
    assert world.found(query) == {"lab", "addendum", "APND(addendum,lab)"}


def test_related_documents_filtered_by_entry_type(world: World) -> None:
    assert related(world, "lab", document_types=(ON_DEMAND,)) == set()


def test_related_documents_of_an_unknown_document_is_empty(world: World) -> None:
    query = GetRelatedDocumentsQuery(
        uuid="urn:uuid:00000000-0000-4000-8000-000000000000", association_types=ALL
    )
    assert world.found(query) == set()


@pytest.mark.parametrize("backend", BACKENDS)
def test_related_documents_through_transform_replace_and_chains(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with migrated_engine(backend, tmp_path, request) as engine:
        world = new_world(engine)
        first = Submission(set_id="ss1")
        first.add(document("original"))
        world.submit(first, "ss1")
        second = Submission(set_id="ss2")
        second.add(document("transformed"))
        second.relate(AssociationType.TRANSFORM_REPLACE, "transformed", world["original"])
        world.submit(second, "ss2")
        third = Submission(set_id="ss3")
        third.add(document("appendix"))
        third.relate(AssociationType.APPEND, "appendix", world["transformed"])
        world.submit(third, "ss3")

        assert related(world, "transformed") == {
            "transformed",
            "original",
            "appendix",
            "XFRM_RPLC(transformed,original)",
            "APND(appendix,transformed)",
        }
        assert related(world, "original", XFRM_RPLC) == {
            "original",
            "transformed",
            "XFRM_RPLC(transformed,original)",
        }
