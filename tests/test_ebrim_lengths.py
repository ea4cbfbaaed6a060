"""Over-long values are found in one pass over the RegistryObjectList and reported object by
object, in the message's order, each object's attributes before its slot values."""

from __future__ import annotations

from dataclasses import replace

import pytest
from registry_fixtures import Submission

from ebrim.errors import MetadataRejected
from ebrim.model import Code, LocalizedString
from ebrim.parse import parse_submit_objects_request
from ebrim.render import render_submit_objects_request


def _rejected(submission: Submission) -> list[tuple[str, str]]:
    with pytest.raises(MetadataRejected) as caught:
        parse_submit_objects_request(render_submit_objects_request(submission.build()))
    return [(error.location or "", error.message) for error in caught.value.errors]


def test_over_long_values_are_named_per_object_in_message_order() -> None:
    submission = Submission()
    first, second = submission.add(), submission.add()
    submission.documents[0] = replace(
        first,
        legal_authenticator="L" * 300,  # a slot value (LongName)
        title=LocalizedString("T" * 1025),  # FreeFormText
        class_code=Code("C" * 300, "1.2.3", "x"),  # a classification's attribute
    )
    submission.documents[1] = replace(second, version="v" * 17)

    errors = _rejected(submission)

    first_id, second_id = first.entry_uuid, second.entry_uuid
    assert [location for location, _ in errors] == [first_id] * 3 + [second_id]
    texts = [text for _, text in errors]
    # The first document: its attributes (title, then the class code's), then its slot.
    assert texts[0].startswith(f"LocalizedString@value of {first_id}: 1025 characters")
    assert "more than the 1024 rim.xsd allows" in texts[0]
    assert texts[1].startswith(f"Classification@nodeRepresentation of {first_id}: 300")
    assert texts[2] == (
        f"Slot 'legalAuthenticator' value of {first_id}: 300 characters, "
        "more than the 256 rim.xsd allows"
    )
    assert texts[3] == (
        f"VersionInfo@versionName of {second_id}: 17 characters, more than the 16 rim.xsd allows"
    )


def test_values_at_their_limits_pass() -> None:
    submission = Submission()
    doc = submission.add()
    submission.documents[0] = replace(
        doc, legal_authenticator="L" * 256, title=LocalizedString("T" * 1024)
    )

    metadata = parse_submit_objects_request(render_submit_objects_request(submission.build()))

    (parsed,) = metadata.documents
    assert parsed.legal_authenticator == "L" * 256
    assert parsed.title == LocalizedString("T" * 1024)
