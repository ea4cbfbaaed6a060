"""HL7 v2.3.1 ADT messages for the ITI-8 feed tests, and a reader of the ACKs they get."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from registry_fixtures import migrated_engine

from registry import Patients

DATA = Path(__file__).resolve().parent / "data" / "hl7"

NIST_DOMAIN = "1.3.6.1.4.1.21367.13.20.1000"
NIR_DOMAIN = "1.2.250.1.213.1.4.8"
NIST_PATIENT = f"a8ec5d7c4e1f44f^^^&{NIST_DOMAIN}&ISO"
NIST_SURVIVOR = f"b1f2e3d4c5a6978^^^&{NIST_DOMAIN}&ISO"
INS_PATIENT = f"279035121518989^^^&{NIR_DOMAIN}&ISO^NH"


def message(name: str) -> str:
    """A message under tests/data/hl7, segments ended by CR as on the wire."""
    return (DATA / name).read_text(encoding="utf-8").replace("\n", "\r")


def adt(
    event: str,
    pid3: str,
    *,
    control_id: str = "MSG-0001",
    name: str = "ALPHA^ALAN^^^^^L",
    mrg1: str | None = None,
    message_type: str = "ADT",
) -> str:
    """A small ADT message of `event` for the patient(s) `pid3` (raw PID-3, may repeat)."""
    structure = "ADT_A39" if event == "A40" else "ADT_A01"
    segments = [
        "MSH|^~\\&|PAT_SOURCE|HOSP|XDS_REG|DOMAIN|20240601120000||"
        f"{message_type}^{event}^{structure}|{control_id}|P|2.3.1",
        f"EVN|{event}|20240601120000",
        f"PID|||{pid3}||{name}||19561208|M",
    ]
    if mrg1 is not None:
        segments.append(f"MRG|{mrg1}")
    segments.append("PV1||O")
    return "\r".join(segments) + "\r"


def fields(ack: str, segment: str) -> list[str]:
    """The fields of `segment` in an ACK; index n is SEG-n (for MSH too)."""
    for line in ack.split("\r"):
        if line.startswith(segment + "|"):
            parts = line.split("|")
            return ["MSH", "|", *parts[1:]] if segment == "MSH" else parts
    raise AssertionError(f"no {segment} segment in {ack!r}")


@contextmanager
def patients_on(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Patients]:
    with migrated_engine(backend, tmp_path, request) as engine:
        yield Patients(engine)
