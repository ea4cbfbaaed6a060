"""Hypothesis strategies for random metadata that the ebRIM schemas accept.

Lengths follow rim.xsd (slot values and codes are LongName ≤256, texts FreeFormText ≤1024,
versionName ≤16); text avoids the characters XML 1.0 cannot carry. Values need not make
clinical sense: validation is another module's job, the transform must keep anything.
"""

from __future__ import annotations

from hypothesis import strategies as st

from ebrim import _rim
from ebrim.model import (
    Association,
    Author,
    Code,
    DocumentEntry,
    Folder,
    LocalizedString,
    Metadata,
    ObjectRef,
    Slot,
    SubmissionSet,
)
from ebrim.vocabulary import AssociationType, ObjectType

# Cs: lone surrogates, Cc: controls (tab and newline added back), Cn: U+FFFE, U+FFFF...
_CHARACTERS = st.characters(blacklist_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\t\n")

_KNOWN_SLOTS = frozenset(
    value for name, value in vars(_rim).items() if name.isupper() and isinstance(value, str)
)


def xml_text(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(_CHARACTERS, max_size=max_size)


def long_name() -> st.SearchStrategy[str]:
    """A LongName value; mostly short, sometimes at the 256-character limit."""
    return xml_text(40) | st.text(_CHARACTERS, min_size=256, max_size=256)


def uri() -> st.SearchStrategy[str]:
    return st.from_regex(r"urn:[a-z]{1,8}:[A-Za-z0-9.:_-]{1,30}", fullmatch=True)


def object_id() -> st.SearchStrategy[str]:
    symbolic = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,20}", fullmatch=True)
    return symbolic | st.uuids().map(lambda u: u.urn)


def optional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.none() | strategy


def few(strategy: st.SearchStrategy, max_size: int = 3) -> st.SearchStrategy[tuple]:
    return st.lists(strategy, max_size=max_size).map(tuple)


def localized_strings() -> st.SearchStrategy[LocalizedString]:
    language = st.from_regex(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8}){0,2}", fullmatch=True)
    return st.builds(
        LocalizedString,
        value=xml_text(80) | st.text(_CHARACTERS, min_size=1024, max_size=1024),
        lang=optional(language),
        charset=optional(st.sampled_from(["UTF-8", "ISO-8859-1"])),
    )


def codes() -> st.SearchStrategy[Code]:
    return st.builds(
        Code, code=long_name(), scheme=long_name(), display_name=optional(xml_text(80))
    )


def authors() -> st.SearchStrategy[Author]:
    return st.builds(
        Author,
        person=optional(long_name()),
        institutions=few(long_name()),
        roles=few(long_name()),
        specialties=few(long_name()),
        telecoms=few(long_name()),
    )


def extra_slots() -> st.SearchStrategy[tuple[Slot, ...]]:
    slot = st.builds(
        Slot,
        name=st.text(_CHARACTERS, min_size=1, max_size=40).filter(lambda n: n not in _KNOWN_SLOTS),
        values=few(long_name()),
        slot_type=optional(uri()),
    )
    return few(slot, 2)


def _common() -> dict[str, st.SearchStrategy]:
    return {
        "entry_uuid": object_id(),
        "status": optional(uri()),
        "logical_id": optional(uri()),
        "version": optional(st.text(_CHARACTERS, max_size=16)),
        "home": optional(uri()),
        "title": st.none() | localized_strings(),
        "comments": st.none() | localized_strings(),
        "unique_id": optional(long_name()),
        "patient_id": optional(long_name()),
        "limited_metadata": st.booleans(),
        "extra_slots": extra_slots(),
    }


def documents() -> st.SearchStrategy[DocumentEntry]:
    value = optional(long_name())
    return st.builds(
        DocumentEntry,
        **_common(),
        object_type=st.sampled_from(
            [ObjectType.STABLE_DOCUMENT.value, ObjectType.ON_DEMAND_DOCUMENT.value, ""]
        ),
        mime_type=value,
        source_patient_id=value,
        source_patient_info=few(long_name()),
        authors=few(authors(), 2),
        class_code=st.none() | codes(),
        confidentiality_codes=few(codes()),
        event_codes=few(codes()),
        format_code=st.none() | codes(),
        healthcare_facility_type_code=st.none() | codes(),
        practice_setting_code=st.none() | codes(),
        type_code=st.none() | codes(),
        creation_time=value,
        service_start_time=value,
        service_stop_time=value,
        hash=value,
        size=value,
        language_code=value,
        legal_authenticator=value,
        repository_unique_id=value,
        uri=value,
        reference_ids=few(long_name()),
        document_availability=value,
    )


def submission_sets() -> st.SearchStrategy[SubmissionSet]:
    return st.builds(
        SubmissionSet,
        **_common(),
        source_id=optional(long_name()),
        submission_time=optional(long_name()),
        authors=few(authors(), 2),
        content_type_code=st.none() | codes(),
        intended_recipients=few(long_name()),
    )


def folders() -> st.SearchStrategy[Folder]:
    return st.builds(
        Folder, **_common(), codes=few(codes()), last_update_time=optional(long_name())
    )


def associations() -> st.SearchStrategy[Association]:
    return st.builds(
        Association,
        entry_uuid=object_id(),
        association_type=st.sampled_from([t.value for t in AssociationType]) | uri(),
        source=object_id(),
        target=object_id(),
        status=optional(uri()),
        home=optional(uri()),
        submission_set_status=optional(st.sampled_from(["Original", "Reference"]) | long_name()),
        extra_slots=extra_slots(),
    )


def metadata() -> st.SearchStrategy[Metadata]:
    return st.builds(
        Metadata,
        submission_sets=few(submission_sets(), 2),
        documents=few(documents(), 2),
        folders=few(folders(), 2),
        associations=few(associations(), 3),
        object_refs=few(st.builds(ObjectRef, id=object_id(), home=optional(uri())), 2),
    )
