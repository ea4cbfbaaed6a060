"""`xds` command line: check XDS messages, serve the actors, and talk to a server."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from ebrim.errors import ErrorCode, Severity, XDSError
from ebrim.model import RegistryResponse
from ebrim.profile import Profile
from ebrim.render import render_registry_response
from pki.cli import add_pki_commands
from xds_cli.commands import add_client_commands
from xds_cli.connection import ConnectionOptionsError
from xds_cli.demo import add_demo_command
from xds_cli.examples import add_example_command
from xds_cli.lifecycle import add_lifecycle_commands
from xds_cli.portal import add_portal_command
from xds_cli.records import add_record_commands
from xds_cli.settings import add_serve_options, serve_settings

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # killed by SIGPIPE, as the shell reports it


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "validate",
        help="check an XDS message (ITI-41/42/18/43/57/62/86 request or response, bare, in its "
        "SOAP envelope or MTOM) or a CDA document: schema, metadata rules, XDS error codes",
    )
    check.add_argument("file", type=Path, help="the XML message (the SOAP body's content)")
    check.add_argument(
        "--profile",
        choices=[p.value for p in Profile],
        default="generic",
        help="rules to apply: plain IHE XDS.b, or the French DMP's (default generic)",
    )
    check.add_argument("--xml", action="store_true", help="print the rs:RegistryResponse as XML")
    check.add_argument(
        "--report",
        choices=["text", "json", "xml"],
        default="text",
        help="the validation report's form (the console's downloads are the same)",
    )
    check.set_defaults(
        run=lambda args: validate_file(
            args.file, Profile(args.profile), show_xml=args.xml, report_format=args.report
        )
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
    add_portal_command(commands)
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


def validate_file(
    path: Path, profile: Profile, *, show_xml: bool = False, report_format: str = "text"
) -> int:
    """Check one message or CDA file (`web.validation`, the console's engine); exit status
    0 valid, 1 invalid, 2 unreadable."""
    from web.validation import Unreadable, validate_message

    try:
        report = validate_message(path.read_bytes(), profile)
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
        return EXIT_UNREADABLE
    except Unreadable as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if report_format == "json":
        print(report.as_json())
    elif report_format == "xml":
        print(report.as_xml().decode())
    else:
        print(report.as_text())
    errors = [
        XDSError(
            _error_code(f.code),
            f.message,
            f.location,
            Severity.WARNING if f.severity == "warning" else Severity.ERROR,
        )
        for f in report.findings
    ]
    response = RegistryResponse.from_errors(errors)
    if report_format == "text":
        print(f"{path}: {response.status.name}")
    if show_xml:
        print(etree.tostring(render_registry_response(response), pretty_print=True).decode())
    return EXIT_VALID if report.valid else EXIT_INVALID


def _error_code(code: str) -> ErrorCode:
    """A finding's XDS error code; a schema error is reported as XDSRegistryMetadataError."""
    try:
        return ErrorCode(code)
    except ValueError:
        return ErrorCode.XDSRegistryMetadataError


if __name__ == "__main__":
    sys.exit(main())
