"""The ITI-8 feed over a real MLLP connection on loopback (plain socket client)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from feed_messages import (
    INS_PATIENT,
    NIR_DOMAIN,
    NIST_DOMAIN,
    NIST_PATIENT,
    NIST_SURVIVOR,
    adt,
    fields,
    message,
    patients_on,
)
from registry_fixtures import BACKENDS

from registry import Patients, RegistrySettings
from registry.feed import MllpServerThread, frame, read_frame, serve_mllp

SETTINGS = RegistrySettings(
    patient_id_domains=(NIST_DOMAIN, NIR_DOMAIN), mllp_max_message_bytes=4096
)
VT, FS_CR = b"\x0b", b"\x1c\r"


class Client:
    """A minimal MLLP client on a blocking socket."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def exchange(self, text: str, codec: str = "utf-8") -> str:
        self.send(VT + text.encode(codec) + FS_CR)
        return self.receive(codec)

    def receive(self, codec: str = "utf-8") -> str:
        while FS_CR not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        block, self.buffer = self.buffer.split(FS_CR, 1)
        assert block.startswith(VT)
        return block[1:].decode(codec)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=BACKENDS)
def patients(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Patients]:
    with patients_on(request.param, tmp_path, request) as patients:
        yield patients


@pytest.fixture
def address(patients: Patients) -> Iterator[tuple[str, int]]:
    with MllpServerThread(patients, SETTINGS, "127.0.0.1", 0) as address:
        yield address


@pytest.fixture
def client(address: tuple[str, int]) -> Iterator[Client]:
    client = Client(address)
    yield client
    client.close()


def test_server_listens_on_an_ephemeral_loopback_port(address: tuple[str, int]) -> None:
    assert address[0] == "127.0.0.1"
    assert address[1] > 0


def test_a01_over_mllp_creates_the_patient(client: Client, patients: Patients) -> None:
    ack = client.exchange(message("nist_adt_a01.hl7"))

    assert fields(ack, "MSA")[1:3] == ["AA", "NIST-15817-0001"]
    assert patients.is_known(NIST_PATIENT)


def test_several_messages_on_one_connection_are_answered_in_order(
    client: Client, patients: Patients
) -> None:
    acks = [
        client.exchange(message("nist_adt_a01.hl7")),
        client.exchange(adt("A04", NIST_SURVIVOR, control_id="MSG-2")),
        client.exchange(message("nist_adt_a40.hl7")),
        client.exchange(adt("A08", NIST_SURVIVOR, control_id="MSG-4")),
    ]

    assert [fields(ack, "MSA")[1:3] for ack in acks] == [
        ["AA", "NIST-15817-0001"],
        ["AA", "MSG-2"],
        ["AA", "NIST-MERGE-0001"],
        ["AA", "MSG-4"],
    ]
    assert patients.resolve(NIST_PATIENT) == NIST_SURVIVOR


def test_pipelined_frames_in_one_write_get_one_ack_each(client: Client) -> None:
    frames = b"".join(
        VT + adt("A01", NIST_PATIENT, control_id=f"P-{n}").encode() + FS_CR for n in range(3)
    )
    client.send(frames)

    assert [fields(client.receive(), "MSA")[2] for _ in range(3)] == ["P-0", "P-1", "P-2"]


def test_garbage_frame_is_rejected_and_the_next_message_served(
    client: Client, patients: Patients
) -> None:
    garbage = client.exchange("\x00 not HL7 at all \x7f")
    good = client.exchange(message("nist_adt_a01.hl7"))

    assert fields(garbage, "MSA")[1] == "AR"
    assert fields(good, "MSA")[1] == "AA"
    assert patients.is_known(NIST_PATIENT)


def test_bytes_outside_frames_are_ignored(client: Client) -> None:
    client.send(b"\r\nnoise without a start block" + FS_CR)

    ack = client.exchange(message("nist_adt_a01.hl7"))

    assert fields(ack, "MSA")[1] == "AA"


def test_latin1_message_gets_a_latin1_ack(client: Client, patients: Patients) -> None:
    ack = client.exchange(message("ins_adt_a04.hl7"), codec="latin-1")

    assert fields(ack, "MSA")[1:3] == ["AA", "CHU-000042"]
    assert patients.demographics(INS_PATIENT) == {
        "name": "DUPONT^HÉLÈNE",
        "birth_date": "19790315",
        "sex": "F",
    }


def test_oversized_frame_closes_only_that_connection(address: tuple[str, int]) -> None:
    big = Client(address)
    big.send(VT + b"MSH|" + b"x" * 10_000 + FS_CR)
    with pytest.raises(ConnectionError):
        big.receive()
    big.close()

    fresh = Client(address)
    ack = fresh.exchange(message("nist_adt_a01.hl7"))
    fresh.close()

    assert fields(ack, "MSA")[1] == "AA"


def test_a_client_vanishing_mid_frame_does_not_stop_the_server(address: tuple[str, int]) -> None:
    gone = Client(address)
    gone.send(VT + b"MSH|^~\\&|half a mess")
    gone.close()

    other = Client(address)
    ack = other.exchange(message("nist_adt_a01.hl7"))
    other.close()

    assert fields(ack, "MSA")[1] == "AA"


def test_concurrent_connections_are_served(address: tuple[str, int]) -> None:
    first, second = Client(address), Client(address)
    try:
        ack2 = second.exchange(adt("A01", NIST_PATIENT, control_id="SECOND"))
        ack1 = first.exchange(adt("A01", NIST_SURVIVOR, control_id="FIRST"))
    finally:
        first.close()
        second.close()

    assert (fields(ack1, "MSA")[2], fields(ack2, "MSA")[2]) == ("FIRST", "SECOND")


def test_stopping_the_server_closes_open_connections(patients: Patients) -> None:
    server = MllpServerThread(patients, SETTINGS)
    client = Client(server.start())
    client.exchange(adt("A01", NIST_PATIENT))

    server.stop()

    with pytest.raises((ConnectionError, OSError)):
        client.receive()
    client.close()


def test_serve_mllp_serves_until_cancelled(patients: Patients) -> None:
    with socket.socket() as probe:  # a free port: serve_mllp binds the one it is given
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario() -> bytes | None:
        task = asyncio.create_task(serve_mllp(patients, "127.0.0.1", port, SETTINGS))
        for _ in range(200):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.01)
        writer.write(frame(adt("A01", NIST_PATIENT, control_id="ASYNC-1")))
        ack = await read_frame(reader)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        writer.close()
        return ack

    ack = asyncio.run(scenario())

    assert ack is not None
    assert fields(ack.decode(), "MSA")[1:3] == ["AA", "ASYNC-1"]
    assert patients.is_known(NIST_PATIENT)
