"""The lifecycle verbs: `xds update`, `xds status`, `xds delete`, `xds remove-documents`.

ITI-57 (a prepared SubmitObjectsRequest, or an UpdateAvailabilityStatus built here), ITI-62
and ITI-86, with the exit statuses of the other client verbs (0 done, 1 refused, 2 could
not ask). The access policy of issue 7 (who may mask, archive or delete) is the server's.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from ebrim import update
from ebrim.errors import MetadataRejected, Transaction, XMLRejected
from ebrim.model import (
    Code,
    DocumentEntry,
    Metadata,
)
from ebrim.parse import parse_submit_objects_request
from ebrim.render import render_submit_objects_request
from ebrim.safexml import XMLLimits, parse_xml
from ebrim.storedquery import StoredQueryRequest
from ebrim.storedquery.params import GetDocumentsQuery
from ebrim.vocabulary import AvailabilityStatus
from ebrim.xdsb import DocumentLocator
from soap.client import ClientError, XdsClient
from xds_cli.commands import EXIT_DONE, EXIT_FAILED, EXIT_REFUSED, print_response
from xds_cli.connection import add_connection_options, make_client
from xds_cli.metadata import DEFAULT_SOURCE_ID, code, new_oid, now_dtm

NEW_STATUSES = {
    "approved": AvailabilityStatus.APPROVED.value,
    "deprecated": AvailabilityStatus.DEPRECATED.value,
    "archived": AvailabilityStatus.ARCHIVED.value,  # DMP profile
    "deleted": AvailabilityStatus.DELETED.value,  # DMP profile
}


def add_lifecycle_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    update = commands.add_parser("update", help="ITI-57 Update Document Set from a file")
    update.add_argument(
        "file",
        type=Path,
        help="an lcm:SubmitObjectsRequest (ITI-57); with --template, the file written",
    )
    update.add_argument(
        "--template",
        metavar="DOCUMENT",
        help="write to FILE, without sending it, the ITI-57 request for a new version of the "
        "registered DocumentEntry DOCUMENT (uniqueId or entryUUID), to edit and then send",
    )
    add_connection_options(update)
    update.set_defaults(run=run_update)

    status = commands.add_parser(
        "status", help="ITI-57 UpdateAvailabilityStatus of one document entry"
    )
    status.add_argument("document", help="the entry's entryUUID (urn:uuid:…) or uniqueId")
    status.add_argument(
        "--to",
        required=True,
        choices=list(NEW_STATUSES),
        dest="new_status",
        help="the new availability status (ITI-57 status update)",
    )
    status.add_argument(
        "--source-id", default=os.environ.get("XDS_SOURCE_ID", DEFAULT_SOURCE_ID), help="OID"
    )
    status.add_argument(
        "--content-type-code",
        help="submission set code^display^scheme (default: the entry's typeCode)",
    )
    add_connection_options(status)
    status.set_defaults(run=run_status)

    delete = commands.add_parser("delete", help="ITI-62 Delete Document Set (metadata)")
    delete.add_argument("ids", nargs="+", metavar="entryUUID", help="objects to remove")
    add_connection_options(delete)
    delete.set_defaults(run=run_delete)

    remove = commands.add_parser("remove-documents", help="ITI-86 Remove Documents (bytes)")
    remove.add_argument(
        "unique_ids", nargs="+", metavar="uniqueId", help="documents whose bytes are removed"
    )
    remove.add_argument("--repository-id", help="default: asked of the registry (ITI-18)")
    add_connection_options(remove)
    remove.set_defaults(run=run_remove_documents)


def run_update(args: argparse.Namespace) -> int:
    if args.template:
        return write_update_template(args)
    try:
        root = parse_xml(args.file.read_bytes(), XMLLimits(huge_tree=True))
        metadata = parse_submit_objects_request(root, transaction=Transaction.ITI_57)
    except (OSError, XMLRejected, MetadataRejected) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        response = make_client(args).update(metadata)
    except ClientError as exc:
        print(f"ITI-57 failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return print_response("ITI-57", response)


def run_status(args: argparse.Namespace) -> int:
    client = make_client(args)
    try:
        entry = current_entry(client, args.document)
    except ClientError as exc:
        print(f"ITI-18 failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if entry is None:
        print(f"document {args.document} is not registered", file=sys.stderr)
        return EXIT_REFUSED
    try:
        content_type = code(args.content_type_code) if args.content_type_code else None
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    metadata = status_change(
        entry, NEW_STATUSES[args.new_status], source_id=args.source_id, content_type=content_type
    )
    try:
        response = client.update(metadata)
    except ClientError as exc:
        print(f"ITI-57 failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"document {entry.unique_id} ({entry.entry_uuid}): {_short(entry.status)} -> ", end="")
    print(_short(NEW_STATUSES[args.new_status]))
    return print_response("ITI-57", response)


def current_entry(client: XdsClient, document: str) -> DocumentEntry | None:
    """The registered DocumentEntry named by entryUUID or uniqueId (GetDocuments, LeafClass)."""
    if document.startswith("urn:uuid:"):
        query = GetDocumentsQuery(uuids=(document,))
    else:
        query = GetDocumentsQuery(unique_ids=(document,))
    answer = client.query(StoredQueryRequest(query))
    if not answer.metadata.documents:
        return None
    # $MetadataLevel 1 answers the latest version of a uniqueId; be explicit all the same.
    return max(answer.metadata.documents, key=lambda d: int(d.version or "1"))


def write_update_template(args: argparse.Namespace) -> int:
    """`xds update FILE --template DOCUMENT`: the new-version request, ready to edit."""
    try:
        entry = current_entry(make_client(args), args.template)
    except ClientError as exc:
        print(f"ITI-18 failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if entry is None:
        print(f"document {args.template} is not registered", file=sys.stderr)
        return EXIT_REFUSED
    request = render_submit_objects_request(new_version(entry))
    try:
        args.file.write_bytes(
            etree.tostring(request, xml_declaration=True, encoding="UTF-8", pretty_print=True)
        )
    except OSError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"{args.file}: version {int(entry.version or '1') + 1} of {entry.unique_id} (edit, then "
        f"send it with: xds update {args.file})"
    )
    return EXIT_DONE


def new_version(entry: DocumentEntry, *, source_id: str = DEFAULT_SOURCE_ID) -> Metadata:
    """An ITI-57 submission of the next version of `entry`, its metadata unchanged so far."""
    return update.new_version(entry, _source(source_id))


def status_change(
    entry: DocumentEntry,
    new_status: str,
    *,
    source_id: str = DEFAULT_SOURCE_ID,
    content_type: Code | None = None,
) -> Metadata:
    """An ITI-57 submission moving `entry` from its current status to `new_status`."""
    return update.status_change(entry, new_status, _source(source_id), content_type=content_type)


def _source(source_id: str) -> update.UpdateSource:
    return update.UpdateSource(new_oid(), source_id, now_dtm())


def run_delete(args: argparse.Namespace) -> int:
    try:
        response = make_client(args).delete(args.ids)
    except ClientError as exc:
        print(f"ITI-62 failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return print_response("ITI-62", response)


def run_remove_documents(args: argparse.Namespace) -> int:
    client = make_client(args)
    unique_ids: Sequence[str] = list(dict.fromkeys(args.unique_ids))
    try:
        repositories = (
            dict.fromkeys(unique_ids, args.repository_id)
            if args.repository_id
            else repositories_of(client, unique_ids)
        )
    except ClientError as exc:
        print(f"ITI-18 failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    missing = [uid for uid in unique_ids if uid not in repositories]
    if missing:
        print(
            f"not registered: {', '.join(missing)} (give --repository-id to remove them anyway)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    locators = [DocumentLocator(repositories[uid], uid) for uid in unique_ids]
    try:
        response = client.remove_documents(locators)
    except ClientError as exc:
        print(f"ITI-86 failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return print_response("ITI-86", response)


def repositories_of(client: XdsClient, unique_ids: Sequence[str]) -> dict[str, str]:
    """uniqueId → repositoryUniqueId of the registered documents (GetDocuments)."""
    answer = client.query(StoredQueryRequest(GetDocumentsQuery(unique_ids=tuple(unique_ids))))
    return {
        doc.unique_id: doc.repository_unique_id
        for doc in answer.metadata.documents
        if doc.unique_id and doc.repository_unique_id
    }


def _short(status: str | None) -> str:
    return (status or "?").rsplit(":", 1)[-1]
