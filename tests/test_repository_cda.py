"""ITI-41: submitted metadata is compared with the CDA document's own header."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CDA_EXAMPLES
from registry_fixtures import REPOSITORY, migrated_engine, new_registry
from sqlalchemy import Engine

from cda import read_header
from ebrim.model import Association, Code, Metadata, RegistryResponse, SubmissionSet
from ebrim.profile import Profile
from ebrim.vocabulary import AssociationType, ResponseStatus, Severity
from registry import Registry
from repository import Repository, RepositorySettings, open_repository

EXAMPLE = CDA_EXAMPLES / "VAC-NOTE_2023.01.xml"
CONTENT = EXAMPLE.read_bytes()
HEADER = read_header(CONTENT)
OTHER_INS = "277076322082910^^^&1.2.250.1.213.1.4.10&ISO^NH"
CLASS_CODE = Code("10", "1.2.250.1.213.1.1.4.1", "Compte rendu")


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        yield engine


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return new_registry(engine, HEADER.patient_id, OTHER_INS)


def repository(registry: Registry, tmp_path: Path, profile: Profile, **settings: Any) -> Repository:
    config = RepositorySettings(REPOSITORY, tmp_path / "data", profile=profile, **settings)
    return open_repository(config, registry, registry.engine)


def provide(repo: Repository, content: bytes = CONTENT, **changes: Any) -> RegistryResponse:
    entry = HEADER.document_entry("Document01", class_code=CLASS_CODE)
    entry = dataclasses.replace(entry, hash=None, size=None, **changes)
    submission_set = SubmissionSet(
        entry_uuid="SubmissionSet01",
        unique_id=f"1.2.250.1.999.{abs(hash((entry.unique_id, content))) % 10**9}",
        source_id="1.2.250.1.999",
        patient_id=entry.patient_id,
        submission_time="20240506070809",
        authors=HEADER.authors,
        content_type_code=HEADER.type_code,
    )
    member = Association(
        "Association01",
        AssociationType.HAS_MEMBER.value,
        "SubmissionSet01",
        "Document01",
        submission_set_status="Original",
    )
    metadata = Metadata(
        submission_sets=(submission_set,), documents=(entry,), associations=(member,)
    )
    return repo.provide_and_register(metadata, {"Document01": io.BytesIO(content)})


MISMATCHES = [
    pytest.param({"patient_id": OTHER_INS}, "patientId", id="patient"),
    pytest.param({"unique_id": "1.2.250.1.999.77"}, "uniqueId", id="uniqueId"),
    pytest.param(
        {"type_code": Code("11490-0", "2.16.840.1.113883.6.1", "Lettre de liaison")},
        "typeCode",
        id="typeCode",
    ),
    pytest.param(
        {"confidentiality_codes": (Code("R", "2.16.840.1.113883.5.25", "Restreint"),)},
        "confidentialityCode",
        id="confidentiality",
    ),
    # 15:35 local time submitted as if it were UTC (the document says 14:35 UTC)
    pytest.param({"creation_time": "20210409153500"}, "creationTime", id="creationTime"),
]


def test_consistent_cda_is_accepted_in_dmp_profile(registry: Registry, tmp_path: Path) -> None:
    response = provide(repository(registry, tmp_path, Profile.DMP))
    assert response.status is ResponseStatus.SUCCESS
    assert response.errors == ()


def test_masking_flags_and_truncated_time_are_not_mismatches(
    registry: Registry, tmp_path: Path
) -> None:
    flags = (
        Code("N", "2.16.840.1.113883.5.25", "Normal"),
        Code("MASQUE_PS", "1.2.250.1.213.1.1.4.13", "Masqué aux professionnels"),
    )
    repo = repository(registry, tmp_path, Profile.DMP)
    response = provide(repo, confidentiality_codes=flags, creation_time="202104091435")
    assert response.status is ResponseStatus.SUCCESS, response.errors


@pytest.mark.parametrize(("changes", "field"), MISMATCHES)
def test_mismatch_is_an_error_in_dmp_profile(
    registry: Registry, tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    repo = repository(registry, tmp_path, Profile.DMP)
    response = provide(repo, **changes)
    assert response.status is ResponseStatus.FAILURE
    [error] = response.errors
    assert error.code.value == "XDSRepositoryMetadataError"
    assert error.severity is Severity.ERROR
    assert f"DocumentEntry Document01: {field} " in error.message
    assert "CDA header" in error.message
    assert not registry.find_by_unique_id(changes.get("unique_id", HEADER.unique_id))


@pytest.mark.parametrize(("changes", "field"), MISMATCHES)
def test_mismatch_is_a_warning_in_generic_profile(
    registry: Registry, tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    repo = repository(registry, tmp_path, Profile.GENERIC)
    response = provide(repo, **changes)
    assert response.status is ResponseStatus.SUCCESS
    [warning] = response.errors
    assert warning.severity is Severity.WARNING
    assert warning.code.value == "XDSRepositoryMetadataError"
    assert f"{field} " in warning.message
    assert registry.find_by_unique_id(changes.get("unique_id", HEADER.unique_id))


def test_severity_setting_overrides_the_profile(registry: Registry, tmp_path: Path) -> None:
    repo = repository(registry, tmp_path, Profile.GENERIC, cda_mismatch=Severity.ERROR)
    response = provide(repo, creation_time="20210409153500")
    assert response.status is ResponseStatus.FAILURE
    [error] = response.errors
    assert "creationTime '20210409153500' differs from the document's '20210409143500'" in (
        error.message
    )


def test_xml_that_is_not_cda_is_not_compared(registry: Registry, tmp_path: Path) -> None:
    repo = repository(registry, tmp_path, Profile.DMP)
    response = provide(repo, content=b"<note>not a CDA document</note>")
    assert response.status is ResponseStatus.SUCCESS, response.errors


def test_cda_in_wrong_namespace_is_not_compared(registry: Registry, tmp_path: Path) -> None:
    content = CONTENT.replace(b'xmlns="urn:hl7-org:v3"', b'xmlns="urn:example:other"')
    response = provide(repository(registry, tmp_path, Profile.DMP), content=content)
    assert response.status is ResponseStatus.SUCCESS, response.errors


def test_other_mime_type_is_not_sniffed(registry: Registry, tmp_path: Path) -> None:
    repo = repository(registry, tmp_path, Profile.DMP)
    response = provide(repo, mime_type="application/pdf", unique_id="1.2.250.1.999.78")
    assert response.status is ResponseStatus.SUCCESS, response.errors


def test_unreadable_cda_is_refused_in_dmp_profile(registry: Registry, tmp_path: Path) -> None:
    truncated = CONTENT[: len(CONTENT) // 2]
    response = provide(repository(registry, tmp_path, Profile.DMP), content=truncated)
    assert response.status is ResponseStatus.FAILURE
    [error] = response.errors
    assert "the CDA document cannot be read: not readable as XML" in error.message


def test_cda_over_the_limit_is_stored_with_a_warning(registry: Registry, tmp_path: Path) -> None:
    repo = repository(registry, tmp_path, Profile.DMP, cda_max_bytes=1000)
    response = provide(repo)
    assert response.status is ResponseStatus.SUCCESS
    [warning] = response.errors
    assert warning.severity is Severity.WARNING
    assert "its header was not compared" in warning.message
