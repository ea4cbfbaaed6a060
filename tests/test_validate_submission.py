"""Whole submissions: the valid baselines, ITI-41 against ITI-42, on-demand entries, references."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import (
    ASSOCIATIONS,
    REGISTERED_DOCUMENT,
    has_member,
    valid_submission,
    with_document,
    with_folder,
    with_submission_set,
)

from ebrim.errors import ErrorCode, Transaction
from ebrim.model import Association, Metadata, ObjectRef
from ebrim.validate import validate
from ebrim.vocabulary import AssociationType, ObjectType

EXISTING_FOLDER = "urn:uuid:0e6c3a04-4a43-4b6e-9f0e-2d7bb0e3f1aa"


@pytest.mark.parametrize("transaction", [Transaction.ITI_42, Transaction.ITI_41])
def test_valid_submission_has_no_finding(transaction: Transaction) -> None:
    assert validate(valid_submission(), transaction=transaction) == []


def test_default_transaction_is_register() -> None:
    findings = validate(with_document(valid_submission(), hash=None))
    assert [f.code for f in findings] == [ErrorCode.XDSRegistryMetadataError]


def test_provide_and_register_lets_the_repository_compute_hash_size_and_repository() -> None:
    metadata = with_document(valid_submission(), hash=None, size=None, repository_unique_id=None)
    assert validate(metadata, transaction=Transaction.ITI_41) == []
    missing = validate(metadata, transaction=Transaction.ITI_42)
    assert sorted(f.message.rsplit(" ", 3)[-3] for f in missing) == [
        "hash",
        "repositoryUniqueId",
        "size",
    ]


def test_provide_and_register_still_checks_hash_and_size_when_given() -> None:
    findings = validate(
        with_document(valid_submission(), hash="xyz", size="-3"), transaction=Transaction.ITI_41
    )
    assert [f.code for f in findings] == [ErrorCode.XDSRepositoryMetadataError] * 2


def test_provide_and_register_answers_with_repository_codes() -> None:
    metadata = with_document(valid_submission(), mime_type=None)
    assert [f.code for f in validate(metadata, transaction=Transaction.ITI_41)] == [
        ErrorCode.XDSRepositoryMetadataError
    ]


def test_metadata_update_answers_with_its_own_generic_code() -> None:
    metadata = with_document(valid_submission(), mime_type=None)
    assert [f.code for f in validate(metadata, transaction=Transaction.ITI_57)] == [
        ErrorCode.XDSMetadataUpdateError
    ]


def test_on_demand_entry_needs_no_hash_size_or_creation_time() -> None:
    metadata = with_document(
        valid_submission(),
        object_type=ObjectType.ON_DEMAND_DOCUMENT.value,
        hash=None,
        size=None,
        creation_time=None,
        legal_authenticator=None,
        service_start_time=None,
        service_stop_time=None,
    )
    assert validate(metadata) == []


def test_on_demand_entry_still_needs_its_repository() -> None:
    metadata = with_document(
        valid_submission(),
        object_type=ObjectType.ON_DEMAND_DOCUMENT.value,
        hash=None,
        size=None,
        creation_time=None,
        legal_authenticator=None,
        service_start_time=None,
        service_stop_time=None,
        repository_unique_id=None,
    )
    findings = validate(metadata, transaction=Transaction.ITI_41)
    assert len(findings) == 1 and "repositoryUniqueId" in findings[0].message


def test_empty_message_reports_the_missing_submission_set_only() -> None:
    findings = validate(Metadata())
    assert [(f.code, f.location) for f in findings] == [(ErrorCode.XDSRegistryMetadataError, "")]


def test_bad_patient_id_shared_by_every_object_is_reported_once() -> None:
    metadata = valid_submission()
    for change in (with_submission_set, with_document, with_folder):
        metadata = change(metadata, patient_id="no-authority")
    findings = validate(metadata)
    assert len(findings) == 1 and findings[0].location == "SubmissionSet01"


def test_reference_to_a_registered_document_is_left_to_the_registry() -> None:
    metadata = replace(
        valid_submission(),
        associations=(
            *ASSOCIATIONS,
            has_member("SsOld", "SubmissionSet01", REGISTERED_DOCUMENT, "Reference"),
        ),
    )
    assert validate(metadata) == []


def test_document_added_to_a_registered_folder() -> None:
    metadata = replace(
        valid_submission(),
        associations=(
            *ASSOCIATIONS,
            has_member("OldFolderDoc", EXISTING_FOLDER, "Document01"),
            has_member("SsOldFolderDoc", "SubmissionSet01", "OldFolderDoc"),
        ),
    )
    assert validate(metadata) == []


def test_registered_document_added_to_a_new_folder() -> None:
    metadata = replace(
        valid_submission(),
        associations=(
            *ASSOCIATIONS,
            has_member("FolderOld", "Folder01", REGISTERED_DOCUMENT),
            has_member("SsFolderOld", "SubmissionSet01", "FolderOld"),
        ),
    )
    assert validate(metadata) == []


def test_signature_document_signs_the_submission_set() -> None:
    signs = Association("Sign01", AssociationType.SIGNS.value, "Document01", "SubmissionSet01")
    metadata = replace(valid_submission(), associations=(*ASSOCIATIONS, signs))
    assert validate(metadata) == []


@pytest.mark.parametrize(
    "kind",
    [AssociationType.TRANSFORM, AssociationType.APPEND, AssociationType.TRANSFORM_REPLACE],
)
def test_document_relationships_to_a_registered_document(kind: AssociationType) -> None:
    *others, rplc = ASSOCIATIONS
    metadata = replace(
        valid_submission(), associations=(*others, replace(rplc, association_type=kind.value))
    )
    assert validate(metadata) == []


def test_object_ref_resolves_a_symbolic_reference() -> None:
    *others, rplc = ASSOCIATIONS
    metadata = replace(
        valid_submission(),
        associations=(*others, replace(rplc, target="OldDoc")),
        object_refs=(ObjectRef("OldDoc"),),
    )
    assert validate(metadata) == []


def test_unresolved_association_is_not_judged_further() -> None:
    bad = has_member("Ghost", "NoSuchFolder", "NoSuchDocument")
    metadata = replace(valid_submission(), associations=(*ASSOCIATIONS, bad))
    findings = validate(metadata)
    assert [f.code for f in findings] == [ErrorCode.UnresolvedReferenceException] * 2
    assert {f.location for f in findings} == {"Ghost"}


def test_public_api() -> None:
    import ebrim.validate

    assert sorted(ebrim.validate.__all__) == ["Rule", "validate"]
