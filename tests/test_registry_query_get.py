"""The queries by id (ITI TF-2 3.18.4.1.2.3.7.5-12): GetDocuments, GetFolders,
GetAssociations, GetDocumentsAndAssociations, GetSubmissionSets,
GetSubmissionSetAndContents, GetFolderAndContents, GetFoldersForDocument.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from registry_fixtures import BACKENDS
from registry_query_data import HL7_CONF, ON_DEMAND, STABLE, World, c, world_on

from ebrim.model import DocumentEntry, Folder, SubmissionSet
from ebrim.storedquery import (
    GetAssociationsQuery,
    GetDocumentsAndAssociationsQuery,
    GetDocumentsQuery,
    GetFolderAndContentsQuery,
    GetFoldersForDocumentQuery,
    GetFoldersQuery,
    GetSubmissionSetAndContentsQuery,
    GetSubmissionSetsQuery,
)

UNKNOWN = "urn:uuid:00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with world_on(request.param, tmp_path_factory, request) as built:
        yield built


def unique_id(world: World, name: str) -> str:
    obj = world.registry.get(world[name])
    assert isinstance(obj, DocumentEntry | SubmissionSet | Folder) and obj.unique_id
    return obj.unique_id


# --- GetDocuments / GetFolders ----------------------------------------------------------------


def test_get_documents_by_entry_uuid_whatever_the_status(world: World) -> None:
    query = GetDocumentsQuery(uuids=(world["consult"], world["lab"], UNKNOWN))
    assert world.found(query) == {"consult", "lab"}


def test_get_documents_by_unique_id(world: World) -> None:
    query = GetDocumentsQuery(unique_ids=(unique_id(world, "scan"), "1.2.3.999"))
    assert world.found(query) == {"scan"}


def test_get_documents_by_logical_id(world: World) -> None:
    assert world.found(GetDocumentsQuery(logical_ids=(world["note"],))) == {"note"}


def test_get_documents_returns_on_demand_entries_too(world: World) -> None:
    assert world.found(GetDocumentsQuery(uuids=(world["summary"],))) == {"summary"}


def test_get_documents_of_an_unknown_id_is_an_empty_success(world: World) -> None:
    result = world.ask(GetDocumentsQuery(uuids=(UNKNOWN,)))
    assert result.response.errors == ()
    assert result.metadata is not None and result.metadata.objects() == ()


def test_get_documents_does_not_return_other_kinds(world: World) -> None:
    assert world.found(GetDocumentsQuery(uuids=(world["ss_a"], world["f_imaging"]))) == set()


def test_get_folders_by_entry_uuid_and_unique_id(world: World) -> None:
    assert world.found(GetFoldersQuery(uuids=(world["f_imaging"], UNKNOWN))) == {"f_imaging"}
    query = GetFoldersQuery(unique_ids=(unique_id(world, "f_emergency"),))
    assert world.found(query) == {"f_emergency"}
    assert world.found(GetFoldersQuery(logical_ids=(world["f_imaging"],))) == {"f_imaging"}


# --- GetAssociations / GetDocumentsAndAssociations --------------------------------------------


def test_get_associations_with_the_object_as_source_or_target(world: World) -> None:
    assert world.found(GetAssociationsQuery(uuids=(world["lab"],))) == {
        "HasMember(ss_a,lab)",
        "APND(addendum,lab)",
    }


def test_get_associations_of_several_objects(world: World) -> None:
    query = GetAssociationsQuery(uuids=(world["signature"], world["f_imaging"]))
    assert world.found(query) == {
        "HasMember(ss_c,signature)",
        "signs(signature,consult_v2)",
        "HasMember(ss_b,f_imaging)",
        "HasMember(f_imaging,scan)",
    }


def test_get_associations_of_an_unknown_id_is_empty(world: World) -> None:
    assert world.found(GetAssociationsQuery(uuids=(UNKNOWN,))) == set()


def test_get_documents_and_associations(world: World) -> None:
    assert world.found(GetDocumentsAndAssociationsQuery(uuids=(world["scan"],))) == {
        "scan",
        "HasMember(ss_b,scan)",
        "HasMember(f_imaging,scan)",
        "XFRM(scan_text,scan)",
    }


def test_get_documents_and_associations_by_unique_id(world: World) -> None:
    query = GetDocumentsAndAssociationsQuery(unique_ids=(unique_id(world, "note"),))
    assert world.found(query) == {"note", "HasMember(ss_b,note)"}


# --- GetSubmissionSets ------------------------------------------------------------------------


def test_get_submission_sets_of_documents_and_folders(world: World) -> None:
    query = GetSubmissionSetsQuery(uuids=(world["scan"], world["f_emergency"]))
    assert world.found(query) == {
        "ss_a",
        "ss_b",
        "HasMember(ss_b,scan)",
        "HasMember(ss_a,f_emergency)",
    }


def test_get_submission_sets_ignores_folder_memberships(world: World) -> None:
    # consult_v2 is also a member of f_emergency: a folder is no submission set.
    query = GetSubmissionSetsQuery(uuids=(world["consult_v2"],))
    assert world.found(query) == {"ss_c", "HasMember(ss_c,consult_v2)"}


def test_get_submission_sets_of_an_unknown_id_is_empty(world: World) -> None:
    assert world.found(GetSubmissionSetsQuery(uuids=(UNKNOWN,))) == set()


# --- GetSubmissionSetAndContents --------------------------------------------------------------

SS_A_CONTENTS = {
    "ss_a",
    "consult",
    "lab",
    "f_emergency",
    "HasMember(ss_a,consult)",
    "HasMember(ss_a,lab)",
    "HasMember(ss_a,f_emergency)",
    "HasMember(f_emergency,consult)",
    "HasMember(ss_a,HasMember(f_emergency,consult))",
}


def test_get_submission_set_and_contents(world: World) -> None:
    query = GetSubmissionSetAndContentsQuery(uuid=world["ss_a"])
    assert world.found(query) == SS_A_CONTENTS


def test_get_submission_set_and_contents_by_unique_id(world: World) -> None:
    query = GetSubmissionSetAndContentsQuery(unique_id=unique_id(world, "ss_a"))
    assert world.found(query) == SS_A_CONTENTS


def test_get_submission_set_and_contents_filters_documents_and_their_links(world: World) -> None:
    query = GetSubmissionSetAndContentsQuery(
        uuid=world["ss_a"], confidentiality_codes=((c("R", HL7_CONF),),)
    )
    assert world.found(query) == {
        "ss_a",
        "lab",
        "f_emergency",
        "HasMember(ss_a,lab)",
        "HasMember(ss_a,f_emergency)",
    }


def test_get_submission_set_and_contents_format_code(world: World) -> None:
    query = GetSubmissionSetAndContentsQuery(
        uuid=world["ss_a"],
        format_codes=(c("urn:ihe:pcc:xphr:2007", "1.3.6.1.4.1.19376.1.2.3"),),
    )
    assert world.found(query) == SS_A_CONTENTS - {"lab", "HasMember(ss_a,lab)"}


def test_get_submission_set_and_contents_stable_only_by_default(world: World) -> None:
    found = world.found(GetSubmissionSetAndContentsQuery(uuid=world["ss_b"]))
    assert "summary" not in found
    assert {"scan", "note", "f_imaging", "HasMember(ss_b,HasMember(f_imaging,scan))"} <= found


def test_get_submission_set_and_contents_on_demand(world: World) -> None:
    query = GetSubmissionSetAndContentsQuery(uuid=world["ss_b"], document_types=(ON_DEMAND,))
    assert world.found(query) == {
        "ss_b",
        "summary",
        "f_imaging",
        "HasMember(ss_b,summary)",
        "HasMember(ss_b,f_imaging)",
    }


def test_get_submission_set_and_contents_of_an_unknown_set_is_empty(world: World) -> None:
    assert world.found(GetSubmissionSetAndContentsQuery(uuid=UNKNOWN)) == set()


# --- GetFolderAndContents / GetFoldersForDocument ---------------------------------------------


def test_get_folder_and_contents(world: World) -> None:
    assert world.found(GetFolderAndContentsQuery(uuid=world["f_emergency"])) == {
        "f_emergency",
        "consult",
        "consult_v2",
        "HasMember(f_emergency,consult)",
        "HasMember(f_emergency,consult_v2)",
    }


def test_get_folder_and_contents_by_unique_id_with_filters(world: World) -> None:
    folder_uid = unique_id(world, "f_imaging")
    query = GetFolderAndContentsQuery(unique_id=folder_uid, document_types=(STABLE,))
    assert world.found(query) == {"f_imaging", "scan", "HasMember(f_imaging,scan)"}
    query = GetFolderAndContentsQuery(unique_id=folder_uid, document_types=(ON_DEMAND,))
    assert world.found(query) == {"f_imaging"}
    query = GetFolderAndContentsQuery(
        unique_id=folder_uid, confidentiality_codes=((c("N", HL7_CONF),),)
    )
    assert world.found(query) == {"f_imaging"}


def test_get_folders_for_document(world: World) -> None:
    assert world.found(GetFoldersForDocumentQuery(uuid=world["consult"])) == {"f_emergency"}
    assert world.found(GetFoldersForDocumentQuery(uuid=world["consult_v2"])) == {"f_emergency"}
    query = GetFoldersForDocumentQuery(unique_id=unique_id(world, "scan"))
    assert world.found(query) == {"f_imaging"}


def test_get_folders_for_a_document_in_no_folder_is_empty(world: World) -> None:
    assert world.found(GetFoldersForDocumentQuery(uuid=world["lab"])) == set()
    assert world.found(GetFoldersForDocumentQuery(uuid=UNKNOWN)) == set()
