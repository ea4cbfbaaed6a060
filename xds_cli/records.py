"""`xds record <verb> PATIENT`: the patient's record on a registry (`/xds/records`).

Verbs: open, reopen, close (the record itself, with the patient's consent); grant and
revoke (a professional, or a structure with `--grantee-structure`); block and unblock a
professional; oppose-emergency (`--allow` lifts the opposition); history (who accessed
the record). Exit statuses as the other client verbs: 0 done, 1 refused, 2 could not ask.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from registry.records import GranteeKind
from soap.client import ClientError
from soap.client.records import RecordsClient
from soap.records_xml import RecordAnswer
from xds_cli.commands import EXIT_DONE, EXIT_FAILED, EXIT_REFUSED
from xds_cli.connection import add_connection_options, make_client

VERBS = {
    "open": "open the record (the patient consents)",
    "reopen": "reopen a closed record",
    "close": "close the record",
    "grant": "authorise a professional (or --grantee-structure) to consult the record",
    "revoke": "revoke an authorisation",
    "block": "block a professional: always refused",
    "unblock": "lift a block",
    "oppose-emergency": "forbid break-the-glass access (--allow lifts it)",
    "history": "who accessed the record",
}


def add_record_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    record = commands.add_parser("record", help="the patient's record: consent, access, history")
    verbs = record.add_subparsers(dest="verb", required=True)
    for verb, what in VERBS.items():
        parser = verbs.add_parser(verb, help=what)
        parser.add_argument("patient", help="the patient id (CX), e.g. the INS")
        if verb in ("grant", "revoke", "block", "unblock"):
            parser.add_argument(
                "who", help="the professional's id (or structure id, --grantee-structure)"
            )
        if verb in ("grant", "revoke"):
            parser.add_argument(
                "--grantee-structure", action="store_true", help="`who` is a structure"
            )
        if verb == "grant":
            parser.add_argument(
                "--expires", type=datetime.fromisoformat, help="ISO 8601 end of the grant"
            )
        if verb == "oppose-emergency":
            parser.add_argument("--allow", action="store_true", help="lift the opposition")
        parser.add_argument("--by", help="who acts, when no signed assertion says so")
        add_connection_options(parser)
        parser.set_defaults(run=run_record)


def run_record(args: argparse.Namespace) -> int:
    records = make_client(args).records
    try:
        answer = _call(records, args)
    except ClientError as exc:
        print(f"xds record {args.verb} failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print_answer(answer)
    return EXIT_DONE if answer.success else EXIT_REFUSED


def _call(records: RecordsClient, args: argparse.Namespace) -> RecordAnswer:
    patient, by = args.patient, args.by
    kind = (
        GranteeKind.STRUCTURE
        if getattr(args, "grantee_structure", False)
        else GranteeKind.PROFESSIONAL
    )
    match args.verb:
        case "open":
            return records.open(patient, by=by)
        case "reopen":
            return records.reopen(patient, by=by)
        case "close":
            return records.close(patient, by=by)
        case "grant":
            return records.grant(patient, args.who, kind=kind, expires_at=args.expires, by=by)
        case "revoke":
            return records.revoke(patient, args.who, kind=kind, by=by)
        case "block":
            return records.block(patient, args.who, by=by)
        case "unblock":
            return records.unblock(patient, args.who, by=by)
        case "oppose-emergency":
            return records.oppose_emergency_access(patient, not args.allow, by=by)
        case _:
            return records.history(patient)


def print_answer(answer: RecordAnswer) -> None:
    if not answer.success:
        print(f"refused ({answer.error_code}): {answer.error}", file=sys.stderr)
        return
    state = answer.record
    if state is not None:
        opposition = ", opposed to emergency access" if state.emergency_opposition else ""
        print(f"record of {state.patient_id}: {state.status.value}{opposition}")
        for granted in answer.authorisations:
            until = f" until {granted.expires_at.isoformat()}" if granted.expires_at else ""
            print(f"  authorised {granted.grantee_kind.value} {granted.grantee_id}{until}")
        for blocked in sorted(state.blocked):
            print(f"  blocked professional {blocked}")
    for event in answer.events:
        when = event.occurred_at.isoformat() if event.occurred_at else "-"
        flag = " EMERGENCY" if event.emergency else ""
        who = event.professional_name or event.professional_id or "-"
        docs = " ".join(event.document_ids)
        print(f"{when} {event.transaction} {event.outcome.value}{flag} by {who} {docs}".rstrip())


__all__ = ["add_record_commands", "print_answer", "run_record"]
