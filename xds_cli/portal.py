"""`xds portal link PATIENT-ID`: a one-time login link to the patient's pages.

For the embedded default and integration tests, the way notebook servers hand out tokens:
the link opens one session for that patient, once, within `--minutes`; the server must run
with ``--portal-links``. It writes the token's hash into the registry's database (the same
`--data` folder or `--database` as `xds serve`), so run it beside the server.
"""

from __future__ import annotations

import argparse
import os
import sys

from ebrim.hl7 import patient_key
from registry import create_engine_for, migrate
from web.sessions import Sessions
from xds_cli.settings import add_database_options, database_of


def add_portal_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    env = os.environ.get
    portal = commands.add_parser("portal", help="the patient's pages (/portal)")
    verbs = portal.add_subparsers(dest="portal_command", required=True)
    link = verbs.add_parser("link", help="print a one-time login link for a patient")
    link.add_argument("patient", help="the patient's id as fed (CX, e.g. 123^^^&1.2.3&ISO)")
    link.add_argument("--minutes", type=float, default=10.0, help="how long it is valid (10)")
    link.add_argument(
        "--representative",
        help="log in this legal representative (their id) acting for the patient, as the "
        "policy allows a GUARD: documents hidden from representatives stay hidden",
    )
    add_database_options(link)  # the server's, whose database the token goes into
    link.add_argument(
        "--url",
        default=env("XDS_URL", "http://127.0.0.1:8080"),
        help="the server's public URL, the link's start (XDS_URL)",
    )
    link.set_defaults(run=run_link)


def run_link(args: argparse.Namespace) -> int:
    if not 0 < args.minutes <= 24 * 60:
        print("--minutes: between 0 and 1440", file=sys.stderr)
        return 2
    url = database_of(args.data, args.database)
    if not args.database and not (args.data / "registry.sqlite").exists():
        print(f"no registry database in {args.data}: run xds serve first", file=sys.stderr)
        return 2
    engine = create_engine_for(url, schema=args.database_schema)
    try:
        migrate(engine)
        token = Sessions(engine).link(
            patient_key(args.patient), args.minutes, representative=args.representative
        )
    finally:
        engine.dispose()
    print(f"{args.url.rstrip('/')}/portal/login?token={token}")
    return 0


__all__ = ["add_portal_command"]
