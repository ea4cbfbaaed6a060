"""Value formats accepted and refused: DTM, OID, uniqueId, hash, size, MIME, language, HL7 types."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebrim.validate.formats import (
    document_unique_id_problem,
    dtm_not_after,
    dtm_problem,
    entry_id_problem,
    is_hash,
    is_language_code,
    is_mime_type,
    is_size,
    oid_problem,
)
from ebrim.validate.hl7_formats import (
    cx_problem,
    cxi_problem,
    source_patient_info_problem,
    xcn_problem,
    xon_problem,
    xtn_problem,
)


@pytest.mark.parametrize(
    "value", ["2024", "202402", "20240229", "2024022923", "202402292359", "20240229235959"]
)
def test_dtm_accepts_every_precision(value: str) -> None:
    assert dtm_problem(value) is None


@pytest.mark.parametrize(
    "value", ["", "24", "20230229", "20241232", "2024010100600", "20240101000060", "2024010100+01"]
)
def test_dtm_refuses_bad_lengths_and_ranges(value: str) -> None:
    assert dtm_problem(value)


@pytest.mark.parametrize(
    ("start", "stop", "ordered"),
    [("2024", "20240101", True), ("20240102", "202401", True), ("20240102", "20240101", False)],
)
def test_dtm_order_compares_at_common_precision(start: str, stop: str, ordered: bool) -> None:
    assert dtm_not_after(start, stop) is ordered


@pytest.mark.parametrize(
    "value", ["1.2.3", "2.16.840.1.113883.6.1", "0.0", "1.2.250.1.213.1.4.10", "1." + "2" * 62]
)
def test_oid_accepts_dotted_numbers(value: str) -> None:
    assert oid_problem(value) is None


@pytest.mark.parametrize(
    "value", ["", "1", "3.1", "1.02", "1..2", "1.2.", "urn:oid:1.2", "1.2a", "1." + "2" * 63]
)
def test_oid_refuses(value: str) -> None:
    assert oid_problem(value)


def _oid_by_the_rules(value: str) -> bool:
    arcs = value.split(".")
    return (
        0 < len(value) <= 64
        and len(arcs) >= 2
        and arcs[0] in ("0", "1", "2")
        and all(arc == "0" or (arc[:1] in "123456789" and arc.isascii() and arc.isdigit())
                for arc in arcs)
    )  # fmt: skip


@settings(max_examples=3000)
@given(st.text(alphabet="0123456789.x\n\u0663", max_size=70))
def test_oid_verdict_is_the_rules_verdict(value: str) -> None:
    assert (oid_problem(value) is None) is _oid_by_the_rules(value)


@pytest.mark.parametrize(
    "value", ["1.2.3", "1.2.3^abc", "1.2.3^" + "x" * 16, "1.2.250.1.213.1.1.1.12.3.2024^42"]
)
def test_document_unique_id_accepts_oid_and_extension(value: str) -> None:
    assert document_unique_id_problem(value) is None


def test_hash_is_forty_hex_digits_either_case() -> None:
    assert is_hash("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709")
    assert not is_hash("da39a3ee5e6b4b0d3255bfef95601890afd8070")


def test_size_is_a_non_negative_integer() -> None:
    assert is_size("0") and is_size("123456789012")
    assert not is_size("") and not is_size("+1")


@pytest.mark.parametrize(
    "value", ["text/xml", "application/pdf", "application/hl7-v3+xml", "text/plain; charset=utf-8"]
)
def test_mime_type_accepts(value: str) -> None:
    assert is_mime_type(value)


@pytest.mark.parametrize("value", ["fr", "fr-FR", "en-US", "zh-Hant-TW", "i-klingon"])
def test_language_code_accepts(value: str) -> None:
    assert is_language_code(value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("Document01", True),
        ("urn:uuid:5b0a7b3a-7e1d-4b53-9bd4-2f0d3c8e6a11", True),
        ("urn:uuid:5b0a7b3a", False),
        ("", False),
        ("Doc 1", False),
    ],
)
def test_entry_id_symbolic_or_uuid(value: str, ok: bool) -> None:
    assert (entry_id_problem(value) is None) is ok


@pytest.mark.parametrize(
    "value",
    [
        "ST-1000^^^&1.3.6.1.4.1.21367.2003.3.9&ISO",
        "279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH",
    ],
)
def test_cx_accepts_xds_patient_ids_with_or_without_type_code(value: str) -> None:
    assert cx_problem(value) is None


def test_cxi_authority_is_optional() -> None:
    assert cxi_problem("A-1^^^^urn:ihe:iti:xds:2013:order") is None


@pytest.mark.parametrize(
    "value",
    ["Gerald Smitty", "^Martin^Jean", "12345^^^^^^^^&1.2.250.1.71.4.2.1&ISO", "^Martin&van"],
)
def test_xcn_accepts_id_or_family_name(value: str) -> None:
    assert xcn_problem(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "Cleveland Clinic",
        "Hosp^^^^^^^^^1.2.3.4",
        "Hosp^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^1234567890",
    ],
)
def test_xon_accepts_name_with_oid_or_authority_qualified_id(value: str) -> None:
    assert xon_problem(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "^^Internet^jean@example.org",
        "^PRN^PH^^33^1^23456789",
        "+33123456789",
        "^WPN^CP^^^^0612345678",
    ],
)
def test_xtn_accepts_email_or_phone(value: str) -> None:
    assert xtn_problem(value) is None


@pytest.mark.parametrize(
    "value", ["PID-3|ST-1000^^^&1.3.6.1.4.1.21367.2003.3.9&ISO", "PID-5|Doe^John^^^", "PID-7|1956"]
)
def test_source_patient_info_accepts_pid_lines(value: str) -> None:
    assert source_patient_info_problem(value) is None
