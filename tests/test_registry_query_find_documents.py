"""FindDocuments and FindDocumentsByReferenceId: every parameter (ITI TF-2 3.18.4.1.2.3.7.1, .14).

The record is `registry_query_data`'s: among PATIENT's stable entries, consult is
Deprecated (replaced by consult_v2), and consult_v2, addendum, scan_text and signature
are the builders' default document ("the defaults" below).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from registry_fixtures import BACKENDS
from registry_query_data import (
    APPROVED,
    DEPRECATED,
    DMP_CONF,
    HL7_CONF,
    LOINC,
    MARTIN,
    ON_DEMAND,
    OTHER_PATIENT,
    PATIENT,
    STABLE,
    World,
    c,
    world_on,
)

from ebrim.storedquery import FindDocumentsByReferenceIdQuery, FindDocumentsQuery, TimeRange

DEFAULTS = {"consult_v2", "addendum", "scan_text", "signature"}
APPROVED_STABLE = {"lab", "scan", "note", *DEFAULTS}


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with world_on(request.param, tmp_path_factory, request) as built:
        yield built


def find(world: World, **params: Any) -> set[str]:
    params.setdefault("patient_id", PATIENT)
    params.setdefault("statuses", (APPROVED,))
    return world.found(FindDocumentsQuery(**params))


def by_reference(world: World, *groups: tuple[str, ...], **params: Any) -> set[str]:
    params.setdefault("statuses", (APPROVED,))
    query = FindDocumentsByReferenceIdQuery(patient_id=PATIENT, reference_ids=groups, **params)
    return world.found(query)


def ref(value: str, kind: str = "order") -> str:
    return f"{value}^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:{kind}"


# --- patient, status, entry type --------------------------------------------------------------


def test_find_documents_returns_the_patients_approved_stable_entries(world: World) -> None:
    assert find(world) == APPROVED_STABLE


def test_find_documents_of_another_patient_returns_only_theirs(world: World) -> None:
    assert find(world, patient_id=OTHER_PATIENT) == {"other"}


def test_find_documents_of_an_unknown_patient_is_an_empty_success(world: World) -> None:
    assert find(world, patient_id="0000000000^^^&1.2.3.4.5&ISO") == set()


def test_find_documents_deprecated_returns_the_replaced_entry(world: World) -> None:
    assert find(world, statuses=(DEPRECATED,)) == {"consult"}


def test_find_documents_statuses_are_ored(world: World) -> None:
    assert find(world, statuses=(APPROVED, DEPRECATED)) == APPROVED_STABLE | {"consult"}


def test_find_documents_on_demand_type_returns_only_on_demand_entries(world: World) -> None:
    assert find(world, document_types=(ON_DEMAND,)) == {"summary"}


def test_find_documents_both_types_return_stable_and_on_demand(world: World) -> None:
    assert find(world, document_types=(STABLE, ON_DEMAND)) == APPROVED_STABLE | {"summary"}


def test_find_documents_without_type_returns_stable_entries_only(world: World) -> None:
    assert "summary" not in find(world)


# --- single-slot codes: OR within the list, code and scheme both matched -----------------------


@pytest.mark.parametrize(
    ("parameter", "codes", "expected"),
    [
        ("class_codes", (c("Lab"),), {"lab"}),
        ("class_codes", (c("Lab"), c("Imaging")), {"lab", "scan", "note"}),
        ("class_codes", (c("11488-4", LOINC),), DEFAULTS),
        ("class_codes", (c("Lab", LOINC),), set()),
        ("type_codes", (c("11502-2", LOINC),), {"lab"}),
        ("type_codes", (c("11502-2", LOINC), c("18748-4", LOINC)), {"lab", "scan", "note"}),
        ("practice_setting_codes", (c("Radiology"),), {"scan", "note"}),
        ("healthcare_facility_type_codes", (c("Hospital"),), {"lab"}),
        ("healthcare_facility_type_codes", (c("Hospital"), c("Outpatient")), APPROVED_STABLE),
        ("format_codes", (c("urn:ihe:lab:xd-lab:2008", "1.3.6.1.4.1.19376.1.2.3"),), {"lab"}),
        (
            "format_codes",
            (c("1.2.840.10008.5.1.4.1.1.88.59", "1.2.840.10008.2.6.1"),),
            {"scan", "note"},
        ),
    ],
)
def test_find_documents_code_list_matches_any_code(
    world: World, parameter: str, codes: tuple[Any, ...], expected: set[str]
) -> None:
    assert find(world, **{parameter: codes}) == expected


# --- repeatable codes: OR within one slot, AND across slots ------------------------------------


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (((c("E3"),),), {"lab", "scan"}),
        (((c("E3"), c("E1")),), APPROVED_STABLE),
        (((c("E2"),), (c("E3"),)), {"lab"}),
        (((c("E1"),), (c("E2"),)), DEFAULTS),
        (((c("E1"), c("E3")), (c("E2"),)), DEFAULTS | {"lab"}),
        (((c("E1"),), (c("E9"),)), set()),
    ],
)
def test_find_documents_event_codes_and_of_ors(
    world: World, groups: tuple[tuple[Any, ...], ...], expected: set[str]
) -> None:
    assert find(world, event_codes=groups) == expected


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (((c("N", HL7_CONF), c("V", HL7_CONF)),), DEFAULTS | {"note", "scan"}),
        (((c("R", HL7_CONF),), (c("MASQUE_PS", DMP_CONF),)), {"lab"}),
        (((c("N", HL7_CONF),), (c("MASQUE_PS", DMP_CONF),)), set()),
        (((c("MASQUE_PS", HL7_CONF),),), set()),
    ],
)
def test_find_documents_confidentiality_codes_and_of_ors(
    world: World, groups: tuple[tuple[Any, ...], ...], expected: set[str]
) -> None:
    assert find(world, confidentiality_codes=groups) == expected


def test_find_documents_combines_different_parameters_with_and(world: World) -> None:
    found = find(
        world,
        class_codes=(c("Imaging"), c("Lab")),
        event_codes=((c("E3"),),),
        confidentiality_codes=((c("V", HL7_CONF),),),
    )
    assert found == {"scan"}


# --- author person: LIKE with % and _ ---------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        ((MARTIN,), {"lab"}),
        (("%DUPONT%",), DEFAULTS),
        (("%dupont%",), set()),  # case-sensitive on both databases
        (("^DURAND%",), {"scan", "note"}),
        (("^DURAND_^PAUL",), {"scan", "note"}),  # _ is one character: % or X
        (("^DURAND\\%^PAUL",), {"scan"}),  # an escaped % is the character itself
        (("^DURAND\\%%",), {"scan"}),
        (("^DURAND\\_^PAUL",), set()),  # nobody has a literal underscore
        (("^DURAND*",), set()),  # * and ? are no wildcards, even on SQLite
        (("%[%",), set()),
        (("%MARTIN%", "%DURANDX%"), {"lab", "note"}),  # several values: OR
        (("^DURAND",), set()),  # no wildcard: the whole value must match
    ],
)
def test_find_documents_author_person_like(
    world: World, patterns: tuple[str, ...], expected: set[str]
) -> None:
    assert find(world, author_persons=patterns) == expected


# --- times: From inclusive, To exclusive, lower precision = first instant of the period --------
# creation: lab 20230615120000, scan 20240301093000, note 20240301093001, defaults 20240401080000


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        (TimeRange(from_="20240301093000"), {"scan", "note", *DEFAULTS}),
        (TimeRange(from_="20240301093001"), {"note", *DEFAULTS}),
        (TimeRange(to="20240301093001"), {"lab", "scan"}),
        (TimeRange(to="20240301093000"), {"lab"}),
        (TimeRange("20240301093000", "20240301093001"), {"scan"}),
        (TimeRange(from_="2024"), {"scan", "note", *DEFAULTS}),
        (TimeRange(to="2024"), {"lab"}),
        (TimeRange("202403", "202404"), {"scan", "note"}),
        (TimeRange("20240301", "20240302"), {"scan", "note"}),
        (TimeRange("2024030109", "202403010930"), set()),
        (TimeRange("2025", None), set()),
    ],
)
def test_find_documents_creation_time_range(
    world: World, bounds: TimeRange, expected: set[str]
) -> None:
    assert find(world, creation_time=bounds) == expected


# service start: lab 20230614, scan 2024030109 (hour precision), others 20240101


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        (TimeRange(from_="2024030109"), {"scan"}),
        (TimeRange(from_="20240301090000"), {"scan"}),
        (TimeRange(from_="20240301090001"), set()),
        (TimeRange(to="2024030109"), APPROVED_STABLE - {"scan"}),
        (TimeRange("20230614", "20230615"), {"lab"}),
        (TimeRange("20230614000000", "20230614000001"), {"lab"}),
    ],
)
def test_find_documents_service_start_time_range(
    world: World, bounds: TimeRange, expected: set[str]
) -> None:
    assert find(world, service_start_time=bounds) == expected


def test_find_documents_service_stop_bound_skips_entries_without_a_stop_time(
    world: World,
) -> None:
    assert find(world, service_stop_time=TimeRange(from_="1900")) == APPROVED_STABLE - {"scan"}


def test_find_documents_service_stop_time_range(world: World) -> None:
    # lab stops 20230615, the others 202401020300
    assert find(world, service_stop_time=TimeRange("20230615", "202401020300")) == {"lab"}


# --- FindDocumentsByReferenceId: AND of ORs of exact values -----------------------------------


def test_find_by_reference_id_matches_one_value(world: World) -> None:
    assert by_reference(world, (ref("ORD-1"),)) == {"scan", *DEFAULTS}


def test_find_by_reference_id_values_of_one_slot_are_ored(world: World) -> None:
    assert by_reference(world, (ref("ORD-2"), ref("ORD-1"))) == {"lab", "scan", *DEFAULTS}


def test_find_by_reference_id_slots_are_anded(world: World) -> None:
    assert by_reference(world, (ref("ORD-2"),), (ref("ACC-9", "accession"),)) == {"lab"}
    assert by_reference(world, (ref("ORD-1"),), (ref("ACC-9", "accession"),)) == set()


def test_find_by_reference_id_needs_the_whole_value(world: World) -> None:
    assert by_reference(world, ("ORD-1",)) == set()


def test_find_by_reference_id_applies_the_find_documents_filters(world: World) -> None:
    assert by_reference(world, (ref("ORD-1"),), class_codes=(c("Imaging"),)) == {"scan"}
    assert by_reference(world, (ref("ORD-1"),), statuses=(DEPRECATED,)) == {"consult"}
