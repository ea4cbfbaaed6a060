"""Helpers for the end-to-end tests: `xds serve` in a subprocess, raw HTTP, a fed patient."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from pathlib import Path

import requests
from lxml import etree
from security_support import DevPki
from soap_support import NS, envelope, new_message_id

from ebrim.xdsb import render_provide_and_register_request
from xds_cli.feed import ack_code, adt_a01, send_message
from xds_cli.metadata import DocumentFacts, single_document
from xds_cli.server import ServerProcess

PATIENT = "E2E-1^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"
TIMEOUT = 20


def secure_server(
    pki: DevPki, data: Path, *, workers: int = 1, cwd: Path | None = None
) -> ServerProcess:
    """`xds serve --tls --security required` trusting `pki`, reached as its hospital."""
    args = [
        "--tls", "--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key),
        "--tls-ca", str(pki.ca.chain), "--tls-crl", str(pki.ca.crl),
        "--security", "required",
    ]  # fmt: skip
    hospital = (pki.hospital.tls_cert, pki.hospital.tls_key)
    return ServerProcess(
        data, args=args, ca=pki.ca.chain, client_cert=hospital, workers=workers, cwd=cwd
    )


def feed(server: ServerProcess, patient: str = PATIENT) -> None:
    ack = send_message("127.0.0.1", server.mllp_port, adt_a01(patient), timeout=TIMEOUT)
    assert ack_code(ack)[0] == "AA", ack


def submission(patient: str = PATIENT, **facts: str):
    return single_document(DocumentFacts(patient_id=patient, **facts))  # type: ignore[arg-type]


def pnr_envelope(metadata, content_id: str = "doc1@e2e.test", **kw) -> bytes:
    payload = render_provide_and_register_request(
        metadata, {metadata.documents[0].entry_uuid: content_id}
    )
    return envelope(PNR, payload, message_id=new_message_id(), **kw)


PNR = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"


def post(url: str, body: bytes, content_type: str) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=TIMEOUT)


def soap_root(response: requests.Response) -> etree._Element:
    return etree.fromstring(response.content)


def status_of(root: etree._Element) -> str:
    found = root.find(".//rs:RegistryResponse", NS)
    assert found is not None, etree.tostring(root)
    return found.get("status").rsplit(":", 1)[-1]


def raw_exchange(port: int, head: bytes, body: bytes, *, close_write: bool = True) -> bytes:
    """Send bytes as they are (headers not checked by any library) and read the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    connection.connect()
    assert connection.sock is not None
    connection.sock.sendall(head + body)
    if close_write:
        import socket

        connection.sock.shutdown(socket.SHUT_WR)
    chunks = []
    while data := connection.sock.recv(65536):
        chunks.append(data)
    connection.close()
    return b"".join(chunks)


def xds(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `xds` command as an operator would (`env`: variables added to ours)."""
    return subprocess.run(
        [sys.executable, "-m", "xds_cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **env} if env else None,
    )


def stored_objects(data: Path) -> list[Path]:
    """The document store's files (one per stored document; the index is in the database)."""
    return [p for p in (data / "repository" / "objects").rglob("*") if p.is_file()]
