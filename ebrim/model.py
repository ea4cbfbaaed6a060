"""XDS metadata as plain, immutable Python objects (ITI TF-3 4.2.3, 4.3).

Values are kept as they travel on the wire: times are HL7 DTM strings, identifiers
and persons are HL7 v2 strings (see `ebrim.hl7` to read their parts), sizes are
decimal strings. Parsing therefore never loses or rejects a value; `ebrim.validate`
says whether each value is well-formed. Lists are tuples so that objects stay
hashable and comparable.

Ids: `entry_uuid` holds the object's id as submitted, which is a symbolic id
(e.g. ``Document01``) until the registry assigns a ``urn:uuid:``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from ebrim.errors import XDSError
from ebrim.vocabulary import AssociationType, ObjectType, ResponseStatus


@dataclass(frozen=True)
class LocalizedString:
    """Text of a Name or Description, with its language and charset when given."""

    value: str
    lang: str | None = None
    charset: str | None = None


@dataclass(frozen=True)
class Slot:
    """A name with its ordered values; the metadata slots that the model does not name."""

    name: str
    values: tuple[str, ...] = ()
    slot_type: str | None = None


@dataclass(frozen=True)
class Code:
    """A coded value: the code, its coding scheme, and its display name."""

    code: str
    scheme: str
    display_name: str | None = None


@dataclass(frozen=True)
class Author:
    """One author: a person (XCN), institutions (XON), roles, specialties, telecoms (XTN)."""

    person: str | None = None
    institutions: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()
    telecoms: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentEntry:
    """An XDSDocumentEntry: a stable or on-demand document's metadata."""

    entry_uuid: str
    object_type: str = ObjectType.STABLE_DOCUMENT.value
    mime_type: str | None = None
    status: str | None = None
    logical_id: str | None = None
    version: str | None = None
    home: str | None = None
    title: LocalizedString | None = None
    comments: LocalizedString | None = None
    unique_id: str | None = None
    patient_id: str | None = None
    source_patient_id: str | None = None
    source_patient_info: tuple[str, ...] = ()
    authors: tuple[Author, ...] = ()
    class_code: Code | None = None
    confidentiality_codes: tuple[Code, ...] = ()
    event_codes: tuple[Code, ...] = ()
    format_code: Code | None = None
    healthcare_facility_type_code: Code | None = None
    practice_setting_code: Code | None = None
    type_code: Code | None = None
    creation_time: str | None = None
    service_start_time: str | None = None
    service_stop_time: str | None = None
    hash: str | None = None
    size: str | None = None
    language_code: str | None = None
    legal_authenticator: str | None = None
    repository_unique_id: str | None = None
    uri: str | None = None
    reference_ids: tuple[str, ...] = ()
    document_availability: str | None = None
    limited_metadata: bool = False
    extra_slots: tuple[Slot, ...] = ()

    @property
    def is_on_demand(self) -> bool:
        return self.object_type == ObjectType.ON_DEMAND_DOCUMENT.value


@dataclass(frozen=True)
class SubmissionSet:
    """An XDSSubmissionSet: the package of one submission."""

    entry_uuid: str
    status: str | None = None
    logical_id: str | None = None
    version: str | None = None
    home: str | None = None
    title: LocalizedString | None = None
    comments: LocalizedString | None = None
    unique_id: str | None = None
    source_id: str | None = None
    patient_id: str | None = None
    submission_time: str | None = None
    authors: tuple[Author, ...] = ()
    content_type_code: Code | None = None
    intended_recipients: tuple[str, ...] = ()
    limited_metadata: bool = False
    extra_slots: tuple[Slot, ...] = ()


@dataclass(frozen=True)
class Folder:
    """An XDSFolder: a patient's documents grouped across submissions."""

    entry_uuid: str
    status: str | None = None
    logical_id: str | None = None
    version: str | None = None
    home: str | None = None
    title: LocalizedString | None = None
    comments: LocalizedString | None = None
    unique_id: str | None = None
    patient_id: str | None = None
    codes: tuple[Code, ...] = ()
    last_update_time: str | None = None
    limited_metadata: bool = False
    extra_slots: tuple[Slot, ...] = ()


@dataclass(frozen=True)
class Association:
    """A typed link from a source object to a target object.

    `association_type` is the full URN (see `AssociationType`); a value outside that
    vocabulary is kept as given so that validation can name it.
    """

    entry_uuid: str
    association_type: str
    source: str
    target: str
    status: str | None = None
    home: str | None = None
    submission_set_status: str | None = None
    extra_slots: tuple[Slot, ...] = ()
    documentation: tuple[Code, ...] = ()  # association documentation (ITI TF-3 4.2.2)

    @property
    def known_type(self) -> AssociationType | None:
        try:
            return AssociationType(self.association_type)
        except ValueError:
            return None


@dataclass(frozen=True)
class ObjectRef:
    """A reference to a registry object by id (rim:ObjectRef)."""

    id: str
    home: str | None = None


RegistryObject = DocumentEntry | SubmissionSet | Folder | Association


@dataclass(frozen=True)
class Metadata:
    """The registry objects of one message (SubmitObjectsRequest or LeafClass query answer)."""

    submission_sets: tuple[SubmissionSet, ...] = ()
    documents: tuple[DocumentEntry, ...] = ()
    folders: tuple[Folder, ...] = ()
    associations: tuple[Association, ...] = ()
    object_refs: tuple[ObjectRef, ...] = ()

    @property
    def submission_set(self) -> SubmissionSet | None:
        """The submission set of a submission (None unless there is exactly one)."""
        return self.submission_sets[0] if len(self.submission_sets) == 1 else None

    def objects(self) -> tuple[RegistryObject, ...]:
        return (*self.submission_sets, *self.documents, *self.folders, *self.associations)

    def by_id(self) -> dict[str, RegistryObject]:
        return {obj.entry_uuid: obj for obj in self.objects()}

    def ids(self) -> tuple[str, ...]:
        """Ids of every object and reference, in document order of kind."""
        return tuple(obj.entry_uuid for obj in self.objects()) + tuple(
            ref.id for ref in self.object_refs
        )


@dataclass(frozen=True)
class RegistryResponse:
    """The outcome of a transaction: its status and the errors and warnings that explain it."""

    status: ResponseStatus
    errors: tuple[XDSError, ...] = ()
    request_id: str | None = None

    @classmethod
    def from_errors(cls, errors: tuple[XDSError, ...] | list[XDSError]) -> RegistryResponse:
        """Failure when any entry is an error, Success (with the warnings) otherwise."""
        failed = any(e.is_error for e in errors)
        status = ResponseStatus.FAILURE if failed else ResponseStatus.SUCCESS
        return cls(status=status, errors=tuple(errors))


_T = TypeVar("_T")


def evolve(obj: _T, **changes: Any) -> _T:
    """`dataclasses.replace` for the model's frozen dataclasses, several times faster.

    `replace` runs `__init__`, which sets each of a DocumentEntry's 35 fields through
    `object.__setattr__`; every ITI-41 copies each object it registers. The copy here takes
    the fields as they are and the changes over them, which is what `__init__` would do for
    these classes: no `__post_init__`, every field set by `__init__` (checked once per class).
    """
    cls: type = type(obj)
    names = _field_names(cls)
    if not names.issuperset(changes):
        unknown = sorted(set(changes) - names)
        raise TypeError(f"{cls.__name__} has no field {unknown}")
    new: Any = object.__new__(cls)
    state = new.__dict__
    state.update(obj.__dict__)
    state.update(changes)
    return new


@cache
def plain_fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    """The fields of a model dataclass that may be built without calling its `__init__`
    (`evolve`, the registry's codec): it has no `__post_init__` and sets every field from
    its arguments. TypeError for any other class, so that a check added later to an
    `__init__` cannot be skipped silently."""
    fields = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or any(not f.init for f in fields):
        raise TypeError(
            f"{cls.__name__}: only plain fields (each set by __init__, no __post_init__) "
            "are built without calling __init__"
        )
    return fields


@cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in plain_fields(cls))


__all__ = [
    "Association",
    "Author",
    "Code",
    "DocumentEntry",
    "Folder",
    "LocalizedString",
    "Metadata",
    "ObjectRef",
    "RegistryObject",
    "RegistryResponse",
    "Slot",
    "SubmissionSet",
    "evolve",
    "plain_fields",
]
