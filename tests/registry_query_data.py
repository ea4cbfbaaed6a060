"""A small but realistic registry content for the stored-query tests, and helpers to ask it.

`build_world` registers, through `Registry.submit`, the record below and returns the
entryUUID of each object by name:

PATIENT
  submission ss_a (2024-01-02, source SOURCE_A, author ^DUPONT^JEAN, content Consultation)
    consult     the builders' default document (now Deprecated: replaced by consult_v2)
    lab         class Lab, conf R+MASQUE_PS, events E2 E3, created 2023-06-15, refs ORD-2 ACC-9
    f_emergency folder (Emergency), holding consult (and, carried over, consult_v2)
  submission ss_b (2024-03-01, source SOURCE_B, author ^DURAND%^PAUL, content Imaging)
    scan        author ^DURAND%^PAUL (a literal %), conf V, events E3, service start 2024030109
    note        author ^DURANDX^PAUL, conf N, event E1, created 2024-03-01T09:30:01
    summary     an on-demand entry
    f_imaging   folder (Imaging, Radiology), holding scan
  submission ss_c (2024-04-01): the lifecycle of the record
    consult_v2  RPLC consult          addendum  APND lab
    scan_text   XFRM scan             signature signs consult_v2
OTHER_PATIENT
  submission ss_other: other (the default document)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from registry_fixtures import (
    OTHER_PATIENT,
    PATIENT,
    Submission,
    code,
    document,
    folder,
    migrated_engine,
)
from sqlalchemy import Engine

from ebrim.model import Association, Author, Code, DocumentEntry
from ebrim.storedquery import StoredQuery, StoredQueryRequest
from ebrim.vocabulary import AssociationType, AvailabilityStatus, ObjectType, ReturnType
from registry import QueryResult, Registry, RegistrySettings

APPROVED = AvailabilityStatus.APPROVED.value
DEPRECATED = AvailabilityStatus.DEPRECATED.value
STABLE = ObjectType.STABLE_DOCUMENT.value
ON_DEMAND = ObjectType.ON_DEMAND_DOCUMENT.value
SOURCE_A = "1.3.6.1.4.1.21367.2010.1.2.1"
SOURCE_B = "1.3.6.1.4.1.21367.2010.1.2.2"
LOCAL = "1.3.6.1.4.1.21367.100.1"  # the builders' default coding scheme
LOINC = "2.16.840.1.113883.6.1"
HL7_CONF = "2.16.840.1.113883.5.25"
DMP_CONF = "1.2.250.1.213.1.1.4.13"

DUPONT = "801234567890^DUPONT^JEAN^^^Dr^^^&1.2.250.1.71.4.2.1&ISO"
MARTIN = "801234567891^MARTIN^ANNE^^^Dr^^^&1.2.250.1.71.4.2.1&ISO"
DURAND_PERCENT = "^DURAND%^PAUL"
DURAND_X = "^DURANDX^PAUL"


def author(person: str) -> tuple[Author, ...]:
    return (Author(person=person, institutions=("Hopital^^^^^^^^^1.2.3.4.5.6.7",)),)


def c(value: str, scheme: str = LOCAL) -> Code:
    """A query code (no display name): what a consumer sends as ``value^^scheme``."""
    return Code(value, scheme)


@dataclass
class World:
    registry: Registry
    ids: dict[str, str] = field(default_factory=dict)
    now: datetime = datetime(2024, 1, 2, 4, 5, 6, tzinfo=UTC)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    def names(self, uuids: tuple[str, ...] | list[str]) -> set[str]:
        """Readable names of `uuids`: ``consult``, ``HasMember(ss_a,consult)``, ``RPLC(v2,v1)``."""
        stored = self.registry.get_many(uuids)
        return {self._name(uid, stored) for uid in uuids}

    def _name(self, uid: str, stored: dict[str, Any]) -> str:
        by_uuid = {u: name for name, u in self.ids.items()}
        if uid in by_uuid:
            return by_uuid[uid]
        link = stored.get(uid) or self.registry.get(uid)
        if not isinstance(link, Association):
            return uid
        kind = link.association_type.rsplit(":", 1)[-1]
        return f"{kind}({self._name(link.source, stored)},{self._name(link.target, stored)})"

    def submit(self, submission: Submission, set_name: str, **set_changes: Any) -> None:
        result = self.registry.submit(submission.build(**set_changes))
        assert not result.response.errors, result.response.errors
        named = {d.entry_uuid: d.entry_uuid for d in submission.documents}
        named.update({f.entry_uuid: f.entry_uuid for f in submission.folders})
        for local, assigned in result.ids.items():
            if local in named:
                self.ids[local] = assigned
        self.ids[set_name] = result.ids[submission.set_id]

    def ask(
        self,
        query: StoredQuery,
        return_type: ReturnType = ReturnType.LEAF_CLASS,
        **request: Any,
    ) -> QueryResult:
        return self.registry.query(StoredQueryRequest(query, return_type, **request))

    def found(self, query: StoredQuery, **request: Any) -> set[str]:
        """The names of the objects an ObjectRef query answers (associations as uuids)."""
        result = self.ask(query, ReturnType.OBJECT_REF, **request)
        assert not result.response.errors, result.response.errors
        return self.names([ref.id for ref in result.object_refs])


def _lab() -> DocumentEntry:
    return document(
        "lab",
        authors=author(MARTIN),
        class_code=code("Lab"),
        type_code=code("11502-2", LOINC, "Laboratory report"),
        format_code=code("urn:ihe:lab:xd-lab:2008", "1.3.6.1.4.1.19376.1.2.3"),
        confidentiality_codes=(code("R", HL7_CONF), code("MASQUE_PS", DMP_CONF)),
        event_codes=(code("E2"), code("E3")),
        healthcare_facility_type_code=code("Hospital"),
        practice_setting_code=code("Biology"),
        creation_time="20230615120000",
        service_start_time="20230614",
        service_stop_time="20230615",
        reference_ids=(
            "ORD-2^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:order",
            "ACC-9^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:accession",
        ),
    )


def _imaging(name: str, person: str, **changes: Any) -> DocumentEntry:
    return document(
        name,
        authors=author(person),
        class_code=code("Imaging"),
        type_code=code("18748-4", LOINC, "Diagnostic imaging study"),
        format_code=code("1.2.840.10008.5.1.4.1.1.88.59", "1.2.840.10008.2.6.1"),
        practice_setting_code=code("Radiology"),
        **changes,
    )


def _on_demand() -> DocumentEntry:
    return replace(
        document("summary"),
        object_type=ON_DEMAND,
        creation_time=None,
        service_start_time=None,
        service_stop_time=None,
        hash=None,
        size=None,
    )


def new_world(engine: Engine, settings: RegistrySettings | None = None) -> World:
    """An empty registry whose clock (folder lastUpdateTime) the world sets."""
    world = World(Registry(engine, settings or RegistrySettings()))
    world.registry._clock = lambda: world.now
    for patient in (PATIENT, OTHER_PATIENT):
        world.registry.patients.feed(patient)
    return world


@contextmanager
def world_on(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[World]:
    """The record of the module docstring, registered on `backend`."""
    with migrated_engine(backend, tmp_path_factory.mktemp("world"), request) as engine:
        yield build_world(new_world(engine))


def build_world(world: World) -> World:
    a = Submission(set_id="ss_a")
    a.add(document("consult"))
    a.add(_lab())
    a.add_folder(folder("f_emergency", codes=(code("Emergency"),)))
    a.file("f_emergency", "consult")
    world.submit(a, "ss_a")

    b = Submission(set_id="ss_b")
    b.add(
        _imaging(
            "scan",
            DURAND_PERCENT,
            confidentiality_codes=(code("V", HL7_CONF),),
            event_codes=(code("E3"),),
            creation_time="20240301093000",
            service_start_time="2024030109",
            service_stop_time=None,
            reference_ids=("ORD-1^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:order",),
        )
    )
    b.add(
        _imaging(
            "note",
            DURAND_X,
            event_codes=(code("E1"),),
            creation_time="20240301093001",
            reference_ids=(),
        )
    )
    b.add(_on_demand())
    b.add_folder(folder("f_imaging", codes=(code("Imaging"), code("Radiology"))))
    b.file("f_imaging", "scan")
    world.now = datetime(2024, 3, 1, 10, 0, 0, tzinfo=UTC)
    world.submit(
        b,
        "ss_b",
        submission_time="20240301100000",
        source_id=SOURCE_B,
        authors=author(DURAND_PERCENT),
        content_type_code=code("Imaging"),
    )

    world.now = datetime(2024, 4, 1, 9, 0, 0, tzinfo=UTC)
    c_ = Submission(set_id="ss_c")
    for name, kind, target in (
        ("consult_v2", AssociationType.REPLACE, "consult"),
        ("addendum", AssociationType.APPEND, "lab"),
        ("scan_text", AssociationType.TRANSFORM, "scan"),
    ):
        c_.add(document(name, creation_time="20240401080000"))
        c_.relate(kind, name, world[target])
    c_.add(document("signature", creation_time="20240401080000"))
    c_.relate(AssociationType.SIGNS, "signature", "consult_v2")
    world.submit(c_, "ss_c", submission_time="20240401090000")

    other = Submission(patient=OTHER_PATIENT, set_id="ss_other")
    other.add(document("other", patient=OTHER_PATIENT))
    world.submit(other, "ss_other")
    return world


__all__ = [
    "APPROVED",
    "DEPRECATED",
    "DMP_CONF",
    "DUPONT",
    "HL7_CONF",
    "LOCAL",
    "LOINC",
    "MARTIN",
    "ON_DEMAND",
    "OTHER_PATIENT",
    "PATIENT",
    "SOURCE_A",
    "SOURCE_B",
    "STABLE",
    "World",
    "build_world",
    "c",
    "new_world",
    "world_on",
]
