"""`xds patient add`: an HL7 v2.3.1 ADT^A01 over MLLP (ITI-8), and the ACK code it gets."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime

from registry.feed import frame

END_BLOCK = b"\x1c\r"


def adt_a01(patient_id: str, name: str = "UNKNOWN^UNKNOWN") -> str:
    """An ADT^A01 admitting `patient_id` (a CX, written as is in PID-3), segments ended by CR."""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    control_id = uuid.uuid4().hex[:20]
    segments = [
        f"MSH|^~\\&|XDS_CLI|XDS|XDS_REGISTRY|XDS|{now}||ADT^A01^ADT_A01|{control_id}|P|2.3.1",
        f"EVN|A01|{now}",
        f"PID|||{patient_id}||{name}",
        "PV1||O",
    ]
    return "\r".join(segments) + "\r"


def send_message(host: str, port: int, message: str, *, timeout: float = 10.0) -> str:
    """Send one MLLP frame and read the answer's frame (the ACK text)."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(frame(message))
        received = bytearray()
        while not received.endswith(END_BLOCK):
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("the MLLP peer closed the connection before answering")
            received += chunk
    start = received.find(b"\x0b")
    return received[start + 1 : -len(END_BLOCK)].decode("utf-8", "replace")


def ack_code(ack: str) -> tuple[str, str]:
    """MSA-1 (AA, AE, AR) and the text of MSA-3 / ERR, from an ACK."""
    code, text = "", ""
    for segment in ack.split("\r"):
        fields = segment.split("|")
        if fields[0] == "MSA":
            code = fields[1] if len(fields) > 1 else ""
            text = fields[3] if len(fields) > 3 else ""
    return code, text
