"""`evolve`: the model's copy with changes, the same as `dataclasses.replace`, faster."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from registry_fixtures import Submission

from ebrim.model import Association, DocumentEntry, Metadata, evolve


def test_it_copies_like_dataclasses_replace() -> None:
    submission = Submission()
    doc = submission.add()
    changes = {"hash": "ab" * 20, "size": "12", "repository_unique_id": "1.2.3"}

    copied = evolve(doc, **changes)

    assert copied == dataclasses.replace(doc, **changes)
    assert type(copied) is DocumentEntry
    assert copied is not doc
    assert (doc.hash, doc.size) != ("ab" * 20, "12")  # the original is left as it was
    with pytest.raises(dataclasses.FrozenInstanceError):
        copied.hash = "x"  # type: ignore[misc]


def test_it_copies_every_model_class_it_is_given() -> None:
    submission = Submission()
    submission.add()
    metadata = submission.build()
    link = metadata.associations[0]

    assert evolve(link, target="urn:uuid:x") == dataclasses.replace(link, target="urn:uuid:x")
    assert isinstance(evolve(link, target="urn:uuid:x"), Association)
    assert evolve(metadata, documents=()) == dataclasses.replace(metadata, documents=())
    assert isinstance(evolve(metadata), Metadata)


def test_an_unknown_field_is_a_type_error_like_replace() -> None:
    doc = Submission().add()

    with pytest.raises(TypeError, match="no field"):
        evolve(doc, hashh="x")


def test_a_class_whose_init_does_more_is_refused() -> None:
    @dataclass(frozen=True)
    class Checked:
        value: str

        def __post_init__(self) -> None:
            if not self.value:
                raise ValueError("empty")

    with pytest.raises(TypeError, match="__init__"):
        evolve(Checked("a"), value="")
