"""`xds validate`: the answer a registry would give, and exit statuses an operator can script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, IHE, assert_valid

from ebrim.safexml import parse_xml
from xds_cli.main import EXIT_INVALID, EXIT_UNREADABLE, EXIT_VALID, main


def test_valid_submission_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DATA / "rich_submission.xml")]) == EXIT_VALID
    out = capsys.readouterr().out
    assert "2 document(s), 1 folder(s), 10 association(s)" in out
    assert "SUCCESS" in out


def test_dmp_submission_accepted_under_dmp_profile() -> None:
    assert main(["validate", "--profile", "dmp", str(DATA / "dmp_submission.xml")]) == EXIT_VALID


def test_generic_submission_refused_under_dmp_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--profile", "dmp", str(DATA / "rich_submission.xml")]) == EXIT_INVALID
    assert "is not an INS" in capsys.readouterr().out


def test_invalid_submission_prints_code_and_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = (DATA / "rich_submission.xml").read_bytes().replace(b'"text/xml"', b'"not a mime"', 1)
    path = tmp_path / "broken.xml"
    path.write_bytes(broken)
    assert main(["validate", str(path)]) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "XDSRegistryMetadataError" in out and "Document01" in out


def test_provide_and_register_checked_with_repository_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = IHE / "examples" / "XDS.b_ProvideAndRegisterDocumentSet-bRequest.xml"
    # The official example's sourceId is not an OID (ITI TF-3 4.2.3.3.9): refused, under ITI-41.
    assert main(["validate", str(example)]) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "ITI-41 Provide and Register" in out and "XDSRepositoryMetadataError" in out
    assert "schema XDS.b_DocumentRepository.xsd: valid" in out


def test_registry_response_xml_valid_against_rs_xsd(capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", "--xml", "--profile", "dmp", str(DATA / "rich_submission.xml")])
    out = capsys.readouterr().out
    xml = out[out.index("<rs:RegistryResponse") :]
    assert_valid(parse_xml(xml.encode()), "rs")


def test_stored_query_request_checked(capsys: pytest.CaptureFixture[str]) -> None:
    example = IHE / "examples" / "XDS.b_RegistryStoredQueryRequest.xml"
    assert main(["validate", str(example)]) == EXIT_INVALID
    assert "XDSRegistryError at $XDSDocumentEntryPatientId" in capsys.readouterr().out


@pytest.mark.parametrize(
    "path",
    [DATA / "hostile" / "billion_laughs.xml", DATA / "hostile" / "external_dtd.xml"],
    ids=["billion-laughs", "external-dtd"],
)
def test_hostile_file_unreadable(path: Path) -> None:
    assert main(["validate", str(path)]) == EXIT_UNREADABLE


def test_missing_file_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.xml")]) == EXIT_UNREADABLE
    assert "cannot read" in capsys.readouterr().err


def test_other_xml_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "other.xml"
    path.write_bytes(b"<html/>")
    assert main(["validate", str(path)]) == EXIT_UNREADABLE
    assert "not an XDS message nor a CDA document" in capsys.readouterr().err


@pytest.mark.parametrize("form", ["json", "xml"])
def test_the_report_in_json_and_xml(form: str, capsys: pytest.CaptureFixture[str]) -> None:
    broken = DATA / "rich_submission.xml"
    assert main(["validate", "--profile", "dmp", "--report", form, str(broken)]) == EXIT_INVALID
    out = capsys.readouterr().out
    if form == "json":
        report = json.loads(out)
        assert report["status"] == "FAILED" and report["schema_valid"] is True
        assert {f["code"] for f in report["findings"]} == {"XDSRegistryMetadataError"}
        assert any(f["location"] == "Document01" for f in report["findings"])
    else:
        root = parse_xml(out.encode())
        assert root.get("status") == "FAILED"
        assert root.find("finding").get("code") == "XDSRegistryMetadataError"


def test_a_schema_error_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = (
        (DATA / "rich_submission.xml")
        .read_bytes()
        .replace(b"<rim:Name>", b"<rim:Nonsense/><rim:Name>", 1)
    )
    path = tmp_path / "not-schema-valid.xml"
    path.write_bytes(broken)
    assert main(["validate", str(path)]) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "schema lcm.xsd: not valid" in out and "ERROR XSD at line" in out


def test_a_cda_document_is_checked_against_the_cda_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = next((DATA / "cda" / "examples").rglob("*.xml"))
    main(["validate", str(example)])
    assert "CDA R2 document" in capsys.readouterr().out


def test_console_script_installed_and_runs() -> None:
    xds = Path(sys.executable).with_name("xds")
    done = subprocess.run(
        [str(xds), "validate", str(DATA / "rich_submission.xml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_VALID, done.stderr


def test_pki_verbs_are_hooked_into_xds(tmp_path, capsys) -> None:
    from xds_cli.main import main as xds_main

    folder = str(tmp_path / "pki")
    assert xds_main(["pki", "--dir", folder, "init"]) == 0
    assert (
        xds_main(
            ["pki", "--dir", folder, "issue-establishment", "--name", "CH", "--finess", "750712184"]
        )
        == 0
    )
    assert xds_main(["pki", "--dir", folder, "issue-server", "localhost"]) == 0
    assert "structure id 1750712184" in capsys.readouterr().out
    auth = tmp_path / "pki" / "establishments" / "1750712184" / "auth.pem"
    assert xds_main(["pki", "--dir", folder, "revoke", str(auth)]) == 0


def test_client_verb_refuses_half_a_client_certificate(tmp_path, capsys) -> None:
    from xds_cli.main import main as xds_main

    code = xds_main(["query", "--patient", "1^^^&1.2&ISO", "--tls-cert", str(tmp_path / "c.pem")])
    assert code == 2
    assert "--tls-cert and --tls-key go together" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "kind", "status"),
    [
        ("MU_example01_update.xml", "ITI-57 Update Document Set request", "FAILED"),
        ("MU_example01_query_result.xml", "ITI-18 Registry Stored Query response", "PASSED"),
        ("RMD_RemoveDocumentsRequest.xml", "ITI-86 Remove Documents request", "PASSED"),
        ("RMD_RemoveMetadataRequest_SOAP.xml", "ITI-62 Delete Document Set request", "PASSED"),
        ("RMD_RemoveMetadataResponse_SOAP.xml", "RegistryResponse", "PASSED"),
        ("XDS.b_RegisterDocumentSet-bRequest_SOAP.xml", "ITI-42 Register", "FAILED"),
        (
            "XDS.b_RetrieveDocumentSetRequest_SOAP.xml",
            "ITI-43 Retrieve Document Set request",
            "PASSED",
        ),
        (
            "XDS.b_RetrieveDocumentSetResponse.xml",
            "ITI-43 Retrieve Document Set response",
            "PASSED",
        ),
        (
            "XDS.b_RegistryStoredQueryResponse_SOAP.xml",
            "ITI-18 Registry Stored Query response",
            "PASSED",
        ),
        ("XDSSD_XDS-SD.PDF.xml", "CDA R2 document", "PASSED"),
    ],
)
def test_the_official_examples_are_recognised(
    name: str, kind: str, status: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each official example is found for what it is, in or out of its SOAP envelope, and
    validates against its schema; those refused are refused by metadata rules (their
    sourceIds and patient ids are not OIDs here, their stored-query values unquoted)."""
    main(["validate", "--report", "json", str(IHE / "examples" / name)])
    report = json.loads(capsys.readouterr().out)
    assert report["kind"].startswith(kind) and report["status"] == status
    assert report["schema_valid"] is True


def test_a_portal_link_needs_a_database_and_a_sensible_validity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patient = "123^^^&1.2.3&ISO"
    empty = str(tmp_path / "nothing-here")
    assert main(["portal", "link", patient, "--data", empty]) == 2
    assert "run xds serve first" in capsys.readouterr().err
    assert main(["portal", "link", patient, "--minutes", "0", "--data", empty]) == 2
    assert "--minutes" in capsys.readouterr().err


def test_a_whole_mtom_message_is_validated_through_its_envelope() -> None:
    import io

    from ebrim.profile import Profile
    from soap.mtom import Attachment, encode_mtom
    from web.validation import validate_message

    payload = (DATA / "rich_submission.xml").read_bytes()
    envelope = (
        b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>'
        + payload[payload.index(b"<lcm:") if b"<lcm:" in payload else 0 :]
        + b"</env:Body></env:Envelope>"
    )
    content_type, chunks = encode_mtom(
        envelope, [Attachment("doc@test", "text/plain", lambda: io.BytesIO(b"hello"))]
    )
    report = validate_message(b"".join(chunks), Profile.GENERIC, content_type=content_type)
    assert report.kind.startswith("ITI-42") and report.schema_valid and report.valid
