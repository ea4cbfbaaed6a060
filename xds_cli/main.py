"""`xds` command line: check XDS messages, serve the actors, and talk to a server."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from ebrim.errors import MetadataRejected, Transaction, XDSError, XMLRejected
from ebrim.model import Metadata, RegistryResponse
from ebrim.parse import parse_submit_objects_request
from ebrim.profile import Profile
from ebrim.render import render_registry_response
from ebrim.safexml import XMLLimits, parse_xml
from ebrim.storedquery import parse_adhoc_query_request
from ebrim.validate import validate
from ebrim.vocabulary import Namespace, ResponseStatus
from pki.cli import add_pki_commands
from xds_cli.commands import add_client_commands
from xds_cli.connection import ConnectionOptionsError
from xds_cli.demo import add_demo_command
from xds_cli.examples import add_example_command
from xds_cli.lifecycle import add_lifecycle_commands
from xds_cli.records import add_record_commands
from xds_cli.settings import add_serve_options, serve_settings

SUBMIT = f"{{{Namespace.LCM.value}}}SubmitObjectsRequest"
PROVIDE_AND_REGISTER = f"{{{Namespace.XDSB.value}}}ProvideAndRegisterDocumentSetRequest"
ADHOC_QUERY = f"{{{Namespace.QUERY.value}}}AdhocQueryRequest"

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # killed by SIGPIPE, as the shell reports it


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "validate",
        help="check a SubmitObjectsRequest, ProvideAndRegisterDocumentSetRequest or "
        "AdhocQueryRequest file and print the RegistryResponse it would get",
    )
    check.add_argument("file", type=Path, help="the XML message (the SOAP body's content)")
    check.add_argument(
        "--profile",
        choices=[p.value for p in Profile],
        default="generic",
        help="rules to apply: plain IHE XDS.b, or the French DMP's (default generic)",
    )
    check.add_argument("--xml", action="store_true", help="print the rs:RegistryResponse as XML")
    check.set_defaults(
        run=lambda args: validate_file(args.file, Profile(args.profile), show_xml=args.xml)
    )
    serve = commands.add_parser("serve", help="run the registry and repository (gunicorn)")
    add_serve_options(serve)
    serve.set_defaults(run=_serve)
    add_client_commands(commands)
    add_lifecycle_commands(commands)
    add_record_commands(commands)
    add_demo_command(commands)
    add_example_command(commands)
    add_pki_commands(commands)
    args, extras = parser.parse_known_args(argv)
    if extras:
        # argparse reports them against `xds`; the usage that helps is the verb's.
        _innermost_parser(commands, args).error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        code: int = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
    except ConnectionOptionsError as exc:
        print(f"xds {args.command}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except BrokenPipeError:
        # The reader went away (`xds record history | head`): stop quietly, as shell tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


def _innermost_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], args: argparse.Namespace
) -> argparse.ArgumentParser:
    """The parser of the verb given (`xds patient add` → the `add` parser)."""
    parser = commands.choices[args.command]
    while True:
        nested = [
            action
            for action in parser._actions
            if isinstance(action, argparse._SubParsersAction) and getattr(args, action.dest, None)
        ]
        if not nested:
            return parser
        parser = nested[0].choices[getattr(args, nested[0].dest)]


def _serve(args: argparse.Namespace) -> int:
    from xds_cli.serve import serve  # gunicorn is only imported to serve

    try:
        settings = serve_settings(args)
    except ValueError as exc:
        print(f"xds serve: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    return serve(settings)


def validate_file(path: Path, profile: Profile, *, show_xml: bool = False) -> int:
    """Check one message file; exit status 0 valid, 1 invalid, 2 unreadable."""
    try:
        root = parse_xml(path.read_bytes(), XMLLimits(huge_tree=True))
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
        return EXIT_UNREADABLE
    except XMLRejected as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE

    if root.tag == ADHOC_QUERY:
        errors = _check_query(root)
    elif root.tag in (SUBMIT, PROVIDE_AND_REGISTER):
        errors = _check_submission(root, profile)
    else:
        print(f"{path}: not an XDS request: root element is {root.tag}", file=sys.stderr)
        return EXIT_UNREADABLE

    for error in errors:
        print(f"  {error}")
    response = RegistryResponse.from_errors(errors)
    print(f"{path}: {response.status.name}")
    if show_xml:
        print(etree.tostring(render_registry_response(response), pretty_print=True).decode())
    return EXIT_INVALID if response.status is ResponseStatus.FAILURE else EXIT_VALID


def _check_submission(root: etree._Element, profile: Profile) -> list[XDSError]:
    transaction = Transaction.ITI_42
    if root.tag == PROVIDE_AND_REGISTER:
        transaction = Transaction.ITI_41
        found = root.find(SUBMIT)
        if found is None:
            return [
                XDSError(
                    transaction.metadata_error,
                    "ProvideAndRegisterDocumentSetRequest has no SubmitObjectsRequest",
                )
            ]
        root = found
    try:
        metadata = parse_submit_objects_request(root, transaction=transaction)
    except MetadataRejected as exc:
        return list(exc.errors)
    print(_describe(metadata, transaction))
    return validate(metadata, transaction=transaction, profile=profile)


def _check_query(root: etree._Element) -> list[XDSError]:
    try:
        request = parse_adhoc_query_request(root)
    except MetadataRejected as exc:
        return list(exc.errors)
    print(f"stored query {type(request.query).__name__}, returnType {request.return_type.value}")
    return []


def _describe(metadata: Metadata, transaction: Transaction) -> str:
    submission_set = metadata.submission_set
    patient = submission_set.patient_id if submission_set else "?"
    return (
        f"{transaction.value} submission for patient {patient}: "
        f"{len(metadata.documents)} document(s), {len(metadata.folders)} folder(s), "
        f"{len(metadata.associations)} association(s)"
    )


if __name__ == "__main__":
    sys.exit(main())
