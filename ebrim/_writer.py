"""Writing the parts of an ebRIM registry object: slots, names, classifications, identifiers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from lxml import etree

from ebrim import _rim
from ebrim.model import Author, Code, LocalizedString, Slot
from ebrim.vocabulary import (
    EXTERNAL_IDENTIFIER_NAMES,
    ClassificationScheme,
    ExternalIdentifierScheme,
)


def header(
    element: etree._Element,
    named: Iterable[tuple[str, tuple[str, ...]]],
    extra: tuple[Slot, ...],
    title: LocalizedString | None,
    comments: LocalizedString | None,
    version: str | None,
) -> None:
    """Slots, Name, Description and VersionInfo: what precedes the classifications."""
    for name, values in named:
        if values:
            slot(element, name, values)
    for extra_slot in extra:
        slot(element, extra_slot.name, extra_slot.values, extra_slot.slot_type)
    localized(element, _rim.NAME, title)
    localized(element, _rim.DESCRIPTION, comments)
    if version is not None:
        sub(element, _rim.VERSION_INFO, versionName=version)


def slot(
    parent: etree._Element, name: str, values: Iterable[str], slot_type: str | None = None
) -> None:
    slot = sub(parent, _rim.SLOT, name=name, slotType=slot_type)
    value_list = etree.SubElement(slot, _rim.VALUE_LIST)
    for value in values:
        etree.SubElement(value_list, _rim.VALUE).text = value


def localized(parent: etree._Element, tag: str, text: LocalizedString | None) -> None:
    if text is None:
        return
    holder = etree.SubElement(parent, tag)
    string = etree.SubElement(holder, _rim.LOCALIZED_STRING)
    if text.lang is not None:
        string.set(_rim.XML_LANG, text.lang)
    if text.charset is not None:
        string.set("charset", text.charset)
    string.set("value", text.value)


def authors(
    parent: etree._Element, owner: str, scheme: ClassificationScheme, authors: tuple[Author, ...]
) -> None:
    for position, author in enumerate(authors):
        element = classification(parent, owner, scheme.value, position)
        element.set("nodeRepresentation", "")
        if author.person is not None:
            slot(element, _rim.AUTHOR_PERSON, (author.person,))
        for name, values in (
            (_rim.AUTHOR_INSTITUTION, author.institutions),
            (_rim.AUTHOR_ROLE, author.roles),
            (_rim.AUTHOR_SPECIALTY, author.specialties),
            (_rim.AUTHOR_TELECOMMUNICATION, author.telecoms),
        ):
            if values:
                slot(element, name, values)


def codes(
    parent: etree._Element, owner: str, scheme: ClassificationScheme, codes: Iterable[Code]
) -> None:
    for position, code in enumerate(codes):
        element = classification(parent, owner, scheme.value, position)
        element.set("nodeRepresentation", code.code)
        slot(element, _rim.CODING_SCHEME, (code.scheme,))
        if code.display_name is not None:
            localized(element, _rim.NAME, LocalizedString(code.display_name))


def classification(
    parent: etree._Element, owner: str, scheme: str, position: int
) -> etree._Element:
    return sub(
        parent,
        _rim.CLASSIFICATION,
        id=derived_id(owner, scheme, position),
        classificationScheme=scheme,
        classifiedObject=owner,
    )


def node(parent: etree._Element, owner: str, node: str) -> None:
    sub(
        parent,
        _rim.CLASSIFICATION,
        id=derived_id(owner, node, 0),
        classifiedObject=owner,
        classificationNode=node,
    )


def identifier(
    parent: etree._Element, owner: str, scheme: ExternalIdentifierScheme, value: str | None
) -> None:
    if value is None:
        return
    element = sub(
        parent,
        _rim.EXTERNAL_IDENTIFIER,
        id=derived_id(owner, scheme.value, 0),
        registryObject=owner,
        identificationScheme=scheme.value,
        value=value,
    )
    localized(element, _rim.NAME, LocalizedString(EXTERNAL_IDENTIFIER_NAMES[scheme]))


def derived_id(owner: str, scheme: str, position: int) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{owner}\n{scheme}\n{position}").urn


def sub(parent: etree._Element, tag: str, **attributes: str | None) -> etree._Element:
    """A child element with the attributes that have a value, in the order given."""
    element = etree.SubElement(parent, tag)
    for name, value in attributes.items():
        if value is not None:
            element.set(name, value)
    return element


def one(value: str | None) -> tuple[str, ...]:
    return () if value is None else (value,)


def opt(code: Code | None) -> tuple[Code, ...]:
    return () if code is None else (code,)
