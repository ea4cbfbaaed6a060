"""The client verbs: `xds patient add`, `xds submit`, `xds query`, `xds retrieve`.

Exit status: 0 done, 1 refused by the server (a Failure, an HL7 AE/AR), 2 could not ask
(unreachable server, SOAP fault, unreadable input).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from cda import CdaError, CdaHeader, clinical_document_in, header_of
from cda.class_codes import ClassCodeMapError, parse_class_code_map
from ebrim.errors import MetadataRejected, Transaction, XMLRejected
from ebrim.model import DocumentEntry, Metadata, RegistryResponse
from ebrim.parse import parse_submit_objects_request
from ebrim.safexml import XMLLimits, parse_xml
from ebrim.storedquery import StoredQueryRequest
from ebrim.storedquery.params import FindDocumentsQuery, GetDocumentsQuery, TimeRange
from ebrim.validate.hl7_formats import cx_problem
from ebrim.vocabulary import AvailabilityStatus, ResponseStatus, ReturnType
from ebrim.xdsb import DocumentLocator
from soap.client import ClientError, XdsClient
from xds_cli.connection import ConnectionOptionsError, add_connection_options, make_client
from xds_cli.feed import ack_code, adt_a01, send_message
from xds_cli.metadata import (
    DEFAULT_SOURCE_ID,
    MASKING_FLAGS,
    DocumentFacts,
    code,
    from_cda,
    single_document,
)

EXIT_DONE, EXIT_REFUSED, EXIT_FAILED = 0, 1, 2
STATUSES = {
    "approved": (AvailabilityStatus.APPROVED.value,),
    "deprecated": (AvailabilityStatus.DEPRECATED.value,),
    "all": (AvailabilityStatus.APPROVED.value, AvailabilityStatus.DEPRECATED.value),
}


def add_client_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    patient = commands.add_parser("patient", help="patient identities (ITI-8 feed)")
    verbs = patient.add_subparsers(dest="patient_command", required=True)
    add = verbs.add_parser("add", help="send an ADT^A01 over MLLP; prints the ACK code")
    add.add_argument("patient_id", help="CX, e.g. 279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH")
    add.add_argument("--name", default="UNKNOWN^UNKNOWN", help="PID-5, e.g. DOE^JOHN")
    add.add_argument(
        "--mllp",
        default=os.environ.get("XDS_MLLP"),
        help="the feed's host:port (XDS_MLLP; default: the --url host and XDS_MLLP_PORT, the "
        "variable `xds serve --mllp-port` reads, else 2575)",
    )
    add_connection_options(add, secure=False)
    add.set_defaults(run=run_patient_add)

    submit = commands.add_parser("submit", help="ITI-41 Provide and Register (MTOM)")
    submit.add_argument("file", type=Path, help="a document, or a SubmitObjectsRequest file")
    submit.add_argument(
        "--document",
        action="append",
        default=[],
        metavar="ID=FILE",
        help="with a SubmitObjectsRequest: the file of DocumentEntry ID (repeat)",
    )
    submit.add_argument(
        "--patient", help="patient id (CX): metadata from options, not from a CDA header"
    )
    submit.add_argument(
        "--mime-type", default="text/xml", help="with --patient: the document's media type"
    )
    submit.add_argument("--unique-id", help="document uniqueId (default: a new 2.25 OID)")
    submit.add_argument("--title", default=None, help="with --patient: default the file name")
    for option in ("class", "type", "format", "confidentiality", "facility-type"):
        submit.add_argument(f"--{option}-code", help="code^display^scheme")
    submit.add_argument("--practice-setting-code", help="code^display^scheme")
    submit.add_argument(
        "--class-code-map",
        type=Path,
        default=os.environ.get("XDS_CLASS_CODE_MAP"),
        help="a CDA alone: derive classCode from typeCode with the ANS table ASS_X04 (its FHIR "
        "ConceptMap JSON file); --class-code overrides it (XDS_CLASS_CODE_MAP)",
    )
    submit.add_argument("--content-type-code", help="submission set code^display^scheme")
    submit.add_argument(
        "--source-id", default=os.environ.get("XDS_SOURCE_ID", DEFAULT_SOURCE_ID), help="OID"
    )
    submit.add_argument(
        "--mask",
        action="append",
        default=[],
        choices=sorted(MASKING_FLAGS),
        help="a DMP confidentiality flag (repeat)",
    )
    add_connection_options(submit)
    submit.set_defaults(run=run_submit)

    query = commands.add_parser("query", help="ITI-18 FindDocuments for a patient")
    query.add_argument(
        "--patient",
        required=True,
        help="the patient id as registered, a CX with its assigning authority, e.g. "
        "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH",
    )
    query.add_argument(
        "--status",
        choices=sorted(STATUSES),
        default="approved",
        help="availability of the entries listed (default approved)",
    )
    query.add_argument("--class-code", action="append", default=[], help="code^^scheme (repeat)")
    query.add_argument("--type-code", action="append", default=[], help="code^^scheme (repeat)")
    query.add_argument("--from", dest="time_from", help="creationTime from (inclusive), HL7 DTM")
    query.add_argument("--to", dest="time_to", help="creationTime to (exclusive), HL7 DTM")
    shape = query.add_mutually_exclusive_group()
    shape.add_argument("--leaf", action="store_true", help="full entries (default)")
    shape.add_argument("--ref", action="store_true", help="entryUUIDs only (ObjectRef)")
    add_connection_options(query)
    query.set_defaults(run=run_query)

    retrieve = commands.add_parser("retrieve", help="ITI-43 Retrieve a document to a file")
    retrieve.add_argument("unique_id", help="the document's uniqueId")
    retrieve.add_argument(
        "-o", "--output", type=Path, required=True, help="file the document is written to"
    )
    retrieve.add_argument("--repository-id", help="default: asked of the registry (ITI-18)")
    add_connection_options(retrieve)
    retrieve.set_defaults(run=run_retrieve)


def run_patient_add(args: argparse.Namespace) -> int:
    host, port = mllp_address(args.mllp, args.url)
    try:
        ack = send_message(host, port, adt_a01(args.patient_id, args.name))
    except OSError as exc:
        print(f"cannot reach the MLLP feed at {host}:{port}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    status, text = ack_code(ack)
    print(f"{status}{': ' + text if text else ''}")
    return EXIT_DONE if status in ("AA", "CA") else EXIT_REFUSED


def mllp_address(mllp: str | None, url: str) -> tuple[str, int]:
    if mllp:
        host, _, port = mllp.rpartition(":")
        if not port.isdigit():
            raise ConnectionOptionsError(f"--mllp {mllp!r} is not host:port")
        return host or "127.0.0.1", int(port)
    port = os.environ.get("XDS_MLLP_PORT", "2575")
    if not port.isdigit():
        raise ConnectionOptionsError(f"XDS_MLLP_PORT={port!r} is not a port number")
    return urlsplit(url).hostname or "127.0.0.1", int(port)


def run_submit(args: argparse.Namespace) -> int:
    client = make_client(args)
    try:
        metadata, documents = _submission(args, client)
    except (OSError, ValueError, XMLRejected, MetadataRejected, CdaError) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ClientError as exc:
        print(f"ITI-18 for the related documents failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        response = client.provide_and_register(metadata, documents)
    except ClientError as exc:
        print(f"ITI-41 failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for document in metadata.documents:
        print(f"document {document.unique_id} for patient {document.patient_id}")
    return print_response("ITI-41", response)


def _submission(args: argparse.Namespace, client: XdsClient) -> tuple[Metadata, dict[str, Path]]:
    data = args.file.read_bytes()
    root = parse_xml(data, XMLLimits(huge_tree=True)) if looks_like_xml(data) else None
    if root is not None and root.tag.endswith("}SubmitObjectsRequest"):
        metadata = parse_submit_objects_request(root, transaction=Transaction.ITI_41)
        pairs = dict(item.split("=", 1) for item in args.document)
        return metadata, {key: Path(value) for key, value in pairs.items()}
    document = clinical_document_in(root) if root is not None else None
    if document is not None and not args.patient:
        # A CDA document alone (or an ANS self-presented one): its header is the metadata
        # (--patient means "from options"); hash and size are of the file as it is.
        header = header_of(document, hash=hashlib.sha1(data).hexdigest(), size=len(data))
        if header.type_code is None:
            raise ValueError(
                "the CDA header has no ClinicalDocument/code (with code and codeSystem): "
                "the document's typeCode cannot be read"
            )
        parents = [u for related in header.related_documents for u in related.unique_ids]
        metadata = from_cda(
            header,
            class_code=args.class_code or mapped_class_code(args.class_code_map, header),
            source_id=args.source_id,
            content_type_code=args.content_type_code,
            masks=args.mask,
            related=registered_uuids(client, parents),
        )
        return metadata, {metadata.documents[0].entry_uuid: args.file}
    if not args.patient:
        what = (
            f"XML whose root is {etree.QName(root).localname}, not a CDA ClinicalDocument"
            if root is not None
            else "not XML, so not a CDA document whose header could give the metadata"
        )
        raise ValueError(
            f"{what}: give --patient and the codes (--class-code, --type-code, --format-code, "
            "--confidentiality-code, --facility-type-code, --practice-setting-code), or a "
            "SubmitObjectsRequest with --document"
        )
    options = {
        "class_code": args.class_code,
        "type_code": args.type_code,
        "format_code": args.format_code,
        "confidentiality_code": args.confidentiality_code,
        "facility_type_code": args.facility_type_code,
        "practice_setting_code": args.practice_setting_code,
        "unique_id": args.unique_id,
    }
    given = {key: value for key, value in options.items() if value}
    for key in given:
        if key.endswith("_code"):
            code(given[key])  # refuse a malformed code before sending
    facts = DocumentFacts(
        patient_id=args.patient,
        mime_type=args.mime_type,
        title=args.title or args.file.name,
        **given,
    )
    defaulted = [key for key in options if key.endswith("_code") and key not in given]
    if defaulted:
        # Generic IHE codes are rarely what an affinity domain accepts: say which were used.
        listed = ", ".join(
            f"{key.removesuffix('_code')} {getattr(facts, key)}" for key in defaulted
        )
        print(f"{args.file}: default codes used (give them as options): {listed}", file=sys.stderr)
    metadata = single_document(facts)
    return metadata, {metadata.documents[0].entry_uuid: args.file}


def mapped_class_code(map_file: Path | None, header: CdaHeader) -> str | None:
    """classCode (code^display^scheme) of the header's typeCode in the ANS table, if given."""
    if map_file is None:
        return None
    try:
        table = parse_class_code_map(Path(map_file).read_bytes())
    except (OSError, ClassCodeMapError) as exc:
        raise ValueError(f"cannot use the class-code map {map_file}: {exc}") from None
    if header.type_code is None:
        raise ValueError("the CDA header has no ClinicalDocument/code: no typeCode to map")
    found = table.class_of(header.type_code)
    if found is None:
        raise ValueError(
            f"typeCode {header.type_code.code} is not in the class-code map {map_file}: "
            "give --class-code"
        )
    return f"{found.code}^{found.display_name}^{found.scheme}"


def looks_like_xml(data: bytes) -> bool:
    """Whether `data` starts as XML does: "<" after a UTF-8 byte-order mark and blanks, or a
    UTF-16/32 byte-order mark (ANS examples open with a BOM)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        return True
    return data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"<"


def run_query(args: argparse.Namespace) -> int:
    problem = cx_problem(args.patient)
    if problem:
        print(
            f"xds query: --patient {args.patient!r} is not a patient id: {problem} "
            "(expected id^^^&authority-OID&ISO)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    query = FindDocumentsQuery(
        patient_id=args.patient,
        statuses=STATUSES[args.status],
        class_codes=tuple(code(c) for c in args.class_code),
        type_codes=tuple(code(c) for c in args.type_code),
        creation_time=TimeRange(args.time_from, args.time_to),
    )
    return_type = ReturnType.OBJECT_REF if args.ref else ReturnType.LEAF_CLASS
    try:
        answer = make_client(args).query(StoredQueryRequest(query, return_type))
    except ClientError as exc:
        print(f"ITI-18 failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.ref:
        for ref in answer.metadata.object_refs:
            print(ref.id)
    else:
        print_documents(answer.metadata.documents)
    found = answer.metadata.object_refs if args.ref else answer.metadata.documents
    if not found and answer.response.status is not ResponseStatus.FAILURE:
        which = "" if args.status == "all" else f"{args.status} "
        print(
            f"no {which}document for {args.patient}: the id must be the one the documents "
            "were registered with (same assigning authority); `--status all` includes deprecated "
            "ones, and the patient must be known to the registry (`xds patient add`)",
            file=sys.stderr,
        )
    return print_response("ITI-18", answer.response, quiet=True)


def print_documents(documents: Sequence[DocumentEntry]) -> None:
    """A table of DocumentEntries: uniqueId, creation time, type, status, size, repository."""
    rows = [("uniqueId", "created", "typeCode", "status", "size", "repository", "title")]
    for doc in documents:
        rows.append(
            (
                doc.unique_id or "",
                doc.creation_time or "",
                doc.type_code.code if doc.type_code else "",
                (doc.status or "").rsplit(":", 1)[-1],
                doc.size or "",
                doc.repository_unique_id or "",
                doc.title.value if doc.title else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), end=""
        )
        print("  " + row[-1])
    print(f"{len(documents)} document(s)")


def run_retrieve(args: argparse.Namespace) -> int:
    client = make_client(args)
    try:
        repository_id = args.repository_id or find_repository(client, args.unique_id)
        if repository_id is None:
            print(f"document {args.unique_id} is not registered", file=sys.stderr)
            return EXIT_REFUSED
        locator = DocumentLocator(repository_id, args.unique_id)
        answer = client.retrieve([locator], lambda _: args.output)
    except ClientError as exc:
        print(f"ITI-43 failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for document in answer.documents:
        print(
            f"{document.path}: {document.size} bytes, {document.mime_type}, sha-1 {document.hash}"
        )
    return print_response("ITI-43", answer.response, quiet=True)


def registered_uuids(client: XdsClient, unique_ids: Sequence[str]) -> dict[str, str]:
    """entryUUIDs of the registered documents with these uniqueIds (GetDocuments)."""
    if not unique_ids:
        return {}
    answer = client.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=tuple(unique_ids))))
    return {d.unique_id: d.entry_uuid for d in answer.metadata.documents if d.unique_id}


def find_repository(client: XdsClient, unique_id: str) -> str | None:
    """The repositoryUniqueId the registry holds for a document (GetDocuments, LeafClass)."""
    answer = client.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=(unique_id,))))
    for document in answer.metadata.documents:
        if document.repository_unique_id:
            return document.repository_unique_id
    return None


def print_response(transaction: str, response: RegistryResponse, *, quiet: bool = False) -> int:
    """Print the status (unless a quiet success) and each error; the exit status."""
    status = response.status.value.rsplit(":", 1)[-1]
    if not quiet or response.status is not ResponseStatus.SUCCESS:
        print(f"{transaction}: {status}")
    for error in response.errors:
        print(f"  {error}")
    return EXIT_REFUSED if response.status is ResponseStatus.FAILURE else EXIT_DONE
