"""`xds pki ...` verbs over the development PKI; the CLI hooks them in with `add_pki_commands`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pki.devca import init_ca, issue_establishment, issue_server, load_ca, revoke


def add_pki_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `pki init | issue-establishment | issue-server | revoke`, each with `run(args)`."""
    pki = commands.add_parser("pki", help="development PKI (never for production)")
    pki.add_argument("--dir", type=Path, default=Path("pki-dev"), help="the PKI folder")
    verbs = pki.add_subparsers(dest="pki_command", required=True)

    init = verbs.add_parser("init", help="create a root and an intermediate CA and a CRL")
    init.add_argument(
        "--organisation", default="XDS Development PKI", help="O of the CA certificates"
    )
    init.set_defaults(run=run_init)

    establishment = verbs.add_parser(
        "issue-establishment", help="issue an establishment's AUTH_CLI and SIGN certificates"
    )
    establishment.add_argument("--name", required=True, help="the structure's name (O)")
    who = establishment.add_mutually_exclusive_group(required=True)
    who.add_argument("--finess", help="FINESS number: the structure id becomes 1+FINESS")
    who.add_argument("--structure-id", help="a ready-made structure id, e.g. 3+SIRET")
    establishment.add_argument(
        "--days", type=int, default=365, help="validity of its certificates (default 365)"
    )
    establishment.set_defaults(run=run_issue_establishment)

    server = verbs.add_parser("issue-server", help="issue a TLS server certificate")
    server.add_argument(
        "hostnames",
        nargs="*",
        default=["localhost", "127.0.0.1"],
        help="DNS names and IP addresses of the certificate (default localhost 127.0.0.1)",
    )
    server.set_defaults(run=run_issue_server)

    cancel = verbs.add_parser("revoke", help="revoke a certificate and rewrite the CRL")
    cancel.add_argument("certificate", type=Path, help="the PEM certificate to revoke")
    cancel.set_defaults(run=run_revoke)


def run_init(args: argparse.Namespace) -> int:
    try:
        ca = init_ca(args.dir, organisation=args.organisation)
    except FileExistsError as exc:
        return _fail(str(exc))
    print(f"root CA {ca.root_cert}\nintermediate CA {ca.intermediate_cert}\nCRL {ca.crl}")
    return 0


def run_issue_establishment(args: argparse.Namespace) -> int:
    try:
        issued = issue_establishment(
            load_ca(args.dir),
            args.dir,
            name=args.name,
            finess=args.finess,
            structure_id=args.structure_id,
            days=args.days,
        )
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    print(f"structure id {issued.structure_id}")
    print(f"TLS client {issued.tls_cert} {issued.tls_key}")
    print(f"signing {issued.sign_cert} {issued.sign_key}")
    return 0


def run_issue_server(args: argparse.Namespace) -> int:
    try:
        issued = issue_server(load_ca(args.dir), args.dir, tuple(args.hostnames))
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    print(f"server {issued.cert} {issued.key}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    try:
        crl = revoke(load_ca(args.dir), args.certificate)
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    print(f"CRL {crl}")
    return 0


def _fail(message: str) -> int:
    print(f"xds pki: {message}", file=sys.stderr)
    return 2
