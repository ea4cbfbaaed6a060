"""The acknowledgements of the ITI-8 feed: AA / AE / AR, echoed control id, swapped MSH."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from feed_messages import NIST_DOMAIN, NIST_PATIENT, adt, fields, message, patients_on

from registry import Patients, RegistrySettings
from registry.feed import AckCode, ErrorCode, FeedError, build_ack, handle_message
from registry.feed.header import decode, read_header

NIST = RegistrySettings(patient_id_domains=(NIST_DOMAIN,))


@pytest.fixture
def patients(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Patients]:
    # Acknowledgements do not depend on the database: SQLite is enough here.
    with patients_on("sqlite", tmp_path, request) as patients:
        yield patients


def test_accepted_message_gets_aa_with_its_control_id(patients: Patients) -> None:
    ack = handle_message(patients, message("nist_adt_a01.hl7"), NIST)

    assert fields(ack, "MSA")[:3] == ["MSA", "AA", "NIST-15817-0001"]
    assert "ERR|" not in ack


def test_ack_swaps_sending_and_receiving_application_and_facility(patients: Patients) -> None:
    msh = fields(handle_message(patients, message("nist_adt_a01.hl7"), NIST), "MSH")

    assert msh[3:7] == ["XDS_Registry", "XDSTOOLKIT", "NIST_Hello_World", "NIST"]


def test_ack_header_names_ack_its_event_processing_id_and_version(patients: Patients) -> None:
    msh = fields(handle_message(patients, message("nist_adt_a01.hl7"), NIST), "MSH")

    assert msh[2] == "^~\\&"
    assert msh[9] == "ACK^A01"
    assert msh[10] and msh[10] != "NIST-15817-0001"
    assert (msh[11], msh[12]) == ("P", "2.3.1")


def test_ack_segments_end_with_carriage_returns(patients: Patients) -> None:
    ack = handle_message(patients, message("nist_adt_a01.hl7"), NIST)

    assert ack.endswith("\r")
    assert "\n" not in ack
    assert [line[:3] for line in ack.split("\r") if line] == ["MSH", "MSA"]


def test_ack_echoes_the_character_set(patients: Patients) -> None:
    raw = message("ins_adt_a04.hl7").encode("latin-1")

    msh = fields(handle_message(patients, raw, RegistrySettings()), "MSH")

    assert msh[18] == "8859/1"


def test_application_error_has_err_segment_with_reason(patients: Patients) -> None:
    ack = handle_message(patients, adt("A01", "1^^^&1.2.3.99&ISO", control_id="C-9"), NIST)

    msa, err = fields(ack, "MSA"), fields(ack, "ERR")
    assert msa[1:3] == ["AE", "C-9"]
    assert "affinity domain" in msa[3]
    assert err[1] == "PID^1^3^204&Unknown key identifier&HL70357"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (adt("A03", NIST_PATIENT), "201"),  # discharge: not an ITI-8 event
        (adt("A31", NIST_PATIENT), "201"),
        (adt("R01", NIST_PATIENT, message_type="ORU"), "200"),
        (adt("A01", NIST_PATIENT).replace("|2.3.1\r", "|3.0\r", 1), "203"),
    ],
)
def test_unsupported_messages_are_rejected(patients: Patients, raw: str, code: str) -> None:
    ack = handle_message(patients, raw, NIST)

    assert fields(ack, "MSA")[1:3] == ["AR", "MSG-0001"]
    assert fields(ack, "ERR")[1].split("^")[3].startswith(code + "&")
    assert not patients.is_known(NIST_PATIENT)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "garbage",
        b"\x00\xff\xfe binary",
        "PID|||1^^^&1.2.3&ISO",
        "MSH",
        "MSH|",
        "MSH|^~",
        "EVN|A01\rMSH|^~\\&|A|B|C|D|20240101||ADT^A01|X|P|2.3.1",
    ],
)
def test_message_without_a_readable_msh_is_rejected(patients: Patients, raw: str | bytes) -> None:
    ack = handle_message(patients, raw, NIST)

    assert fields(ack, "MSA")[1:3] == ["AR", ""]
    assert fields(ack, "ERR")[1].split("^")[3].startswith("100&")


@pytest.mark.parametrize(
    "raw",
    [
        "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|CTL-1|P|2.3.1",  # no PID at all
        "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|CTL-1|P|2.3.1\rPID",
        "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|CTL-1|P|2.3.1\rPID|||^^^&&&&^^^^~~~",
        "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|CTL-1|P|2.3.1\r\x00\x01|\r|||\r",
    ],
)
def test_malformed_body_gets_an_ack_with_the_control_id(patients: Patients, raw: str) -> None:
    ack = handle_message(patients, raw, NIST)

    msa = fields(ack, "MSA")
    assert msa[1] in ("AE", "AR")
    assert msa[2] == "CTL-1"
    assert "ERR|" in ack


def test_segments_separated_by_newlines_are_accepted(patients: Patients) -> None:
    raw = message("nist_adt_a01.hl7").replace("\r", "\r\n")

    ack = handle_message(patients, raw, NIST)

    assert fields(ack, "MSA")[1] == "AA"
    assert patients.is_known(NIST_PATIENT)


def test_event_is_taken_from_evn_when_msh9_has_none(patients: Patients) -> None:
    raw = adt("A04", NIST_PATIENT).replace("ADT^A04^ADT_A01", "ADT", 1)

    ack = handle_message(patients, raw, NIST)

    assert fields(ack, "MSA")[1] == "AA"


def test_ack_uses_the_request_separators() -> None:
    header = read_header("MSH#$%\\*#APP#FAC#REG#DOM#20240101##ADT$A01#C1#P#2.3.1")

    ack = build_ack(
        header,
        AckCode.ERROR,
        FeedError(ErrorCode.UNKNOWN_KEY, "no #id", "PID", 3),
        event="A01",
        now=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        control_id="ACK1",
    )

    assert ack == (
        "MSH#$%\\*#REG#DOM#APP#FAC#20240102030405+0000##ACK$A01#ACK1#P#2.3.1\r"
        "MSA#AE#C1#no  id\r"
        "ERR#PID$1$3$204*Unknown key identifier*HL70357\r"
    )


@pytest.mark.parametrize(
    ("raw", "codec"),
    [
        (
            "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.3.1|||||FRA|8859/1\rPID|||É".encode("latin-1"),
            "latin-1",
        ),
        ("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.3.1|||||FRA|UNICODE UTF-8\rPID|||É".encode(), "utf-8"),
        ("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.3.1\rPID|||É".encode(), "utf-8"),
        ("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.3.1\rPID|||É".encode("latin-1"), "latin-1"),
    ],
)
def test_bytes_are_decoded_by_msh18(raw: bytes, codec: str) -> None:
    text, used = decode(raw)

    assert (text.endswith("PID|||É"), used) == (True, codec)
