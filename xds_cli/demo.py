"""`xds demo`: one patient's vaccination note through the whole XDS.b round trip, over HTTP.

Steps, each printed: ITI-8 patient feed (MLLP), ITI-41 submission of a real French CDA
(the ANS VAC-NOTE example shipped in `xds_cli/data/`), ITI-18 FindDocuments, ITI-43
retrieve, and a byte-for-byte comparison; then the same document over FHIR (MHD): ITI-67
DocumentReference search and ITI-68 retrieve of its attachment URL. `--serve` first starts
`xds serve` on free ports with a temporary data folder, and stops it afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
from importlib import resources
from pathlib import Path

from cda import CdaHeader, read_header
from ebrim.errors import ErrorCode
from ebrim.hl7 import CX
from ebrim.storedquery import StoredQueryRequest
from ebrim.storedquery.params import FindDocumentsQuery
from ebrim.vocabulary import AvailabilityStatus, ResponseStatus
from ebrim.xdsb import DocumentLocator
from soap.client import ClientError, XdsClient
from xds_cli.commands import (
    EXIT_DONE,
    EXIT_FAILED,
    EXIT_REFUSED,
    mllp_address,
    print_documents,
)
from xds_cli.feed import ack_code, adt_a01, send_message
from xds_cli.metadata import from_cda
from xds_cli.server import ServerProcess

CDA_NAME = "VAC-NOTE_2023.01.xml"
# The two facts a CDA header does not carry: classCode (CI-SIS derives it from typeCode)
# and the submitting system's sourceId. Everything else is read from the document.
CLASS_CODE = "10^Compte rendu^1.2.250.1.213.1.1.4.1"
SOURCE_ID = "1.2.250.1.71.4.2.2.1750803447"


def add_demo_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser("demo", help="feed, submit, query and retrieve a real CDA document")
    demo.add_argument(
        "--url",
        default=os.environ.get("XDS_URL", "http://127.0.0.1:8080"),
        help="the server the demo talks to, without --serve (XDS_URL)",
    )
    demo.add_argument("--mllp", default=os.environ.get("XDS_MLLP"), help="host:port")
    demo.add_argument(
        "--serve", action="store_true", help="start a server on free ports for the demo"
    )
    demo.set_defaults(run=run_demo)


def cda_bytes() -> bytes:
    return resources.files("xds_cli").joinpath("data", CDA_NAME).read_bytes()


def run_demo(args: argparse.Namespace) -> int:
    if not args.serve:
        return demo(args.url, _mllp(args.mllp, args.url))
    with (
        tempfile.TemporaryDirectory(prefix="xds-demo-") as data,
        ServerProcess(Path(data)) as server,
    ):
        print(f"started xds serve on {server.url} (MLLP port {server.mllp_port}), data in {data}")
        return demo(server.url, ("127.0.0.1", server.mllp_port))


def _mllp(option: str | None, url: str) -> tuple[str, int]:
    return mllp_address(option, url)


def demo(url: str, mllp: tuple[str, int]) -> int:
    """Run the six steps against the server at `url`; the exit status."""
    print(f"xds demo against {url}")
    data = cda_bytes()
    header = read_header(data)
    patient = header.patient
    try:
        name = f"{patient.family_name}^{patient.given_name}"
        ack = send_message(*mllp, adt_a01(header.patient_id, name))
    except OSError as exc:
        print(f"1. ITI-8 patient feed: cannot reach MLLP {mllp[0]}:{mllp[1]}: {exc}")
        return EXIT_FAILED
    code, _ = ack_code(ack)
    print(f"1. ITI-8  ADT^A01 for {header.patient_id} over MLLP {mllp[0]}:{mllp[1]} -> {code}")
    if code != "AA":
        return EXIT_REFUSED
    client = XdsClient(url)
    try:
        return _transactions(client, data, header)
    except ClientError as exc:
        print(f"   failed: {exc}")
        return EXIT_FAILED


def _transactions(client: XdsClient, data: bytes, header: CdaHeader) -> int:
    metadata = from_cda(header, class_code=CLASS_CODE, source_id=SOURCE_ID)
    response = client.provide_and_register(metadata, {metadata.documents[0].entry_uuid: data})
    status = response.status.value.rsplit(":", 1)[-1]
    print(f"2. ITI-41 {CDA_NAME} ({len(data)} bytes, uniqueId {header.unique_id}, metadata")
    print(f"   read from its CDA header) -> {status}")
    if response.status is not ResponseStatus.SUCCESS:
        codes = {error.code for error in response.errors}
        for error in response.errors:
            print(f"   {error}")
        if codes != {ErrorCode.XDSDuplicateUniqueIdInRegistry}:
            return EXIT_REFUSED
        print("   (registered by an earlier demo run: going on with that one)")
    approved = (AvailabilityStatus.APPROVED.value,)
    query = FindDocumentsQuery(patient_id=header.patient_id, statuses=approved)
    answer = client.query(StoredQueryRequest(query))
    count = len(answer.metadata.documents)
    print(f"3. ITI-18 FindDocuments (zeep, from the served WSDL) -> {count} document(s)")
    print_documents(answer.metadata.documents)
    found = [doc for doc in answer.metadata.documents if doc.unique_id == header.unique_id]
    if not found or not found[0].repository_unique_id:
        print("   the submitted document is not in the answer")
        return EXIT_REFUSED
    with tempfile.TemporaryDirectory(prefix="xds-demo-retrieve-") as folder:
        target = Path(folder) / CDA_NAME
        locator = DocumentLocator(found[0].repository_unique_id, header.unique_id)
        result = client.retrieve([locator], lambda _: target)
        back = target.read_bytes() if result.documents else b""
    same = back == data
    print(
        f"4. ITI-43 retrieve from repository {locator.repository_unique_id} -> {len(back)} bytes, "
        f"sha-1 {hashlib.sha1(back).hexdigest()}, "
        + (
            "identical to the submitted document"
            if same
            else "DIFFERENT from the submitted document"
        )
    )
    if not same:
        print("demo FAILED")
        return EXIT_REFUSED
    same = _over_fhir(client.repository_url.rsplit("/xds/", 1)[0], data, header)
    print("demo OK" if same else "demo FAILED")
    return EXIT_DONE if same else EXIT_REFUSED


def _over_fhir(base: str, data: bytes, header: CdaHeader) -> bool:
    """Steps 5 and 6: the same document found with MHD's ITI-67 and read with ITI-68."""
    import requests

    cx = CX.parse(header.patient_id)
    token = f"urn:oid:{cx.assigning_authority.universal_id}|{cx.id_number}"
    params = {"patient.identifier": token, "status": "current"}
    found = requests.get(f"{base}/fhir/DocumentReference", params=params, timeout=30)
    if found.status_code != 200:
        print(f"5. ITI-67 (FHIR) -> HTTP {found.status_code}: {found.text[:300]}")
        return False
    bundle = found.json()
    wanted = f"urn:oid:{header.unique_id}"
    references = [e["resource"] for e in bundle.get("entry", [])]
    mine = [r for r in references if r.get("masterIdentifier", {}).get("value") == wanted]
    print(
        f"5. ITI-67 GET {base}/fhir/DocumentReference?patient.identifier=…&status=current "
        f"-> {bundle.get('total', 0)} DocumentReference(s)"
    )
    if not mine:
        print("   the submitted document is not in the answer")
        return False
    url = mine[0]["content"][0]["attachment"]["url"]
    back = requests.get(url, timeout=30).content
    same = back == data
    print(
        f"6. ITI-68 GET {url} -> {len(back)} bytes, "
        + (
            "identical to the submitted document"
            if same
            else "DIFFERENT from the submitted document"
        )
    )
    return same
