"""FindSubmissionSets, FindFolders and GetAll (ITI TF-2 3.18.4.1.2.3.7.2-4).

Submission sets (registry_query_data): ss_a 2024-01-02 SOURCE_A ^DUPONT^JEAN Consultation,
ss_b 2024-03-01T10:00 SOURCE_B ^DURAND%^PAUL Imaging, ss_c 2024-04-01T09:00 like ss_a.
Folders: f_emergency (Emergency; last updated 2024-04-01T09:00, when consult_v2 joined it),
f_imaging (Imaging, Radiology; last updated 2024-03-01T10:00).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from registry_fixtures import BACKENDS
from registry_query_data import (
    APPROVED,
    DEPRECATED,
    HL7_CONF,
    ON_DEMAND,
    OTHER_PATIENT,
    PATIENT,
    SOURCE_A,
    SOURCE_B,
    World,
    c,
    world_on,
)

from ebrim.storedquery import FindFoldersQuery, FindSubmissionSetsQuery, GetAllQuery, TimeRange


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with world_on(request.param, tmp_path_factory, request) as built:
        yield built


def sets(world: World, **params: Any) -> set[str]:
    params.setdefault("patient_id", PATIENT)
    params.setdefault("statuses", (APPROVED,))
    return world.found(FindSubmissionSetsQuery(**params))


def folders(world: World, **params: Any) -> set[str]:
    params.setdefault("patient_id", PATIENT)
    params.setdefault("statuses", (APPROVED,))
    return world.found(FindFoldersQuery(**params))


def get_all(world: World, **params: Any) -> set[str]:
    params.setdefault("patient_id", PATIENT)
    for name in ("document_statuses", "submission_set_statuses", "folder_statuses"):
        params.setdefault(name, (APPROVED,))
    return world.found(GetAllQuery(**params))


# --- FindSubmissionSets -----------------------------------------------------------------------


def test_find_submission_sets_returns_the_patients_sets(world: World) -> None:
    assert sets(world) == {"ss_a", "ss_b", "ss_c"}
    assert sets(world, patient_id=OTHER_PATIENT) == {"ss_other"}


def test_find_submission_sets_status_filter(world: World) -> None:
    assert sets(world, statuses=(DEPRECATED,)) == set()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"source_ids": (SOURCE_B,)}, {"ss_b"}),
        ({"source_ids": (SOURCE_A, SOURCE_B)}, {"ss_a", "ss_b", "ss_c"}),
        ({"submission_time": TimeRange(from_="20240301100000")}, {"ss_b", "ss_c"}),
        ({"submission_time": TimeRange(to="20240301100000")}, {"ss_a"}),
        ({"submission_time": TimeRange("202403", "202404")}, {"ss_b"}),
        ({"author_person": "^DUPONT%"}, {"ss_a", "ss_c"}),
        ({"author_person": "^DURAND\\%%"}, {"ss_b"}),
        ({"author_person": "^D_R%"}, {"ss_b"}),
        ({"content_type_codes": (c("Imaging"),)}, {"ss_b"}),
        ({"content_type_codes": (c("Imaging"), c("Consultation"))}, {"ss_a", "ss_b", "ss_c"}),
        ({"content_type_codes": (c("Imaging"),), "source_ids": (SOURCE_A,)}, set()),
    ],
)
def test_find_submission_sets_parameters(
    world: World, params: dict[str, Any], expected: set[str]
) -> None:
    assert sets(world, **params) == expected


# --- FindFolders ------------------------------------------------------------------------------


def test_find_folders_returns_the_patients_folders(world: World) -> None:
    assert folders(world) == {"f_emergency", "f_imaging"}
    assert folders(world, patient_id=OTHER_PATIENT) == set()
    assert folders(world, statuses=(DEPRECATED,)) == set()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"last_update_time": TimeRange(from_="20240401")}, {"f_emergency"}),
        ({"last_update_time": TimeRange(from_="20240401090000")}, {"f_emergency"}),
        ({"last_update_time": TimeRange(to="20240401090000")}, {"f_imaging"}),
        ({"last_update_time": TimeRange("2024030110", "2024030111")}, {"f_imaging"}),
        ({"codes": ((c("Imaging"), c("Emergency")),)}, {"f_emergency", "f_imaging"}),
        ({"codes": ((c("Imaging"),), (c("Radiology"),))}, {"f_imaging"}),
        ({"codes": ((c("Emergency"),), (c("Radiology"),))}, set()),
        ({"codes": ((c("Emergency", HL7_CONF),),)}, set()),
    ],
)
def test_find_folders_parameters(world: World, params: dict[str, Any], expected: set[str]) -> None:
    assert folders(world, **params) == expected


# --- GetAll -----------------------------------------------------------------------------------

APPROVED_RECORD = {
    "ss_a",
    "ss_b",
    "ss_c",
    "f_emergency",
    "f_imaging",
    "lab",
    "scan",
    "note",
    "consult_v2",
    "addendum",
    "scan_text",
    "signature",
    "HasMember(ss_a,lab)",
    "HasMember(ss_a,f_emergency)",
    "HasMember(ss_b,scan)",
    "HasMember(ss_b,note)",
    "HasMember(ss_b,f_imaging)",
    "HasMember(f_imaging,scan)",
    "HasMember(ss_b,HasMember(f_imaging,scan))",
    "HasMember(ss_c,consult_v2)",
    "HasMember(ss_c,addendum)",
    "HasMember(ss_c,scan_text)",
    "HasMember(ss_c,signature)",
    "HasMember(f_emergency,consult_v2)",
    "APND(addendum,lab)",
    "XFRM(scan_text,scan)",
    "signs(signature,consult_v2)",
}


def test_get_all_returns_the_record_and_the_associations_among_it(world: World) -> None:
    assert get_all(world) == APPROVED_RECORD


def test_get_all_with_deprecated_documents_adds_them_and_their_links(world: World) -> None:
    found = get_all(world, document_statuses=(APPROVED, DEPRECATED))

    assert found - APPROVED_RECORD == {
        "consult",
        "HasMember(ss_a,consult)",
        "HasMember(f_emergency,consult)",
        "HasMember(ss_a,HasMember(f_emergency,consult))",
        "RPLC(consult_v2,consult)",
    }


def test_get_all_format_code_filters_documents_only(world: World) -> None:
    found = get_all(world, format_codes=(c("urn:ihe:lab:xd-lab:2008", "1.3.6.1.4.1.19376.1.2.3"),))

    assert found == {
        "ss_a",
        "ss_b",
        "ss_c",
        "f_emergency",
        "f_imaging",
        "lab",
        "HasMember(ss_a,lab)",
        "HasMember(ss_a,f_emergency)",
        "HasMember(ss_b,f_imaging)",
    }


def test_get_all_confidentiality_codes_and_of_ors(world: World) -> None:
    only = {"ss_a", "ss_b", "ss_c", "f_emergency", "f_imaging", "HasMember(ss_a,f_emergency)"}
    only |= {"HasMember(ss_b,f_imaging)"}
    found = get_all(world, confidentiality_codes=((c("R", HL7_CONF), c("V", HL7_CONF)),))
    assert {n for n in found if n in ("lab", "scan", "note")} == {"lab", "scan"}
    found = get_all(world, confidentiality_codes=((c("R", HL7_CONF),), (c("V", HL7_CONF),)))
    assert found == only


def test_get_all_document_type_on_demand(world: World) -> None:
    found = get_all(world, document_types=(ON_DEMAND,))
    assert "summary" in found
    assert "HasMember(ss_b,summary)" in found
    assert not {"lab", "scan", "note"} & found


def test_get_all_statuses_of_each_kind_apply_separately(world: World) -> None:
    found = get_all(world, submission_set_statuses=(DEPRECATED,), folder_statuses=(DEPRECATED,))
    assert {"lab", "scan", "APND(addendum,lab)"} <= found
    assert not {"ss_a", "f_emergency", "HasMember(ss_a,lab)"} & found


def test_get_all_of_another_patient(world: World) -> None:
    assert get_all(world, patient_id=OTHER_PATIENT) == {
        "ss_other",
        "other",
        "HasMember(ss_other,other)",
    }
