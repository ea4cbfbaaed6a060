"""Reading one ebRIM registry object: its slots, names, classifications and identifiers.

The reader keeps track of what it consumed so that whatever the model cannot hold is
reported as a problem of that object instead of being dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from ebrim import _rim
from ebrim.model import Author, Code, LocalizedString, Slot

_SLOT, _VALUE_LIST, _VALUE = _rim.SLOT, _rim.VALUE_LIST, _rim.VALUE


def read_slots(element: etree._Element) -> list[Slot]:
    """The element's own rim:Slot children, in document order."""
    slots = []
    for slot in element.iterchildren(_SLOT):
        values = tuple(
            [
                value.text or ""
                for value_list in slot.iterchildren(_VALUE_LIST)
                for value in value_list.iterchildren(_VALUE)
            ]
        )
        slots.append(Slot(slot.get("name", ""), values, slot.get("slotType")))
    return slots


class SlotReader:
    """The slots of one element, read by name; each name read is consumed."""

    def __init__(self, element: etree._Element, problems: list[str], where: str = "") -> None:
        self.slots = read_slots(element)
        self.problems = problems
        self.where = where
        self.consumed: set[str] = set()
        self._by_name: dict[str, list[Slot]] = {}
        for slot in self.slots:
            self._by_name.setdefault(slot.name, []).append(slot)

    def _named(self, name: str) -> list[Slot]:
        self.consumed.add(name)
        found = self._by_name.get(name, [])
        if len(found) > 1:
            self.problems.append(f"{self.where}slot {name} is given {len(found)} times")
        return found

    def single(self, name: str) -> str | None:
        found = self._named(name)
        if not found:
            return None
        values = found[0].values
        if len(values) != 1:
            self.problems.append(
                f"{self.where}slot {name} has {len(values)} values where one is expected"
            )
        return values[0] if values else None

    def multi(self, name: str) -> tuple[str, ...]:
        found = self._named(name)
        return found[0].values if found else ()

    def rest(self) -> tuple[Slot, ...]:
        consumed = self.consumed
        if consumed.issuperset(self._by_name):
            return ()
        return tuple(slot for slot in self.slots if slot.name not in consumed)

    def refuse_rest(self) -> None:
        for slot in self.rest():
            self.problems.append(f"{self.where}slot {slot.name!r} is not expected here")


def localized(
    element: etree._Element, tag: str, problems: list[str], what: str
) -> LocalizedString | None:
    """The one LocalizedString of a Name or Description child; None when absent or empty."""
    holder = next(element.iterchildren(tag), None)
    if holder is None:
        return None
    strings = list(holder.iterchildren(_rim.LOCALIZED_STRING))
    if not strings:
        return None
    if len(strings) > 1:
        problems.append(f"{what} has {len(strings)} LocalizedStrings where one is expected")
    first = strings[0]
    return LocalizedString(first.get("value", ""), first.get(_rim.XML_LANG), first.get("charset"))


def _coding_scheme(classification: etree._Element) -> str | None:
    """The one value of the one codingScheme slot, when that is all the slots hold; else None."""
    slots = list(classification.iterchildren(_SLOT))
    if len(slots) != 1 or slots[0].get("name") != _rim.CODING_SCHEME:
        return None
    values = [v for lst in slots[0].iterchildren(_VALUE_LIST) for v in lst.iterchildren(_VALUE)]
    return (values[0].text or "") if len(values) == 1 else None


def _usual_code(classification: etree._Element) -> tuple[str, str | None] | None:
    """(scheme, display name) of a code classification in its usual shape: one codingScheme
    slot of one value, then a Name of one LocalizedString or none; None for any other shape,
    which `ObjectReader._code` reads piece by piece, naming each problem. Walking the few
    children once costs a third of the general path, and a DocumentEntry has some ten codes."""
    children = list(classification)
    if not 1 <= len(children) <= 2:
        return None
    slot = children[0]
    if slot.tag != _SLOT or slot.get("name") != _rim.CODING_SCHEME or len(slot) != 1:
        return None
    value_list = slot[0]
    if value_list.tag != _VALUE_LIST or len(value_list) != 1 or value_list[0].tag != _VALUE:
        return None
    scheme = value_list[0].text or ""
    if len(children) == 1:
        return scheme, None
    name = children[1]
    if name.tag != _rim.NAME or len(name) != 1 or name[0].tag != _rim.LOCALIZED_STRING:
        return None
    return scheme, name[0].get("value", "")


class ObjectReader:
    """One RegistryObject (ExtrinsicObject or RegistryPackage) with its classifications."""

    def __init__(
        self,
        element: etree._Element,
        outside: Iterable[etree._Element] = (),
    ) -> None:
        """`outside`: top-level Classifications and ExternalIdentifiers that target this object."""
        self.element = element
        self.id = element.get("id", "")
        self.problems: list[str] = []
        self.slots = SlotReader(element, self.problems)
        children = [*element.iterchildren(_rim.CLASSIFICATION, _rim.EXTERNAL_IDENTIFIER), *outside]
        self.classifications = [c for c in children if c.tag == _rim.CLASSIFICATION]
        self.identifiers = [c for c in children if c.tag == _rim.EXTERNAL_IDENTIFIER]
        self._used: set[int] = set()
        self._index: dict[tuple[str, str], list[etree._Element]] | None = None
        if next(element.iterchildren(_rim.REGISTRY_OBJECT_LIST), None) is not None:
            self.problems.append("a nested RegistryObjectList is not supported")

    def name(self) -> LocalizedString | None:
        return localized(self.element, _rim.NAME, self.problems, "Name")

    def description(self) -> LocalizedString | None:
        return localized(self.element, _rim.DESCRIPTION, self.problems, "Description")

    def version(self) -> str | None:
        info = next(self.element.iterchildren(_rim.VERSION_INFO), None)
        return None if info is None else info.get("versionName")

    def _take(self, attribute: str, value: str) -> list[etree._Element]:
        index = self._index
        if index is None:  # one pass over the classifications, for all the lookups
            index = self._index = {}
            for c in self.classifications:
                for key in ("classificationScheme", "classificationNode"):
                    named = c.get(key)
                    if named is not None:
                        index.setdefault((key, named), []).append(c)
        found = index.get((attribute, value), [])
        self._used.update(map(id, found))
        return found

    def has_node(self, node: str) -> bool:
        return bool(self._take("classificationNode", node))

    def codes(self, scheme: str) -> tuple[Code, ...]:
        return tuple(self._code(c) for c in self._take("classificationScheme", scheme))

    def code(self, scheme: str, what: str) -> Code | None:
        codes = self.codes(scheme)
        if len(codes) > 1:
            self.problems.append(f"{what} is given {len(codes)} times where one is expected")
        return codes[0] if codes else None

    def _code(self, classification: etree._Element) -> Code:
        usual = _usual_code(classification)
        if usual is not None:
            return Code(classification.get("nodeRepresentation", ""), *usual)
        where = f"classification {classification.get('id', '')}: "
        scheme = _coding_scheme(classification)
        if scheme is None:  # not the usual shape: read it slot by slot, naming each problem
            slots = SlotReader(classification, self.problems, where)
            scheme = slots.single(_rim.CODING_SCHEME)
            slots.refuse_rest()
        display = localized(classification, _rim.NAME, self.problems, f"{where}Name")
        return Code(
            code=classification.get("nodeRepresentation", ""),
            scheme=scheme if scheme is not None else "",
            display_name=display.value if display is not None else None,
        )

    def authors(self, scheme: str) -> tuple[Author, ...]:
        return tuple(self._author(c) for c in self._take("classificationScheme", scheme))

    def _author(self, classification: etree._Element) -> Author:
        slots = SlotReader(
            classification, self.problems, f"author {classification.get('id', '')}: "
        )
        author = Author(
            person=slots.single(_rim.AUTHOR_PERSON),
            institutions=slots.multi(_rim.AUTHOR_INSTITUTION),
            roles=slots.multi(_rim.AUTHOR_ROLE),
            specialties=slots.multi(_rim.AUTHOR_SPECIALTY),
            telecoms=slots.multi(_rim.AUTHOR_TELECOMMUNICATION),
        )
        slots.refuse_rest()
        return author

    def identifier(self, scheme: str, what: str) -> str | None:
        found = [e for e in self.identifiers if e.get("identificationScheme") == scheme]
        self._used.update(id(e) for e in found)
        if len(found) > 1:
            self.problems.append(f"{what} is given {len(found)} times where one is expected")
        return found[0].get("value", "") if found else None

    def finish(self) -> list[str]:
        """Every problem found, including the classifications and identifiers left unread."""
        for c in self.classifications:
            if id(c) not in self._used:
                kind = c.get("classificationScheme") or c.get("classificationNode") or "none"
                self.problems.append(
                    f"classification {c.get('id', '')} has an unexpected scheme or node {kind}"
                )
        for e in self.identifiers:
            if id(e) not in self._used:
                self.problems.append(
                    f"ExternalIdentifier {e.get('id', '')} has an unexpected scheme "
                    f"{e.get('identificationScheme', '')}"
                )
        return self.problems
