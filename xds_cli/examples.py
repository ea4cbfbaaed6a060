"""`xds example --dir DIR`: sample files the README's walkthroughs submit.

Written fresh on each run (new uniqueIds and entryUUIDs), so that a walkthrough can be run
again on the same server: the ANS vaccination-note CDA shipped with the package, and a
`submission.xml` (an ITI-41 SubmitObjectsRequest) with the `note.txt` it describes, for
`xds submit submission.xml --document Document01=note.txt`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxml import etree

from ebrim.render import render_submit_objects_request
from xds_cli.demo import CDA_NAME, cda_bytes
from xds_cli.metadata import DocumentFacts, single_document

PATIENT = "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"  # the INS of the shipped CDA
NOTE = "A plain text note, submitted with the metadata of submission.xml.\n"


def add_example_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    example = commands.add_parser(
        "example", help="write sample documents to submit (a CDA, a submission with its file)"
    )
    example.add_argument(
        "--dir", type=Path, default=Path("examples"), help="where (default ./examples)"
    )
    example.set_defaults(run=run_example)


def run_example(args: argparse.Namespace) -> int:
    folder: Path = args.dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CDA_NAME).write_bytes(cda_bytes())
        (folder / "note.txt").write_text(NOTE, encoding="utf-8")
        facts = DocumentFacts(patient_id=PATIENT, mime_type="text/plain", title="Note")
        request = render_submit_objects_request(single_document(facts))
        (folder / "submission.xml").write_bytes(
            etree.tostring(request, xml_declaration=True, encoding="UTF-8", pretty_print=True)
        )
    except OSError as exc:
        print(f"xds example: {exc}", file=sys.stderr)
        return 2
    print(f"{folder / CDA_NAME}: a CDA document (its header gives the metadata)")
    print(f"{folder / 'submission.xml'}: DocumentEntry Document01 for patient {PATIENT}")
    print(f"{folder / 'note.txt'}: its document")
    return 0


__all__ = ["PATIENT", "add_example_command", "run_example"]
