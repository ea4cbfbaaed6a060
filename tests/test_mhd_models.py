"""The R4B model check of incoming FHIR JSON (`mhd.models`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mhd.models import InvalidResource, check

BUNDLE = (
    Path(__file__).parent
    / "data"
    / "mhd"
    / "Bundle-ex-comprehensiveProvideDocumentBundleComplete.json"
)


def bundle() -> dict[str, Any]:
    return json.loads(BUNDLE.read_text(encoding="utf-8"))


def reference_of(data: dict[str, Any]) -> dict[str, Any]:
    return next(
        e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "DocumentReference"
    )


def test_the_official_bundle_passes_and_is_left_untouched() -> None:
    data = bundle()
    before = copy.deepcopy(data)

    check(data)

    assert data == before  # the placeholders and the set-aside contained are copies


def test_a_bad_contained_resource_is_named_by_its_path_each_time() -> None:
    data = bundle()
    reference = reference_of(data)
    index = data["entry"].index(next(e for e in data["entry"] if e["resource"] is reference))
    reference.setdefault("contained", []).append(
        {"resourceType": "Practitioner", "id": "bad", "gender": 3}
    )
    where = f"entry.{index}.resource.contained.{len(reference['contained']) - 1}"

    for _ in range(2):  # a refusal is not remembered as a success
        with pytest.raises(InvalidResource) as refused:
            check(data)
        assert refused.value.where.startswith(where), refused.value


def test_a_contained_resource_of_no_known_type_is_refused() -> None:
    data = bundle()
    reference_of(data)["contained"] = [{"resourceType": "Nonsense", "id": "x"}]

    with pytest.raises(InvalidResource, match="unknown resourceType 'Nonsense'"):
        check(data)


@pytest.mark.parametrize("data", [12, ["AAAA"], {"x": 1}])
def test_a_binary_whose_data_is_no_string_is_refused(data: Any) -> None:
    bundled = bundle()
    binary = next(
        e["resource"] for e in bundled["entry"] if e["resource"]["resourceType"] == "Binary"
    )
    binary["data"] = data

    with pytest.raises(InvalidResource, match="data"):
        check(bundled)


def test_an_element_of_the_wrong_type_is_refused_with_its_path() -> None:
    data = bundle()
    reference_of(data)["status"] = {"not": "a code"}

    with pytest.raises(InvalidResource, match="status"):
        check(data)
