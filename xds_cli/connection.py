"""How the client verbs reach a server: its address, mutual TLS, and the signed VIHF.

Every option has an environment variable, so that a deployment sets them once::

    --url XDS_URL                  --ca XDS_CA (server certificate's CA bundle)
    --tls-cert XDS_CLIENT_CERT     --tls-key XDS_CLIENT_KEY (the establishment's AUTH_CLI)
    --sign-cert XDS_SIGN_CERT      --sign-key XDS_SIGN_KEY (its SIGN: a VIHF per request)
    --professional XDS_PROFESSIONAL (NameID, e.g. an RPPS id)
    --professional-name XDS_PROFESSIONAL_NAME
    --role XDS_PROFESSION_ROLE (code[^system], default system 1.2.250.1.71.1.2.7)
    --structure XDS_STRUCTURE (default: the signing certificate's structure id)
    --sector XDS_SECTOR   --purpose XDS_PURPOSE   --auth-mode XDS_AUTH_MODE
    --assertion-patient XDS_ASSERTION_PATIENT (asserted when the request names no patient)

A VIHF is signed only when `--sign-cert` and `--sign-key` are given.
"""

from __future__ import annotations

import argparse
import os
from urllib.parse import urlsplit

from pki import structure_id
from pki._files import read_cert
from pki.assertion import AuthenticationMode, Code, PurposeOfUse, Software, VihfOptions
from pki.assertion.names import PROFESSION_SYSTEM
from soap.client import VihfSigner, XdsClient
from xds_cli.options import add_path_options

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_SECTOR = "SA01^1.2.250.1.71.4.2.4"
SOFTWARE = Software("xds-registry", "0.1.0")


class ConnectionOptionsError(ValueError):
    """The connection options do not fit together or name unusable files."""


def add_connection_options(parser: argparse.ArgumentParser, *, secure: bool = True) -> None:
    """--url plus (`secure`) the mutual-TLS and VIHF options of a client verb."""
    env = os.environ.get
    parser.add_argument(
        "--url",
        type=server_url,
        default=env("XDS_URL", DEFAULT_URL),
        help=f"server base URL, http:// or https:// (XDS_URL, default {DEFAULT_URL})",
    )
    if not secure:
        return
    group = parser.add_argument_group("mutual TLS and signed assertion (VIHF)")
    add_path_options(
        group,
        [
            ("--ca", "XDS_CA", "CA bundle of the server certificate"),
            ("--tls-cert", "XDS_CLIENT_CERT", "client certificate (the establishment's AUTH_CLI)"),
            ("--tls-key", "XDS_CLIENT_KEY", "its key"),
            ("--sign-cert", "XDS_SIGN_CERT", "signing certificate: a VIHF signed per request"),
            ("--sign-key", "XDS_SIGN_KEY", "its key"),
        ],
    )
    for option, variable, default, what in (
        ("--professional", "XDS_PROFESSIONAL", "UNKNOWN", "the acting professional's id"),
        ("--professional-name", "XDS_PROFESSIONAL_NAME", "UNKNOWN", "and name"),
        (
            "--role",
            "XDS_PROFESSION_ROLE",
            "10",
            "role code[^system]: a profession (10: médecin), or "
            "ONESELF^2.16.840.1.113883.5.111 for the patient",
        ),
        ("--structure", "XDS_STRUCTURE", None, "structure id (default: the certificate's)"),
        ("--sector", "XDS_SECTOR", DEFAULT_SECTOR, "Secteur_Activite"),
        ("--assertion-patient", "XDS_ASSERTION_PATIENT", "", "patient for bodies naming none"),
    ):
        group.add_argument(option, default=env(variable, default), help=f"{what} ({variable})")
    group.add_argument(
        "--purpose",
        choices=[p.value for p in PurposeOfUse],
        default=env("XDS_PURPOSE", PurposeOfUse.NORMAL.value),
        help="purpose of use (XDS_PURPOSE)",
    )
    group.add_argument(
        "--auth-mode",
        choices=[m.value for m in AuthenticationMode],
        default=env("XDS_AUTH_MODE", AuthenticationMode.INDIRECT.value),
        help="Authentification_Mode (XDS_AUTH_MODE)",
    )


def server_url(value: str) -> str:
    """An http(s) URL with a host; argparse turns the ValueError into a usage error (exit 2)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        hint = f" (did you mean http://{value}?)" if "://" not in value else ""
        raise argparse.ArgumentTypeError(f"{value!r} is not an http:// or https:// URL{hint}")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} has an invalid port") from None
    return value


def make_client(args: argparse.Namespace) -> XdsClient:
    """The XdsClient the options describe; ConnectionOptionsError when they are unusable."""
    cert = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            raise ConnectionOptionsError("--tls-cert and --tls-key go together")
        cert = (args.tls_cert, args.tls_key)
    signer = None
    if args.sign_cert or args.sign_key:
        if not (args.sign_cert and args.sign_key):
            raise ConnectionOptionsError("--sign-cert and --sign-key go together")
        try:
            signer = VihfSigner(vihf_options(args), args.sign_key, args.sign_cert)
        except (OSError, ValueError) as exc:
            raise ConnectionOptionsError(f"cannot sign assertions: {exc}") from exc
    return XdsClient(args.url, cert=cert, verify=args.ca if args.ca else True, assertions=signer)


def vihf_options(args: argparse.Namespace) -> VihfOptions:
    code, _, system = str(args.role).partition("^")
    structure = args.structure or structure_id(read_cert(args.sign_cert))
    return VihfOptions(
        professional_id=args.professional,
        professional_name=args.professional_name,
        roles=[Code(code, system or PROFESSION_SYSTEM)],
        structure_id=structure,
        sector=args.sector,
        patient_id=args.assertion_patient,
        software=SOFTWARE,
        authentication_mode=AuthenticationMode(args.auth_mode),
        purpose_of_use=PurposeOfUse(args.purpose),
    )


__all__ = [
    "ConnectionOptionsError",
    "add_connection_options",
    "make_client",
    "server_url",
    "vihf_options",
]
